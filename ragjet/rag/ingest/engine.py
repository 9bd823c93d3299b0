"""The incremental ingestion engine: bring a store in line with a folder, doing only what changed.

On start it compares the folder with the ledger: deleted files lose their nodes; changed and new files are
parsed, split into every active group, embedded (cache first, model for the rest, in length-sorted batches)
and written in batches across files, each batch bracketed by ledger transactions (pending → done), so a
crash at any point is finished by the next start. A batch is written on a writer thread while the next one is
parsed and embedded, so slow database writes hide behind embedding. A group asked for later is built from the stored parent
nodes, and only for the files it is missing; a changed group definition or embed model redoes only what
depends on it.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Optional, Sequence

from ...log import LOG
from ...progress import Progress
from ..doc_node import LAZY_ROOT_NAME, DocNode, MetadataMode
from ..embedding import Embedder
from ..readers.report import ReadReport
from ..sparse_vector import describe_dim
from ..store.base import StoreBase
from ..transforms.node_group import NodeGroup, lineage
from .embed_cache import EmbeddingCache
from .ledger import FileState, Ledger, MemoryLedger, SqliteLedger

FILES_PER_BATCH = 64
# A group's recorded signature: f"{_PARENT}{parent}{_TRANSFORM}{transform identity}".
_PARENT, _TRANSFORM = "parent=", "; transform="


@dataclass(frozen=True)
class GroupTree:
    """The node groups a document defines and the embed keys each is asked for, as a value: the document owns
    its definitions and hands the ingestor this snapshot with each call (`Ingestor.sync`, `Ingestor.build`);
    the ingestor keeps none of them."""

    groups: Mapping[str, NodeGroup]
    wanted: Mapping[str, frozenset[str]]

    @classmethod
    def of(cls, groups: Mapping[str, NodeGroup], wanted: Mapping[str, Iterable[str]]) -> "GroupTree":
        return cls(dict(groups), {name: frozenset(keys) for name, keys in wanted.items()})

    def active(self) -> list[str]:
        """Every group asked for and its ancestors, parents before children."""
        order: list[str] = []
        for name in self.wanted:
            order.extend(g for g in reversed(lineage(self.groups, name)[:-1]) if g not in order)
        return order

    def keys(self, name: str) -> frozenset[str]:
        """The embed keys group ``name`` is asked for (none: the group is not embedded)."""
        return self.wanted.get(name, frozenset())


@dataclass
class IngestStats:
    """What one start did: the numbers a restart test or `ragjet bench startup` reports."""

    files_seen: int = 0
    files_parsed: int = 0
    files_deleted: int = 0
    chunks_embedded: int = 0
    cache_hits: int = 0
    nodes_written: int = 0
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): skipped, stored nodes kept
    deferred: list[str] = field(default_factory=list)  # large files left for a later start, stored nodes kept
    seconds: dict[str, float] = field(default_factory=dict)


class Ingestor:
    """Keeps one document's nodes in one store up to date."""

    def __init__(self, store: StoreBase, embedders: dict[str, Embedder],
                 read: Callable[[list[str]], tuple[list[DocNode], ReadReport]], scope: str,
                 cache: Optional[EmbeddingCache] = None, readers: str = "") -> None:
        self.store = store
        self.embedders = embedders
        self.tree = GroupTree({}, {})  # the groups of the call under way
        self.read = read
        self.scope = scope
        self.cache = cache
        self.readers = readers  # what turns this folder's files into root nodes (a change re-reads them all)
        path = store.ledger_path
        self.ledger: Ledger = SqliteLedger(path) if path is not None else MemoryLedger()
        self.stats = IngestStats()
        # What this start found of the folder's files: the one writer of the document's read report
        self.report = ReadReport()
        # (group, model id) → [chunks truncated, chunks embedded] since the last warning: one warning each per pass
        self._truncated: dict[tuple[str, str], list[int]] = {}

    # -- the folder ---------------------------------------------------------------------------------------
    def sync(self, files: list[str], tree: GroupTree, kept: Sequence[str] = (), defer_over: Optional[int] = None,
             listed: Optional[ReadReport] = None) -> None:
        """Bring the store in line with ``files`` (absolute paths of the document's folder). ``kept`` are
        entries of the folder that cannot be read now (a broken link during an editor's save, a pipe): what is
        stored of them stays until they are readable again or gone. New or changed files of more than
        ``defer_over`` bytes are left for a later sync (``stats.deferred``), what is stored of them kept, so one
        huge file does not hold back the others. ``listed`` is what listing the folder found (files skipped
        before any was read): `report` starts from it, then counts what this sync reads, what it cannot read,
        and, for the files it does not read again, what their last read noted. ``tree`` is the groups to build
        from the files."""
        self.tree = tree
        if listed is not None:
            self.report.merge(listed)
        start = time.perf_counter()
        self._check_embed_models()
        readers_key = f"{LAZY_ROOT_NAME}@{self.scope}"  # one folder's readers, beside the groups' signatures
        reread = self.ledger.signature(readers_key) not in (None, self.readers)
        if reread:
            LOG.info("the readers of %s changed: every file is read again (vectors come from the embedding cache)",
                     self.scope)
        diff = self.ledger.diff(files, self.scope, reread=reread)
        if defer_over is not None:
            self.stats.deferred = [f.path for f in diff.to_ingest if f.size > defer_over]
            diff.changed = [f for f in diff.changed if f.size <= defer_over]
            diff.added = [f for f in diff.added if f.size <= defer_over]
        present = set(kept)
        diff.deleted = [path for path in diff.deleted if path not in present]
        unchanged = set(diff.unchanged)
        self.stats.files_seen = len(files)
        for path, reason in diff.unreadable:
            LOG.warning("skipped %s (unreadable): %s; what was stored of it is kept", path, reason)
            self.report.add_skipped("unreadable", path)
        self.stats.unreadable.extend(diff.unreadable)
        for path, (category, note) in self.ledger.read_notes(self.scope).items():
            if path in unchanged:  # not read again: as last time
                self.report.add_note(path, category, note)
        if diff.deleted:
            self.store.remove_docs(diff.deleted)
            self.ledger.forget(diff.deleted)
            self.stats.files_deleted = len(diff.deleted)
        if diff.changed:
            self.ledger.begin(diff.changed)
            self.store.remove_docs([f.path for f in diff.changed])
        self.ledger.set_signature(readers_key, self.readers)  # after the files to re-read are marked pending
        todo = diff.to_ingest
        active = self._active_groups()  # also redoes a group whose definition changed
        if todo:
            self._ingest(todo, active)
            self._warn_truncated()
        self.store.activate_group(LAZY_ROOT_NAME)
        self.stats.seconds["sync"] = time.perf_counter() - start
        if todo or diff.deleted:
            LOG.info("ingested %d new or changed file(s), removed %d deleted, kept %d unchanged: %d chunks embedded, "
                     "%d from cache", len(todo), len(diff.deleted), len(diff.unchanged), self.stats.chunks_embedded,
                     self.stats.cache_hits)

    def _ingest(self, todo: list[FileState], active: list[str]) -> None:
        """Parse, embed and write ``todo`` in batches, writing one batch while the next is prepared."""
        with Progress(len(todo), f"ingesting files of {self.scope}", "file") as bar, \
                ThreadPoolExecutor(1, thread_name_prefix="ragjet-writer") as writer:
            writing: Optional[Future] = None
            for begin in range(0, len(todo), FILES_PER_BATCH):
                batch = todo[begin:begin + FILES_PER_BATCH]
                nodes = self._prepare(batch, active)
                if writing is not None:
                    writing.result()
                writing = writer.submit(self._commit, [f.path for f in batch], nodes, active)
                bar.update(len(batch))
            if writing is not None:
                writing.result()

    def _prepare(self, files: list[FileState], active: list[str]) -> list[DocNode]:
        """Parse, split and embed a batch of files (marked pending first); the nodes to write."""
        self.ledger.begin(files)
        roots, report = self.read([f.path for f in files])
        self.report.merge(report)
        self.ledger.record_reads(report.notes())
        self.stats.files_parsed += len(files)
        nodes = list(roots)
        by_group = {LAZY_ROOT_NAME: roots}
        for name in active:
            group = self.tree.groups[name]
            children = group.build(by_group[group.parent])
            self.embed(name, children, self.tree.keys(name))
            by_group[name] = children
            nodes.extend(children)
        return nodes

    def _commit(self, paths: list[str], nodes: list[DocNode], active: list[str]) -> None:
        """Write a prepared batch, then mark its files done. Runs on the writer thread, so a database's write
        time overlaps the next batch's parsing and embedding; one batch is in flight at a time."""
        self.store.update_nodes(nodes)
        self.stats.nodes_written += len(nodes)
        self.ledger.finish(paths, {name: _keys(self.tree.keys(name)) for name in active})

    def _active_groups(self) -> list[str]:
        """Every group asked for and its ancestors, parents before children, each checked against its recorded
        definition."""
        order = self.tree.active()
        for name in order:
            self._check_signature(name)
        return order

    # -- groups -------------------------------------------------------------------------------------------
    def build(self, name: str, tree: GroupTree) -> None:
        """Make group ``name`` of ``tree`` complete for every stored file and embedded for the keys asked of it."""
        if name == LAZY_ROOT_NAME:
            return
        self.tree = tree
        group = tree.groups[name]
        self.build(group.parent, tree)
        self._check_signature(name)
        keys = set(tree.keys(name))
        built = self.ledger.built(name)
        done = self.ledger.done_files(self.scope)
        missing = [p for p in done if p not in built]
        if missing:
            children = group.build(self.store.get_nodes(group.parent, doc_ids=missing))
            self.embed(name, children, keys)
            self.store.update_nodes(children)
            self.stats.nodes_written += len(children)
            self.ledger.mark_built(name, dict.fromkeys(missing, _keys(keys)))
        have = {p: set(filter(None, k.split(","))) for p, k in built.items()}
        stale = [p for p, got in have.items() if not keys <= got]
        if stale:
            nodes = self.store.get_nodes(name, doc_ids=stale)
            for node in nodes:  # vectors of keys the ledger does not vouch for are recomputed
                for key in keys - have.get(node.global_metadata.get("doc_id"), set()):
                    if node.embedding:
                        node.embedding.pop(key, None)
            self.embed(name, nodes, keys)
            self.store.update_nodes(nodes)
            self.stats.nodes_written += len(nodes)
            self.ledger.mark_built(name, {p: _keys(keys | have[p]) for p in stale})
        self._warn_truncated()
        self.store.activate_group(name)

    def _check_signature(self, name: str) -> None:
        group = self.tree.groups[name]
        signature = f"{_PARENT}{group.parent}{_TRANSFORM}{group.transform.identity()}"
        old = self.ledger.signature(name)
        if old is not None and old != signature:
            LOG.info("node group %r changed definition: rebuilding it and the groups below it", name)
            for other in self._descendants(name):
                self.store.remove_nodes(other)
                self.ledger.clear_built(other)
        self.ledger.set_signature(name, signature)

    def _descendants(self, name: str) -> list[str]:
        """``name`` and every group below it: those defined now, and those the ledger recorded (a group left
        out of this run still holds children of the old parents, which a later run must not reuse)."""
        parents = {other: sig[len(_PARENT):sig.index(_TRANSFORM)]
                   for other, sig in self.ledger.signatures().items() if sig.startswith(_PARENT) and _TRANSFORM in sig}
        parents.update((other, group.parent) for other, group in self.tree.groups.items())
        out = [name]
        grew = True
        while grew:
            below = [other for other, parent in parents.items() if parent in out and other not in out]
            out.extend(below)
            grew = bool(below)
        return out

    # -- embeddings -----------------------------------------------------------------------------------------
    def _check_embed_models(self) -> None:
        for key, embedder in self.embedders.items():
            recorded = self.ledger.embed_model(key)
            if recorded is None or recorded[0] == embedder.model_id:
                continue
            old_model, old_dim = recorded
            if embedder.dim is None:  # a plain function tells its dimension only by embedding: ask before writing
                embedder.embed_batch(["dimension probe"])
            if embedder.dim != old_dim:
                raise ValueError(
                    f"this store holds {describe_dim(old_dim)} vectors for embed key {key!r} (model {old_model}) but "
                    f"the embedder {embedder.model_id} makes {describe_dim(embedder.dim)} vectors; use a new store "
                    f"location (store_conf kwargs) or delete the old one")
            LOG.info("embed key %r changed model (%s → %s): its vectors will be recomputed", key, old_model,
                     embedder.model_id)
            self.ledger.drop_embed_key(key)

    def embed(self, group: str, nodes: list[DocNode], keys: Iterable[str]) -> None:
        """Give ``nodes`` a vector per key: from the cache where possible, else from the model in batches."""
        for key in keys:
            embedder = self.embedders[key]
            todo = [n for n in nodes if not n.has_embedding(key)]
            if not todo:
                continue
            texts = [n.get_text(MetadataMode.EMBED) for n in todo]
            cached = self.cache.get_many(embedder.model_id, texts, sparse=embedder.sparse) \
                if self.cache is not None else [None] * len(todo)
            missing = []
            for node, text, vec in zip(todo, texts, cached):
                if vec is None:
                    missing.append((node, text))
                else:
                    _set_vector(node, key, vec)
            self.stats.cache_hits += len(todo) - len(missing)
            if missing:
                self._embed_with_model(group, key, embedder, missing)
            if embedder.dim is not None and self.ledger.embed_model(key) is None:
                self.ledger.set_embed_model(key, embedder.model_id, embedder.dim)

    def _embed_with_model(self, group: str, key: str, embedder: Embedder,
                          missing: list[tuple[DocNode, str]]) -> None:
        """Embed each distinct text once (files often repeat a header or a notice), shortest first."""
        nodes_of: dict[str, list[DocNode]] = {}
        for node, text in missing:
            nodes_of.setdefault(text, []).append(node)
        texts = sorted(nodes_of, key=len)
        before = embedder.truncated_count
        with Progress(len(texts), f"embedding group {group!r}", "chunk") as bar:
            for begin in range(0, len(texts), embedder.batch_size):
                batch = texts[begin:begin + embedder.batch_size]
                vectors = embedder.embed_batch(batch)
                for text, vec in zip(batch, vectors):
                    for node in nodes_of[text]:
                        _set_vector(node, key, vec)
                if self.cache is not None:
                    self.cache.put_many(embedder.model_id, batch, vectors)
                bar.update(len(batch))
        self.stats.chunks_embedded += len(texts)
        counts = self._truncated.setdefault((group, embedder.model_id), [0, 0])
        counts[0] += (embedder.truncated_count or 0) - (before or 0)
        counts[1] += len(texts)

    def _warn_truncated(self) -> None:
        """One warning per group whose chunks a model truncated, with the totals of this pass (not one per batch)."""
        for (group, model_id), (truncated, embedded) in self._truncated.items():
            if truncated:
                LOG.warning("%d of %d chunks of group %r are longer than %s accepts and were truncated when embedded; "
                            "use a smaller chunk_size for this group", truncated, embedded, group, model_id)
        self._truncated.clear()


def _set_vector(node: DocNode, key: str, vec) -> None:
    if node.embedding is None:
        node.embedding = {}
    node.embedding[key] = vec


def _keys(keys: Iterable[str]) -> str:
    return ",".join(sorted(keys))
