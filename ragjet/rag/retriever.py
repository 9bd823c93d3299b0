"""Retriever: retrieval over a document's group (similarity or custom index, top-k, target group).

Construction validates every name and asks the document for the group (and the embeddings its similarity
needs); the first call, or `start`, builds it. A call is then a thin wrapper over ``index.query``, so custom
indexes such as the lecture's trie keep their speed through it. Several similarities
(``similarity=['cosine', 'bm25']``) make a hybrid retriever: one query per similarity, fused by
`ragjet.rag.fusion.fuse` (``fusion='rrf'`` or ``'weighted'``, route ``weights``).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ..flow.lifecycle import Startable
from ..flow.sources import record_sources
from ..log import LOG
from .doc_node import LAZY_ROOT_NAME, DocNode, check_output_options, format_nodes
from .document import Document
from .fusion import METHODS, ROUTE_DEPTH, check_weights, fuse
from .index.base import INDEXES, IndexBase
from .similarity import SIMILARITIES


class Retriever(Startable):
    """``Retriever(doc, group_name, ...)(query)`` → the top DocNodes, each with ``similarity_score``.

    ``similarity`` may be a list: the routes' results are then fused (``fusion``, ``weights``) and each node's
    ``similarity_score`` is its fused score."""

    def __init__(self, doc: Document, group_name: str, similarity: Optional[str | Sequence[str]] = None,
                 similarity_cut_off: float | dict[str, float] = float("-inf"), index: str = "default",
                 topk: int = 6, embed_keys: Optional[Sequence[str]] = None, target: Optional[str] = None,
                 output_format: Optional[str] = None, join: bool | str = False,
                 weights: Optional[Sequence[float]] = None, fusion: str = "rrf", **kwargs: Any) -> None:
        if similarity is None:
            similarity = "cosine" if doc.embedders else "bm25"
        similarities = [similarity] if isinstance(similarity, str) else list(similarity)
        if not similarities:
            raise ValueError("similarity must name at least one similarity")
        for name in similarities:
            if name not in SIMILARITIES:
                raise ValueError(SIMILARITIES.unknown_message(name))
        if fusion not in METHODS:
            raise ValueError(f"unknown fusion {fusion!r}; choose one of {', '.join(METHODS)}")
        if index not in doc.index_names():
            raise ValueError(f"unknown index {index!r}; registered: {', '.join(doc.index_names())}")
        check_output_options(topk, output_format)
        self.doc = doc
        self.group_name = group_name
        self.similarity = similarity
        self.similarities = similarities
        self.weights = check_weights(weights, len(similarities))
        self.fusion = fusion
        self.similarity_cut_off = similarity_cut_off
        self.index_name = index
        self.topk = topk
        self.embed_keys = list(embed_keys) if embed_keys else None
        self.target = target
        self.output_format = output_format
        self.join = join
        self.kwargs = kwargs
        index_cls = INDEXES.get(index) if index in INDEXES else IndexBase
        needs_vectors = index_cls.needs_vectors(any(SIMILARITIES.get(s).needs_embedding for s in similarities))
        keys = (self.embed_keys or list(doc.embedders)) if needs_vectors else []
        if needs_vectors and group_name == LAZY_ROOT_NAME:
            raise ValueError(f"the root group {LAZY_ROOT_NAME!r} (whole files) is never embedded; retrieve from a node "
                             "group (MediumChunk, or one of yours) or use similarity='bm25'")
        if needs_vectors and not keys:
            raise ValueError(f"similarity {similarity!r} needs embeddings but the document has no embed model; "
                             "pass embed=... to Document or use similarity='bm25'")
        doc.activate_group(group_name, keys)
        if target is not None:
            doc.activate_group(target)
        self._index: Optional[IndexBase] = None
        self._blind_said = False
        self._find: Optional[Callable[[list[DocNode]], list[DocNode]]] = doc.find(target) if target else None

    def start(self) -> "Retriever":
        """Build the document's groups now rather than on the first query."""
        self._index = self.doc.get_index(self.index_name)
        return self

    def __call__(self, query: str, filters: Optional[dict[str, Any]] = None, **kwargs: Any) -> Any:
        index = self._index or self.start()._index
        with self.doc.warm_up.held_off():
            if len(self.similarities) == 1:
                nodes = self._route(index, query, self.similarities[0], self.topk, filters, kwargs)
            else:
                depth = max(self.topk, ROUTE_DEPTH)
                routes = [self._route(index, query, s, depth, filters, kwargs) if self._reads(s, query) else []
                          for s in self.similarities]
                nodes = fuse(routes, method=self.fusion, weights=self.weights, topk=self.topk)
        if len(nodes) > self.topk:
            nodes = nodes[: self.topk]
        if self._find is not None:
            nodes = self._find(nodes)
        record_sources(nodes)
        return format_nodes(nodes, self.output_format, self.join)

    def _reads(self, similarity: str, query: str) -> bool:
        """Whether a route of a fusion can read ``query``: an embedding route whose models read most of it as
        unknown tokens (an English model asked in Chinese) ranks noise, and fused with a route that reads it,
        drags that one down (CMRC recall@5: bm25_chinese 0.987, fused with all-MiniLM-L6-v2 0.781); it is
        left out of this query's fusion."""
        if not SIMILARITIES.get(similarity).needs_embedding:
            return True
        embedders = [self.doc.embedders[k] for k in (self.embed_keys or self.doc.embedders) if k in self.doc.embedders]
        if not embedders or any(e.reads(query) for e in embedders):
            return True
        if not self._blind_said:
            self._blind_said = True
            LOG.info("retriever on %r: %s cannot read the question (mostly unknown tokens to %s): its route is left "
                     "out of the fusion; an embedder for the documents' language reads it (docs/retrieval.md)",
                     self.group_name, similarity, ", ".join(e.model_id for e in embedders))
        return False

    def _route(self, index: IndexBase, query: str, similarity: str, topk: int, filters: Optional[dict[str, Any]],
               kwargs: dict[str, Any]) -> list[DocNode]:
        """One similarity's best ``topk`` nodes of the group."""
        # Unnamed embed keys are the document's, given by name as LazyLLM gives them: a custom index that embeds
        # the query itself iterates them (``self.embed[k](query) for k in embed_keys``).
        keys = self.embed_keys or list(self.doc.embedders) or None
        nodes = index.query(query, group_name=self.group_name, similarity_name=similarity, topk=topk,
                            similarity_cut_off=self.similarity_cut_off, embed_keys=keys,
                            filters=filters, **self.kwargs, **kwargs)
        if nodes and not isinstance(nodes[0], DocNode):
            raise TypeError(f"index {self.index_name!r} returned {type(nodes[0]).__name__} items; an index's query "
                            f"returns DocNodes, best first (for uids: store.get_nodes(group_name, uids=uids))")
        return nodes
