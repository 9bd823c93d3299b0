"""``smart_embedding_index``: a vector database's own ANN index beside another primary store.

The lecture's ``store_conf['indices'] = {'smart_embedding_index': {'backend': 'milvus', 'kwargs': {...}}}``:
nodes live in the primary store (say the in-memory map), and their vectors are mirrored, through the store's
hooks, into a backend store that searches them natively (Milvus' HNSW / IVF, Chroma's HNSW). Queries with
``Retriever(index='smart_embedding_index')`` run there and come back as the primary store's nodes. On the
first query of a group the backend is reconciled with the primary store (by count), so a backend that missed
writes (a crash, a store created later) is brought up to date instead of answering from stale data.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence

from ...log import LOG
from ..embedding import comparable
from ..fusion import rank_embed_keys
from .base import INDEXES, IndexBase

if TYPE_CHECKING:
    from ..doc_node import DocNode
    from ..embedding import Embedder
    from ..store.base import StoreBase


@INDEXES.register("smart_embedding_index")
class SmartEmbeddingIndex(IndexBase):
    """Vector search in ``backend`` (a store type with its own vector index) for the nodes of ``store``."""

    vector_index = True
    needs_backfill = False  # reconciled per group on first query instead of rewritten on every start
    setup_hint = (" (add store_conf['indices'] = {'smart_embedding_index': {'backend': 'milvus', "
                  "'kwargs': {...}}})")

    @classmethod
    def stand_in(cls, store: "StoreBase") -> Optional[IndexBase]:
        """On a store that searches vectors itself (the lecture's milvus as the primary store), its default
        index is that native search already."""
        return store.get_index("default") if store.supports_vector_search else None

    def __init__(self, backend: str, embed: Mapping[str, "Embedder"], store: "StoreBase", **kwargs: Any) -> None:
        from ..store import create_store

        self._backend = create_store({"type": backend, "kwargs": kwargs})
        if not self._backend.supports_vector_search:
            self._backend.close()
            raise ValueError(f"smart_embedding_index needs a backend with its own vector index (milvus, chroma), "
                             f"not {backend!r}")
        self._embed = embed
        self._store = store
        self._synced: set[str] = set()
        self._lock = threading.Lock()

    def update(self, nodes: list["DocNode"]) -> None:
        if nodes and any(n.embedding for n in nodes):
            self._backend.update_nodes(nodes)

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        if group_name is not None:
            self._backend.remove_nodes(group_name, uids)

    def query(self, query: str, group_name: str, topk: int = 6, embed_keys: Optional[Sequence[str]] = None,
              filters: Optional[dict[str, Any]] = None,
              similarity_cut_off: float | Mapping[str, float] = float("-inf"), **kwargs: Any) -> list["DocNode"]:
        self._reconcile(group_name)
        keys = list(embed_keys or self._embed)

        def search(key: str, depth: int) -> Iterable[tuple[str, float]]:
            qvec = self._embed[key].embed_query(query)
            return [(node.uid, score) for node, score in self._backend.vector_search(group_name, key, qvec, depth,
                                                                                     filters)]

        ranked = rank_embed_keys(keys, comparable(self._embed, keys), topk, similarity_cut_off, search)
        nodes = {n.uid: n for n in self._store.get_nodes(group_name, uids=[u for u, _ in ranked])}
        return [nodes[u].with_score(s) for u, s in ranked if u in nodes]

    def _reconcile(self, group: str) -> None:
        if group in self._synced:
            return
        with self._lock:
            if group in self._synced:
                return
            if self._backend.count(group) != self._store.count(group):
                nodes = [n for n in self._store.get_nodes(group) if n.embedding]
                LOG.info("smart_embedding_index: syncing %d nodes of group %r into its backend", len(nodes), group)
                self._backend.remove_nodes(group)
                self._backend.update_nodes(nodes)
            self._synced.add(group)

    def close(self) -> None:
        self._backend.close()
