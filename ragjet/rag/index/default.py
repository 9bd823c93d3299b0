"""The default index of every store: cosine over dense matrices, BM25 over texts, and user similarities.

It keeps one `AnnMatrix` per (group, dense embed key) and one `SparseMatrix` per (group, sparse embed key),
fed by the store's hooks as nodes are written (unless the store searches vectors itself: chroma, milvus),
and one BM25 engine per (group, variant), built on first use and dropped when the group changes. A dense
matrix searches exactly up to ``AnnConfig.threshold`` rows and through an HNSW graph above
(`ragjet.rag.index.ann`); ``exact=True`` or the ``exact`` index, which this index registers on its store,
always search exactly, and ``ef`` sets the graph's search breadth per query.

On a sparse key the ``cosine`` similarity ranks by inner product, as Milvus does (its only sparse metric):
a BM25 document vector is already length-normalised, and normalising it again would undo that. Scores are
then unbounded (a ``similarity_cut_off`` for such a key is an inner product), and only nodes sharing a term
with the query are returned. A query over a dense and a sparse key at once fuses the two rankings by
reciprocal rank (`ragjet.rag.fusion.merge_embed_keys`); keys of one kind keep each node's best score.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import quote

import numpy as np

from ...text.lexical import TOKENIZERS
from ..doc_node import DocNode
from ..embedding import comparable
from ..fusion import rank_embed_keys
from ..similarity import SIMILARITIES, Similarity
from ..sparse_vector import inner_products, is_sparse
from ..store.filters import node_filter
from .ann import AnnConfig, AnnMatrix
from .base import INDEXES, IndexBase
from .bm25 import BM25Engine
from .dense import normalise, top_k
from .sparse import SparseMatrix

if TYPE_CHECKING:
    from ..embedding import Embedder
    from ..store.base import StoreBase

Filters = Optional[Mapping[str, Any]]


@INDEXES.register("default")
class DefaultIndex(IndexBase):
    """Similarity search over one store, for every group and embed key.

    ``ann`` sets when and how matrices switch to HNSW search (default: `AnnConfig.from_env`)."""

    serves_similarity = True  # the retriever's similarity decides whether the group needs embeddings

    def __init__(self, embed: Mapping[str, "Embedder"], store: "StoreBase", ann: Optional[AnnConfig] = None) -> None:
        self._embed = embed
        self._store = store
        self._ann = ann or AnnConfig.from_env()
        self._dense: dict[tuple[str, str], AnnMatrix] = {}
        self._sparse: dict[tuple[str, str], SparseMatrix] = {}
        self._lexical: dict[tuple[str, str], BM25Engine] = {}
        self._lock = threading.Lock()
        store.register_index("exact", ExactIndex(self))

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
                # the vectors' own kind: a restart backfills stored vectors before the models are checked
                if is_sparse(batch[0].embedding[key]):
                    sparse = self._sparse.get((group, key))
                    if sparse is None:
                        sparse = self._sparse[(group, key)] = SparseMatrix()
                    sparse.upsert([n.uid for n in batch], [n.embedding[key] for n in batch])
                    continue
                vecs = np.stack([np.asarray(n.embedding[key], dtype=np.float32) for n in batch])
                matrix = self._dense.get((group, key))
                if matrix is None:
                    matrix = self._dense[(group, key)] = AnnMatrix(vecs.shape[1], capacity=len(batch),
                                                                   config=self._ann, path=self._ann_path(group, key))
                matrix.upsert([n.uid for n in batch], vecs)

    def _ann_path(self, group: str, key: str) -> Optional[Path]:
        """Where the HNSW graph of (group, key) is saved: beside a persistent store's ledger, else nowhere."""
        ledger = self._store.ledger_path if self._store.persistent else None
        if ledger is None:
            return None
        return ledger.parent / f"{ledger.name}.ann" / f"{quote(group, safe='')}.{quote(key, safe='')}"

    def matrix(self, group: str, key: str = "default") -> Optional[AnnMatrix | SparseMatrix]:
        """The vectors of (group, embed key) held in memory, if any (stores with their own search hold none)."""
        dense = self._dense.get((group, key))
        return dense if dense is not None else self._sparse.get((group, key))

    def flush(self) -> None:
        """Save the HNSW graphs that changed since their last save (otherwise done at interpreter exit)."""
        for matrix in list(self._dense.values()):
            matrix.flush()

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        with self._lock:
            for (group, _), matrix in (*self._dense.items(), *self._sparse.items()):
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
              embed_keys: Optional[Sequence[str]] = None, filters: Filters = None, exact: bool = False,
              ef: Optional[int] = None, **kwargs: Any) -> list["DocNode"]:
        """Nodes of ``group_name`` most similar to ``query``, each a copy carrying ``similarity_score``.

        ``exact`` forces brute-force vector search (no HNSW graph, nor a store's own index); ``ef`` is the HNSW
        search breadth for this query (higher: better recall, slower)."""
        sim = SIMILARITIES.get(similarity_name)
        known: dict[str, "DocNode"] = {}  # nodes a store returned with its hits: no second fetch
        if sim.needs_embedding:
            keys = list(embed_keys or self._embed)
            if not keys:
                raise ValueError(f"similarity {sim.name!r} needs embeddings, but the document has no embed model; "
                                 f"pass embed=... to Document or use similarity='bm25'")
            def search(key: str, depth: int) -> Iterable[tuple[str, float]]:
                uids, scores = self._embedding_search(sim, group_name, key, query, depth, filters, known, exact, ef)
                return zip(uids, scores.tolist())

            ranked = rank_embed_keys(keys, comparable(self._embed, keys), topk, similarity_cut_off, search)
        else:
            cut = similarity_cut_off if not isinstance(similarity_cut_off, Mapping) else float("-inf")
            uids, scores = self._text_search(sim, group_name, query, topk, filters)
            ranked = [(u, s) for u, s in zip(uids, scores.tolist()) if s >= cut]
        missing = [u for u, _ in ranked if u not in known]
        if missing:
            known.update((n.uid, n) for n in self._store.get_nodes(group_name, uids=missing))
        return [known[u].with_score(s) for u, s in ranked if u in known]

    def _embedding_search(self, sim: Similarity, group: str, key: str, query: str, topk: int, filters: Filters,
                          known: dict[str, "DocNode"], exact: bool = False,
                          ef: Optional[int] = None) -> tuple[list[str], np.ndarray]:
        if key not in self._embed:
            raise KeyError(f"unknown embed key {key!r}; the document has: {', '.join(sorted(self._embed))}")
        if self._store.supports_vector_search:
            qvec = self._embed[key].embed_query(query)
            if sim.func is None and not exact:
                hits = self._store.vector_search(group, key, qvec, topk, dict(filters) if filters else None)
                known.update((node.uid, node) for node, _ in hits)
                return [node.uid for node, _ in hits], np.array([score for _, score in hits], dtype=np.float32)
            nodes = [n for n in self._store.get_nodes(group) if n.has_embedding(key)]
        else:
            matrix = self.matrix(group, key)
            if matrix is None or not len(matrix):
                return [], np.empty(0, dtype=np.float32)
            qvec = self._embed[key].embed_query(query)
            if sim.func is None:
                return matrix.search(qvec, topk, self._mask(group, matrix.uids, filters), exact=exact, ef=ef)
            nodes = self._store.get_nodes(group, uids=list(matrix.uids))
        uids = [n.uid for n in nodes]
        vectors = [n.embedding[key] for n in nodes]
        mask = self._mask(group, uids, filters)
        sparse = self._embed[key].sparse  # a user similarity gets sparse vectors as {index: weight} dicts
        if sim.func is None and sparse:  # exact inner products over the vectors of a store that searches them
            scores = inner_products(qvec, vectors)
        elif sim.func is None:  # exact cosine over the vectors of a store that searches them itself
            scores = normalise(np.asarray(vectors, dtype=np.float32).reshape(len(uids), -1)) @ normalise(qvec)
        elif sim.batch:
            scores = np.asarray(sim.func(qvec, vectors if sparse else np.asarray(vectors, dtype=np.float32)),
                                dtype=np.float32)
        else:
            scores = np.array([sim.func(qvec, v if sparse else np.asarray(v, dtype=np.float32)) for v in vectors],
                              np.float32)
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
            scores = _batch_scores(sim, sim.func(query, nodes), uids)
        else:
            scores = np.array([sim.func(query, n) for n in nodes], dtype=np.float32)
        return _rank(sim, uids, scores, topk, self._mask(group, uids, filters))

    def _mask(self, group: str, uids: list[str], filters: Filters) -> Optional[np.ndarray]:
        if not filters:
            return None
        keep = node_filter(filters)
        nodes = self._store.get_nodes(group, uids=uids)
        return np.fromiter((keep(n) for n in nodes), dtype=bool, count=len(nodes))


@INDEXES.register("exact")
class ExactIndex(IndexBase):
    """``Retriever(..., index='exact')``: the default index's similarities with brute-force vector search over
    the same matrices (the reference an HNSW result is measured against). Registered by `DefaultIndex` on its
    store; the store's hooks reach the default index, which owns the data, so this view ignores them."""

    serves_similarity = True
    needs_backfill = False

    def __init__(self, default: DefaultIndex) -> None:
        self._default = default

    def update(self, nodes: list["DocNode"]) -> None:
        """Nothing to do: the default index keeps the vectors."""

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        """Nothing to do: the default index keeps the vectors."""

    def query(self, query: str, group_name: str, **kwargs: Any) -> list["DocNode"]:
        return self._default.query(query, group_name, **{**kwargs, "exact": True})


def _batch_scores(sim: Similarity, result: Any, uids: list[str]) -> np.ndarray:
    """The scores of ``uids`` from a batch similarity's result: one score per node in order, or LazyLLM's form,
    ``(node, score)`` pairs of the nodes it keeps (a node left out ranks last and is not returned)."""
    result = list(result)
    if result and isinstance(result[0], (tuple, list)) and len(result[0]) == 2 and isinstance(result[0][0], DocNode):
        kept = {node.uid: float(score) for node, score in result}
        missing = -np.inf if sim.descend else np.inf
        return np.array([kept.get(uid, missing) for uid in uids], dtype=np.float32)
    return np.asarray(result, dtype=np.float32)


def _rank(sim: Similarity, uids: list[str], scores: np.ndarray, topk: int,
          mask: Optional[np.ndarray]) -> tuple[list[str], np.ndarray]:
    order_scores = scores if sim.descend else -scores
    if mask is not None:
        order_scores = np.where(mask, order_scores, -np.inf)
    picked, best = top_k(uids, order_scores, topk)
    return picked, best if sim.descend else -best
