"""StoreBase: the contract every node store (map, chroma, milvus) keeps.

A store owns the nodes of every active group and the indexes registered on it. Writes go through
`update_nodes` / `remove_nodes`, which notify each registered index (the *hook* the lecture relies on), so a
custom index such as the lecture's trie stays in sync with any store, not only the in-memory one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterable, Optional, Protocol

from ...registry import Registry

if TYPE_CHECKING:
    import numpy as np

    from ..doc_node import DocNode
    from ..sparse_vector import SparseVector
    from .server_mode import StoreServer


class StoreHooks(Protocol):
    """What a store asks of an index registered on it (every `ragjet.rag.index.IndexBase` is one): the store
    layer lies under the index layer, so it names only these members."""

    needs_backfill: bool

    def update(self, nodes: list["DocNode"]) -> None: ...

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None: ...

    def close(self) -> None: ...


class StoreBase(ABC):
    """Nodes by group and uid, plus the indexes that must see every write.

    ``persistent`` stores keep nodes across restarts and name a ``ledger_path`` where the ingestion ledger
    lives beside them; stores with ``supports_vector_search`` answer cosine queries themselves (their own ANN
    index), so the default index does not keep their vectors in memory.

    The class also holds what the rest of ragjet needs to know about its backend, so nothing else tests the
    store's name: how a ``--store TYPE:WHERE`` value maps to its arguments (`location_kwargs`), where the lock
    of an embedded database lives (`lock_file`), its server mode (`server`), whether it takes a restart
    snapshot (`snapshot_kwargs`), and the database's own search for benchmarks (`raw_search`).
    """

    persistent: bool = False
    supports_vector_search: bool = False
    server: ClassVar[Optional["StoreServer"]] = None
    """The embedded database's server mode (``ragjet serve-store TYPE``), for a backend that has one."""

    @classmethod
    def type_name(cls) -> str:
        """The name this class is registered under in `STORES` (``store_conf['type']``)."""
        return STORES.name_of(cls)

    @classmethod
    def location_kwargs(cls, where: str) -> dict[str, Any]:
        """The constructor keywords a ``--store TYPE:WHERE`` value names (``WHERE``: a path or a server URL)."""
        if not where:
            raise ValueError(f"say where the {cls.type_name()} store lives, e.g. {cls.type_name()}:PATH or "
                             f"{cls.type_name()}:http://HOST:PORT")
        return {"uri": where}

    @classmethod
    def lock_file(cls, path: str | Path) -> Path:
        """The advisory lock file that keeps the embedded database at ``path`` to one process (beside it)."""
        return Path(f"{Path(path).expanduser().resolve()}.ragjet.lock")

    @classmethod
    def snapshot_kwargs(cls, kwargs: dict[str, Any], snapshot: Path) -> Optional[dict[str, Any]]:
        """The keywords that give a store built from ``kwargs`` a restart snapshot at ``snapshot``, or None
        when it keeps its nodes by itself (or cannot keep a snapshot)."""
        return None

    def __init__(self) -> None:
        self._indexes: dict[str, "StoreHooks"] = {}
        self._active_groups: set[str] = set()

    # -- nodes ------------------------------------------------------------------------------------------
    @abstractmethod
    def _upsert(self, group: str, nodes: list["DocNode"]) -> None:
        """Write ``nodes`` (all of ``group``), replacing nodes with the same uid."""

    @abstractmethod
    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        """Delete ``uids`` of ``group`` (all of it when None); return the uids that were removed."""

    def get_nodes(self, group_name: Optional[str] = None, uids: Optional[Iterable[str]] = None,
                  doc_ids: Optional[Iterable[str]] = None, *, group: Optional[str] = None) -> list["DocNode"]:
        """Nodes of ``group_name`` (``group=``, LazyLLM 1.4's keyword, says the same): all of them, those with
        ``uids`` (in that order, unknown uids skipped) or those of the files ``doc_ids``. Lookups by uid cost
        O(1) each."""
        if (group_name is None) == (group is None):
            raise TypeError("get_nodes needs the group: get_nodes('MediumChunk') or get_nodes(group='MediumChunk')")
        return self._get_nodes(group_name if group is None else group, uids, doc_ids)

    @abstractmethod
    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                   doc_ids: Optional[Iterable[str]] = None) -> list["DocNode"]:
        """`get_nodes` of one store."""

    @abstractmethod
    def count(self, group_name: str) -> int:
        """How many nodes ``group_name`` holds."""

    def update_nodes(self, nodes: list["DocNode"]) -> None:
        """Upsert ``nodes`` (any groups) and tell every index, one call per group."""
        for group, batch in group_by_name(nodes).items():
            self._upsert(group, batch)
            for index in self._indexes.values():
                index.update(batch)

    def remove_nodes(self, group_name: str, uids: Optional[list[str]] = None) -> list[str]:
        """Remove nodes of a group (the whole group when ``uids`` is None) and tell every index."""
        removed = self._delete(group_name, uids)
        if removed:
            for index in self._indexes.values():
                index.remove(removed, group_name)
        return removed

    def remove_docs(self, doc_ids: Iterable[str], groups: Optional[Iterable[str]] = None) -> int:
        """Remove every node that came from the files ``doc_ids``; return how many were removed."""
        doc_ids = list(doc_ids)
        total = 0
        for group in list(groups if groups is not None else self.groups()):
            uids = self.doc_uids(group, doc_ids)
            if uids:
                total += len(self.remove_nodes(group, uids))
        return total

    def doc_uids(self, group_name: str, doc_ids: list[str]) -> list[str]:
        """Uids of the nodes of ``group_name`` that came from the files ``doc_ids``. A database overrides it to
        ask for the ids alone: removing a changed file's nodes needs neither their texts nor their vectors."""
        return [n.uid for n in self.get_nodes(group_name, doc_ids=doc_ids)]

    @abstractmethod
    def groups(self) -> list[str]:
        """Names of the groups that hold nodes."""

    def get_children(self, group_name: str, parent_uids: Iterable[str]) -> list["DocNode"]:
        """Nodes of ``group_name`` whose parent is one of ``parent_uids`` (backends override with a query)."""
        wanted = set(parent_uids)
        return [n for n in self.get_nodes(group_name) if n.parent_uid in wanted]

    @property
    def ledger_path(self) -> Optional[Path]:
        """Where the ingestion ledger of this store lives (None: the store forgets everything on exit)."""
        return None

    def vector_search(self, group_name: str, embed_key: str, query: "np.ndarray | SparseVector", topk: int,
                      filters: Optional[dict[str, Any]] = None) -> list[tuple["DocNode", float]]:
        """Best ``topk`` nodes by cosine with ``query`` (by inner product for a sparse ``{index: weight}`` query),
        with their scores, best first (stores with their own ANN index). Nodes come back with the hits, in the
        same round trip where the database allows it."""
        raise NotImplementedError(f"{type(self).__name__} has no vector search of its own")

    def raw_search(self, group_name: str, embed_key: str, query: "np.ndarray", topk: int) -> list[str]:
        """The uids the database's own search returns for ``query``, best first, texts fetched as a client
        would but nothing decoded: what a benchmark measures ragjet's overhead against."""
        raise NotImplementedError(f"{type(self).__name__} has no database search of its own")

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        """Whether the store can answer a query, waiting at most ``timeout`` seconds (None: until it can). A
        store is ready at once, unless it connects in the background (a database client): then it is once
        the connection is made or has failed (which the query raises)."""
        return True

    def close(self) -> None:
        """Release files and connections: the indexes registered on the store first (what they hold of their
        own: a vector database's connection, its file lock), then the backend's (`_close`)."""
        for index in list(self._indexes.values()):
            index.close()
        self._close()

    def _close(self) -> None:
        """Release the backend's files and connections (a backend overrides it)."""

    # -- groups -----------------------------------------------------------------------------------------
    def activate_group(self, name: str) -> None:
        self._active_groups.add(name)

    def is_group_active(self, name: str) -> bool:
        return name in self._active_groups

    # -- indexes ----------------------------------------------------------------------------------------
    def register_index(self, name: str, index: "StoreHooks") -> None:
        """Attach ``index`` and feed it the nodes already stored, so late registration loses nothing (unless the
        index says it needs no backfill, like the default index of a store that searches vectors itself)."""
        self._indexes[name] = index
        if not index.needs_backfill:
            return
        for group in self.groups():
            nodes = self.get_nodes(group)
            if nodes:
                index.update(nodes)

    def get_index(self, name: str = "default") -> Optional[Any]:
        return self._indexes.get(name)

    def index_names(self) -> list[str]:
        return sorted(self._indexes)


def group_by_name(nodes: list["DocNode"]) -> dict[str, list["DocNode"]]:
    out: dict[str, list[DocNode]] = {}
    for n in nodes:
        out.setdefault(n._group, []).append(n)
    return out


STORES: Registry[type] = Registry("store type", hint="Pass store_conf={'type': <one of these>, 'kwargs': {...}}.")
