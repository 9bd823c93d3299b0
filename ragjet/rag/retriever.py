"""Retriever: one retrieval route over a document's group (similarity or custom index, top-k, target group).

Construction validates every name and asks the document for the group (and the embeddings its similarity
needs); the first call, or `start`, builds it. A call is then a thin wrapper over ``index.query``, so custom
indexes such as the lecture's trie keep their speed through it.
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ..flow.sources import record_sources
from .doc_node import OUTPUT_FORMATS, DocNode, format_nodes
from .document import Document
from .index.base import INDEXES, IndexBase
from .similarity import SIMILARITIES

class Retriever:
    """``Retriever(doc, group_name, ...)(query)`` → the top DocNodes, each with ``similarity_score``."""

    def __init__(self, doc: Document, group_name: str, similarity: Optional[str] = None,
                 similarity_cut_off: float | dict[str, float] = float("-inf"), index: str = "default",
                 topk: int = 6, embed_keys: Optional[Sequence[str]] = None, target: Optional[str] = None,
                 output_format: Optional[str] = None, join: bool | str = False, **kwargs: Any) -> None:
        if similarity is None:
            similarity = "cosine" if doc.embedders else "bm25"
        if similarity not in SIMILARITIES:
            raise ValueError(SIMILARITIES.unknown_message(similarity))
        if index not in doc.index_names():
            raise ValueError(f"unknown index {index!r}; registered: {', '.join(doc.index_names())}")
        if output_format not in OUTPUT_FORMATS:
            raise ValueError(f"output_format must be one of {OUTPUT_FORMATS}, got {output_format!r}")
        if topk <= 0:
            raise ValueError(f"topk must be positive, got {topk}")
        self.doc = doc
        self.group_name = group_name
        self.similarity = similarity
        self.similarity_cut_off = similarity_cut_off
        self.index_name = index
        self.topk = topk
        self.embed_keys = list(embed_keys) if embed_keys else None
        self.target = target
        self.output_format = output_format
        self.join = join
        self.kwargs = kwargs
        needs_vectors = (index == "default" and SIMILARITIES.get(similarity).needs_embedding) or \
            getattr(INDEXES.get(index) if index in INDEXES else None, "vector_index", False)
        keys = (self.embed_keys or list(doc.embedders)) if needs_vectors else []
        if needs_vectors and not keys:
            raise ValueError(f"similarity {similarity!r} needs embeddings but the document has no embed model; "
                             "pass embed=... to Document or use similarity='bm25'")
        doc.activate_group(group_name, keys)
        if target is not None:
            doc.activate_group(target)
        self._index: Optional[IndexBase] = None
        self._find: Optional[Callable[[list[DocNode]], list[DocNode]]] = doc.find(target) if target else None

    def start(self) -> "Retriever":
        """Build the document's groups now rather than on the first query."""
        self._index = self.doc.get_index(self.index_name)
        return self

    def __call__(self, query: str, filters: Optional[dict[str, Any]] = None, **kwargs: Any) -> Any:
        index = self._index or self.start()._index
        nodes = index.query(query, group_name=self.group_name, similarity_name=self.similarity,
                            topk=self.topk, similarity_cut_off=self.similarity_cut_off,
                            embed_keys=self.embed_keys, filters=filters, **self.kwargs, **kwargs)
        if nodes and isinstance(nodes[0], str):
            nodes = self.doc.store.get_nodes(self.group_name, uids=nodes)
        if len(nodes) > self.topk:
            nodes = nodes[: self.topk]
        if self._find is not None:
            nodes = self._find(nodes)
        record_sources(nodes)
        return format_nodes(nodes, self.output_format, self.join)
