"""Similarity functions by name: ``cosine`` (embeddings), ``bm25`` and ``bm25_chinese`` (text), and yours.

The built-ins are computed natively by the default index (one matrix product, one sparse BM25 lookup); a
function registered with `register_similarity` is applied by the default index over a group's nodes, either
one node at a time or, with ``batch=True``, over all of them in one call. On a sparse embed key
(``{index: weight}`` vectors) ``cosine`` ranks by inner product, as Milvus does (see `DefaultIndex`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..registry import Registry

EMBEDDING = "embedding"
TEXT = "text"


@dataclass(frozen=True)
class Similarity:
    """What a similarity compares (``mode``), how (``func``; None for the natively served built-ins), and
    whether it is called once per node or once per group (``batch``); ``descend`` means higher is better."""

    name: str
    mode: str
    func: Optional[Callable[..., Any]] = None
    batch: bool = False
    descend: bool = True

    @property
    def needs_embedding(self) -> bool:
        return self.mode == EMBEDDING


SIMILARITIES: Registry[Similarity] = Registry(
    "similarity", hint="Register your own with ragjet.register_similarity(func, mode='text'|'embedding').")

for _sim in (Similarity("cosine", EMBEDDING), Similarity("bm25", TEXT), Similarity("bm25_chinese", TEXT)):
    SIMILARITIES.register(_sim.name, _sim)


def register_similarity(func: Optional[Callable[..., Any]] = None, mode: str = TEXT, descend: bool = True,
                        batch: bool = False, name: Optional[str] = None):
    """Register ``func`` as a similarity (usable as a decorator, with or without arguments).

    mode='text': ``func(query: str, node: DocNode) -> float`` (batch: ``func(query, nodes) -> list[float]``).
    mode='embedding': ``func(query_vec, node_vec) -> float`` (batch: ``func(query_vec, matrix) -> scores``),
    vectors as numpy arrays; on a sparse embed key, vectors are ``{index: weight}`` dicts (batch: a list).
    """
    if mode not in (TEXT, EMBEDDING):
        raise ValueError(f"similarity mode must be {TEXT!r} or {EMBEDDING!r}, got {mode!r}")

    def _register(f: Callable[..., Any]) -> Callable[..., Any]:
        SIMILARITIES.register(name or f.__name__, Similarity(name or f.__name__, mode, f, batch, descend),
                              replace=True)
        return f
    return _register if func is None else _register(func)
