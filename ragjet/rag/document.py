"""Document: a folder of files as node groups in a store, built lazily for the retrievers that need them.

Nothing happens at construction but validation. The first retrieval (or `start`) reads the files, builds the
groups that retrievers asked for (and their ancestors), embeds them for the embed keys a similarity needs,
in batches, and writes them to the store, whose hooks keep every registered index in sync.
"""
from __future__ import annotations

import hashlib
import re
import threading
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from ..flow.lifecycle import Startable
from ..home import aliased_path, ragjet_home
from ..log import LOG
from ..settings import environ
from .doc_node import LAZY_ROOT_NAME, DocNode
from .embedding import Embedder, make_embedders
from .index.base import INDEXES
from .index.default import DefaultIndex
from .ingest.embed_cache import EmbeddingCache
from .ingest.engine import GroupTree, IngestStats, Ingestor
from .readers import SimpleDirectoryReader
from .readers.registry import READERS
from .readers.report import ReadReport
from .store import StoreBase, StoreConf, create_store
from .transforms.base import function_identity
from .transforms.node_group import NodeGroup, builtin_groups, lineage, make_transform
from .transforms.sizing import fit_to_models
from .warm_up import ModelWarmUp


class _Placeholder:
    """Stands for the document's store or embedder before they exist (``docs.get_store()`` in the lecture);
    resolved when the document initialises and builds registered indexes."""

    def __init__(self, doc: "Document", what: str) -> None:
        self.doc, self.what = doc, what

    def resolve(self) -> Any:
        self.doc.start()
        return self.doc.store if self.what == "store" else self.doc.embedders

    def __repr__(self) -> str:
        return f"<{self.what} of {self.doc!r}>"


DATA_PATH_ENVS = ("RAGJET_DATA_PATH", "LAZYLLM_DATA_PATH")


def resolve_dataset_path(dataset_path: str | Path) -> Path:
    """An absolute ``dataset_path`` as it is; a relative one in the working directory when it is there, else
    under ``$RAGJET_DATA_PATH`` or ``$LAZYLLM_DATA_PATH`` (LazyLLM's data folder) where it is, else in the
    first of them that is set (the folder may be created later)."""
    path = aliased_path(Path(dataset_path).expanduser())
    if path.is_absolute() or path.exists():
        return path.resolve()
    roots = [Path(root).expanduser() for root in map(environ, DATA_PATH_ENVS) if root]
    found = next((root / path for root in roots if (root / path).exists()), None)
    return (found or (roots[0] / path if roots else path)).resolve()


class Document(Startable):
    """A knowledge base: files under ``dataset_path``, node groups, a store and the indexes on it.

    ``cache`` (default on) keeps the embedding cache and, for the in-memory ``map`` store of a document with an
    embedding model, a restart snapshot in ragjet's home (``RAGJET_HOME``), so a second start with nothing
    changed neither parses nor embeds.

    ``defer_over`` (bytes) leaves new or changed files larger than that out of the start, what is stored of them
    kept, and lists them in `deferred`: a server answers from the other files at once and indexes those in a
    later start (a 50 MB file takes minutes to embed). Off by default: a script expects every file searched."""

    def __init__(self, dataset_path: str | Path, embed: Any = None, manager: bool = False,
                 store_conf: Optional[dict[str, Any]] = None, name: Optional[str] = None,
                 cache: bool = True, create_ui: Optional[bool] = None, *,
                 defer_over: Optional[int] = None) -> None:
        manager = manager if create_ui is None else create_ui  # LazyLLM's older name for manager
        self._store_conf = StoreConf.parse(store_conf)  # checked now, not at the first query
        self._given_path = str(dataset_path)
        self.dataset_path = resolve_dataset_path(dataset_path)
        self.name = name or self.dataset_path.name
        self.manager = manager
        self.store_conf = store_conf
        self.cache = cache
        self.defer_over = defer_over
        self.embedders: dict[str, Embedder] = make_embedders(embed)
        self._groups: dict[str, NodeGroup] = builtin_groups()
        self._readers: dict[str, Callable[..., Any]] = {}
        self._index_specs: dict[str, tuple[type, tuple, dict]] = {}
        self._wanted: dict[str, set[str]] = {}
        self._store: Optional[StoreBase] = None
        self._ready = False
        self._ingestor: Optional[Ingestor] = None
        self._lock = threading.RLock()
        self.read_report: Optional[ReadReport] = None
        self.warm_up = ModelWarmUp()  # the models load in the background when no retrieval needs the interpreter

    CoarseChunk = "CoarseChunk"  # the built-in groups' names, as LazyLLM's Document spells them
    MediumChunk = "MediumChunk"
    FineChunk = "FineChunk"

    def __repr__(self) -> str:
        return f"Document({str(self.dataset_path)!r})"

    # -- configuration ----------------------------------------------------------------------------------
    def create_node_group(self, name: str, transform: Any = None, parent: str = LAZY_ROOT_NAME, *,
                          trans_node: bool = False, num_workers: int = 0, **kwargs: Any) -> "Document":
        """Define group ``name`` as ``transform`` applied to each node of group ``parent``."""
        if transform is None:
            raise TypeError(f"node group {name!r} needs a transform (a callable or a NodeTransform class)")
        if name == LAZY_ROOT_NAME or (name in self._groups and self._store is not None
                                      and self._store.is_group_active(name)):
            raise ValueError(f"node group {name!r} already exists and is built; choose another name")
        self._check_group(parent)
        self._groups[name] = NodeGroup(name, make_transform(name, transform, trans_node, **kwargs), parent)
        return self

    def add_reader(self, pattern: str, func: Callable[..., Any]) -> "Document":
        """Read files matching the glob ``pattern`` (e.g. ``'*.yml'``) with ``func(path)``, from the next start on
        (a start reads with the readers it began with; a changed set of readers re-reads every file)."""
        self._readers[pattern] = func
        return self

    def register_index(self, name: str, cls: type, *args: Any, **kwargs: Any) -> "Document":
        """Build ``cls(*args, **kwargs)`` at start-up (placeholders such as ``get_store()`` resolved) and
        attach it to the store, whose hooks then keep it in sync."""
        with self._lock:
            self._index_specs[name] = (cls, args, kwargs)
            if self._store is not None:
                self._store.register_index(name, self._build_index(cls, args, kwargs))
        return self

    def get_store(self) -> _Placeholder:
        return _Placeholder(self, "store")

    def get_embed(self) -> _Placeholder:
        return _Placeholder(self, "embed")

    # -- names --------------------------------------------------------------------------------------------
    def group_names(self) -> list[str]:
        return [LAZY_ROOT_NAME, *self._groups]

    def index_names(self) -> list[str]:
        return sorted({"default", *self._index_specs, *INDEXES})

    def get_index(self, name: str) -> Any:
        """The index a retriever named: registered on the store, or the stand-in the index class names (for
        ``smart_embedding_index`` without an ``indices`` entry, the native search of a vector store)."""
        index = self.store.get_index(name)
        index_cls = INDEXES.get(name) if name in INDEXES else None
        if index is None and index_cls is not None:
            index = index_cls.stand_in(self.store)
        if index is None:
            raise ValueError(f"unknown index {name!r}; the store has: {', '.join(self.store.index_names())}"
                             + (index_cls.setup_hint if index_cls is not None else ""))
        return index

    def _check_group(self, name: str) -> None:
        if name != LAZY_ROOT_NAME and name not in self._groups:
            raise ValueError(f"unknown node group {name!r}; this document has: {', '.join(self.group_names())}")

    def lineage(self, group: str) -> list[str]:
        """``group`` and its ancestors up to the root group."""
        return lineage(self._groups, group)

    # -- lifecycle ------------------------------------------------------------------------------------------
    @property
    def store(self) -> StoreBase:
        self.start()
        return self._store

    def start(self) -> "Document":
        """Read the files and build every group asked for so far (done once; later calls are free). The folder
        must exist by now (it may appear after the Document is made)."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if not self.dataset_path.is_dir():
                        raise FileNotFoundError(
                            f"dataset_path {self._given_path!r} is not a folder (resolved to {self.dataset_path}); "
                            f"a relative path is looked up in the working directory, then under "
                            f"${DATA_PATH_ENVS[0]} and ${DATA_PATH_ENVS[1]}; another machine's folder is "
                            f"read from this one's with RAGJET_PATH_ALIASES=OLD=NEW (ragjet run --path OLD=NEW)")
                    try:
                        self._init_store()
                    except BaseException:  # a failed start gives its store back (an embedded database's lock)
                        if self._store is not None:
                            self._store.close()
                        self._store = None
                        raise
                    self._ready = True
        return self

    def activate_group(self, name: str, embed_keys: Iterable[str] = ()) -> None:
        """Ask for group ``name`` (embedded for ``embed_keys``); built now if the document already started."""
        self._check_group(name)
        unknown = set(embed_keys) - set(self.embedders)
        if unknown:
            raise ValueError(f"unknown embed key(s) {sorted(unknown)}; the document has: "
                             f"{', '.join(sorted(self.embedders)) or '(no embed model)'}")
        with self._lock:
            self._wanted.setdefault(name, set()).update(embed_keys)
            if self._store is not None:
                self._fit_chunks(name)
                self._build(name)

    def _init_store(self) -> None:
        store = create_store(self._store_conf_with_snapshot())
        cache = EmbeddingCache() if self.embedders and self.cache else None
        for embedder in self.embedders.values():
            embedder.remember_queries(cache)
        self.warm_up.start(store, [embedder.model for embedder in self.embedders.values()])
        store.register_index("default", DefaultIndex(self.embedders, store))
        self._store = store
        for name, spec in self._store_conf.indices.items():
            spec = dict(spec)
            store.register_index(name, INDEXES.get(name)(spec.pop("backend"), self.embedders, store,
                                                         **(spec.pop("kwargs", None) or {})))
        for name in self._groups:
            self._fit_chunks(name)
        self._ingestor = Ingestor(store, self.embedders, partial(read_files, readers=dict(self._readers)),
                                  scope=str(self.dataset_path), cache=cache, readers=self._reader_identity())
        self.read_report = self._ingestor.report  # written by the ingestor alone
        listing = self._directory_reader()
        files = [str(p) for p in listing.list_files()]
        if not files:
            LOG.warning("no documents found in %s: retrievers will return nothing", self.dataset_path)
        self._ingestor.sync(files, self._tree(), kept=listing.unreadable_entries, defer_over=self.defer_over,
                            listed=listing.report)
        for name in list(self._wanted):
            self._build(name)
        # The indexes the user registered see the final nodes once: attached after the files are synced, they
        # are never fed a changed file's stale nodes only to be told to remove them one by one (a restart of
        # the course's linear-scan index after one edit of its 370k-word list took minutes that way).
        for name, (cls, args, kwargs) in self._index_specs.items():
            store.register_index(name, self._build_index(cls, args, kwargs))

    def stop(self) -> None:
        """Close the store (an embedded database's lock is released); a later use starts it again."""
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store, self._ready, self._ingestor = None, False, None

    def _store_conf_with_snapshot(self) -> StoreConf:
        """``store_conf``, with a restart snapshot in ragjet's home where the store takes one (an in-memory map:
        `StoreBase.snapshot_kwargs`; ``cache=True``): a second start then reads the nodes back instead of
        parsing every file and looking up every chunk's vector again (see `MapStore`). A document without an
        embedding model gets none: re-reading its files costs about what reading a snapshot back does (the
        lecture's 370k words: 9 s without, 19 s with), and writing the snapshot would slow its first start.
        Nor does one whose retrievers embed nothing (the course's trie program passes a model it never uses):
        the snapshot would only be reloaded, and rewritten whole when its one file changes."""
        conf = self._store_conf
        if not self.cache or not self.embedders or not any(self._wanted.values()):
            return conf
        # The embedders are part of the snapshot's name: it is ragjet's own cache, so another model means another
        # snapshot, never a "store holds other vectors" error for a store the user never named.
        models = "\0".join(f"{key}={e.model_id}" for key, e in sorted(self.embedders.items()))
        identity = f"{self.dataset_path}\0{self.name}\0{models}".encode("utf-8", "surrogatepass")
        digest = hashlib.blake2b(identity, digest_size=8).hexdigest()
        label = re.sub(r"[^\w.-]", "_", self.name)[:40]
        snapshot = ragjet_home() / "snapshots" / f"{label}-{digest}.sqlite"
        kwargs = conf.store_class.snapshot_kwargs(dict(conf.kwargs), snapshot)
        return conf if kwargs is None else conf.with_kwargs(kwargs)

    @property
    def stats(self) -> IngestStats:
        """What the last start did (files parsed, chunks embedded, cache hits, nodes written)."""
        self.start()
        return self._ingestor.stats

    @property
    def deferred(self) -> list[str]:
        """The large files this start left out (``defer_over``): a start without it indexes them."""
        return self.stats.deferred

    def _build_index(self, cls: type, args: tuple, kwargs: dict) -> Any:
        def real(v: Any) -> Any:
            if isinstance(v, _Placeholder):
                return self._store if v.what == "store" else self.embedders
            return v
        return cls(*[real(a) for a in args], **{k: real(v) for k, v in kwargs.items()})

    def _fit_chunks(self, name: str) -> None:
        fit_to_models(name, self._groups[name].transform, self.embedders, self._wanted.get(name, ()))

    def _directory_reader(self) -> SimpleDirectoryReader:
        return SimpleDirectoryReader(input_dir=str(self.dataset_path), recursive=True,
                                     file_extractor=dict(self._readers))

    def _reader_identity(self) -> str:
        """What turns a file into root nodes besides its bytes: the readers registered by extension and the
        document's own (``add_reader``). A reader added or changed since the last start re-reads every file,
        so a file skipped as unsupported, or read with other metadata, is read again."""
        readers = {**{ext: READERS.get(ext) for ext in READERS.names()}, **self._readers}
        described = "; ".join(f"{pattern}: {function_identity(fn)}" for pattern, fn in sorted(readers.items()))
        return "readers sha256:" + hashlib.sha256(described.encode("utf-8", "surrogatepass")).hexdigest()

    def _build(self, name: str) -> None:
        self._ingestor.build(name, self._tree())

    def _tree(self) -> GroupTree:
        """The groups defined now and the keys each is asked for, as the value the ingestor works from."""
        return GroupTree.of(self._groups, self._wanted)

    # -- mapping between groups ------------------------------------------------------------------------------
    def find(self, target: str) -> Callable[[list[DocNode]], list[DocNode]]:
        """A function mapping nodes to their relatives in group ``target`` through the nearest common
        ancestor (up to parents, down to descendants, or both), deduplicated in rank order."""
        self._check_group(target)
        target_chain = self.lineage(target)

        def mapper(nodes: list[DocNode]) -> list[DocNode]:
            seen: set[str] = set()
            out: list[DocNode] = []
            for node in nodes:
                for rel in self._relatives(node, target, target_chain):
                    if rel.uid not in seen:
                        seen.add(rel.uid)
                        out.append(rel if node.similarity_score is None else rel.with_score(node.similarity_score))
            return out
        return mapper

    def _relatives(self, node: DocNode, target: str, target_chain: list[str]) -> list[DocNode]:
        ancestor = node
        while ancestor._group not in target_chain:
            ancestor = self._parent_of(ancestor)
        down = target_chain[: target_chain.index(ancestor._group)][::-1]
        level = [ancestor]
        for group in down:
            level = self.store.get_children(group, [n.uid for n in level])
        return level

    def _parent_of(self, node: DocNode) -> DocNode:
        parent = node.parent
        if isinstance(parent, DocNode):
            return parent
        group = self._groups[node._group].parent
        found = self.store.get_nodes(group, uids=[parent]) if parent else []
        if not found:
            raise LookupError(f"node {node.uid} of group {node._group!r} has lost its parent {parent!r}")
        return found[0]


def read_files(paths: list[str], readers: dict[str, Callable[..., Any]]) -> tuple[list[DocNode], ReadReport]:
    """The root nodes of ``paths`` read with ``readers`` (a document's own, by pattern, over the registered
    ones), and what reading them found."""
    reader = SimpleDirectoryReader(input_files=paths, file_extractor=readers)
    return reader(), reader.report
