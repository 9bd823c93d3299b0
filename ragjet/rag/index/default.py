"""The default index of every store: cosine over dense matrices, BM25 over texts, and user similarities.

It keeps one `DenseMatrix` per (group, embed key), fed by the store's hooks as nodes are written (unless the
store searches vectors itself: chroma, milvus), and one BM25 engine per (group, variant), built on first use
and dropped when the group changes.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

import numpy as np

from ..similarity import SIMILARITIES, Similarity
from .base import INDEXES, IndexBase
from .bm25 import TOKENIZERS, BM25Engine
from .dense import DenseMatrix, top_k

if TYPE_CHECKING:
    from ..doc_node import DocNode
    from ..embedding import Embedder
    from ..store.base import StoreBase

Filters = Optional[Mapping[str, Any]]


@INDEXES.register("default")
class DefaultIndex(IndexBase):
    """Similarity search over one store, for every group and embed key."""

    def __init__(self, embed: Mapping[str, "Embedder"], store: "StoreBase") -> None:
        self._embed = embed
        self._store = store
        self._dense: dict[tuple[str, str], DenseMatrix] = {}
        self._lexical: dict[tuple[str, str], BM25Engine] = {}
        self._lock = threading.Lock()

    @property
    def needs_backfill(self) -> bool:
        """Only the in-memory matrices need the stored nodes; a store with its own vector index does not."""
        return not self._store.supports_vector_search

    # -- hooks --------------------------------------------------------------------------------------------
    def update(self, nodes: list["DocNode"]) -> None:
        if not nodes:
            return
        group = nodes[0]._group
        with self._lock:
            self._drop_lexical(group)
            if self._store.supports_vector_search:
                return
            for key in self._embed:
                batch = [n for n in nodes if n.embedding and key in n.embedding]
                if not batch:
                    continue
                vecs = np.stack([np.asarray(n.embedding[key], dtype=np.float32) for n in batch])
                matrix = self._dense.get((group, key))
                if matrix is None:
                    matrix = self._dense[(group, key)] = DenseMatrix(vecs.shape[1], capacity=len(batch))
                matrix.upsert([n.uid for n in batch], vecs)

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        with self._lock:
            for (group, _), matrix in self._dense.items():
                if group_name is None or group == group_name:
                    matrix.remove(uids)
            if group_name is None:
                self._lexical.clear()
            else:
                self._drop_lexical(group_name)

    def _drop_lexical(self, group: str) -> None:
        for key in [k for k in self._lexical if k[0] == group]:
            del self._lexical[key]

    # -- query --------------------------------------------------------------------------------------------
    def query(self, query: str, group_name: str, similarity_name: str = "cosine", topk: int = 6,
              similarity_cut_off: float | Mapping[str, float] = float("-inf"),
              embed_keys: Optional[Sequence[str]] = None, filters: Filters = None,
              **kwargs: Any) -> list["DocNode"]:
        """Nodes of ``group_name`` most similar to ``query``, each a copy carrying ``similarity_score``."""
        sim = SIMILARITIES.get(similarity_name)
        known: dict[str, "DocNode"] = {}  # nodes a store returned with its hits: no second fetch
        if sim.needs_embedding:
            keys = list(embed_keys or self._embed)
            if not keys:
                raise ValueError(f"similarity {sim.name!r} needs embeddings, but the document has no embed model; "
                                 f"pass embed=... to Document or use similarity='bm25'")
            scored: dict[str, float] = {}
            for key in keys:
                cut = similarity_cut_off.get(key, float("-inf")) if isinstance(similarity_cut_off, Mapping) \
                    else similarity_cut_off
                uids, scores = self._embedding_search(sim, group_name, key, query, topk, filters, known)
                for uid, score in zip(uids, scores.tolist()):
                    if score >= cut and score > scored.get(uid, float("-inf")):
                        scored[uid] = score
            ranked = sorted(scored.items(), key=lambda kv: -kv[1])[:topk]
        else:
            cut = similarity_cut_off if not isinstance(similarity_cut_off, Mapping) else float("-inf")
            uids, scores = self._text_search(sim, group_name, query, topk, filters)
            ranked = [(u, s) for u, s in zip(uids, scores.tolist()) if s >= cut]
        missing = [u for u, _ in ranked if u not in known]
        if missing:
            known.update((n.uid, n) for n in self._store.get_nodes(group_name, uids=missing))
        return [known[u].with_score(s) for u, s in ranked if u in known]

    def _embedding_search(self, sim: Similarity, group: str, key: str, query: str, topk: int,
                          filters: Filters, known: dict[str, "DocNode"]) -> tuple[list[str], np.ndarray]:
        if key not in self._embed:
            raise KeyError(f"unknown embed key {key!r}; the document has: {', '.join(sorted(self._embed))}")
        if self._store.supports_vector_search:
            qvec = self._embed[key].embed_query(query)
            if sim.func is None:
                hits = self._store.vector_search(group, key, qvec, topk, dict(filters) if filters else None)
                known.update((node.uid, node) for node, _ in hits)
                return [node.uid for node, _ in hits], np.array([score for _, score in hits], dtype=np.float32)
            nodes = [n for n in self._store.get_nodes(group) if n.has_embedding(key)]
        else:
            matrix = self._dense.get((group, key))
            if matrix is None or not len(matrix):
                return [], np.empty(0, dtype=np.float32)
            qvec = self._embed[key].embed_query(query)
            if sim.func is None:
                return matrix.search(qvec, topk, self._mask(group, matrix.uids, filters))
            nodes = self._store.get_nodes(group, uids=list(matrix.uids))
        uids = [n.uid for n in nodes]
        vectors = [n.embedding[key] for n in nodes]
        mask = self._mask(group, uids, filters)
        if sim.batch:
            scores = np.asarray(sim.func(qvec, np.asarray(vectors, dtype=np.float32)), dtype=np.float32)
        else:
            scores = np.array([sim.func(qvec, np.asarray(v, dtype=np.float32)) for v in vectors], np.float32)
        return _rank(sim, uids, scores, topk, mask)

    def _text_search(self, sim: Similarity, group: str, query: str, topk: int,
                     filters: Filters) -> tuple[list[str], np.ndarray]:
        if sim.func is None and sim.name in TOKENIZERS:
            engine = self._lexical.get((group, sim.name))
            if engine is None:
                nodes = self._store.get_nodes(group)
                engine = BM25Engine([n.uid for n in nodes], [n.text for n in nodes], sim.name)
                self._lexical[(group, sim.name)] = engine
            if not filters:
                return engine.search(query, topk)
            mask = self._mask(group, engine.uids, filters)
            uids, scores = engine.search(query, len(engine.uids))
            allowed = {u for u, m in zip(engine.uids, mask) if m}
            picked = [(u, s) for u, s in zip(uids, scores.tolist()) if u in allowed][:topk]
            return [u for u, _ in picked], np.array([s for _, s in picked], dtype=np.float32)
        nodes = self._store.get_nodes(group)
        uids = [n.uid for n in nodes]
        if sim.batch:
            scores = np.asarray(sim.func(query, nodes), dtype=np.float32)
        else:
            scores = np.array([sim.func(query, n) for n in nodes], dtype=np.float32)
        return _rank(sim, uids, scores, topk, self._mask(group, uids, filters))

    def _mask(self, group: str, uids: list[str], filters: Filters) -> Optional[np.ndarray]:
        if not filters:
            return None
        nodes = self._store.get_nodes(group, uids=uids)
        return np.fromiter((matches(n, filters) for n in nodes), dtype=bool, count=len(nodes))


def matches(node: "DocNode", filters: Mapping[str, Any]) -> bool:
    """Whether a node's metadata (its own, then its file's) satisfies every filter; a list means "any of"."""
    for key, wanted in filters.items():
        value = node.metadata.get(key, node.global_metadata.get(key))
        if isinstance(wanted, (list, tuple, set, frozenset)):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def _rank(sim: Similarity, uids: list[str], scores: np.ndarray, topk: int,
          mask: Optional[np.ndarray]) -> tuple[list[str], np.ndarray]:
    order_scores = scores if sim.descend else -scores
    if mask is not None:
        order_scores = np.where(mask, order_scores, -np.inf)
    picked, best = top_k(uids, order_scores, topk)
    return picked, best if sim.descend else -best
