"""Which nodes an answer was built from: a per-call collector that retrieval steps record into.

A server (`ragjet.web.WebModule`) runs each request's flow inside ``with collect_sources() as sources:``;
`Retriever` and `Reranker` call `record_sources` with the nodes they return. Retrievers' nodes accumulate
(the lecture's parallel routes each add theirs); a reranker's nodes replace them, since they are what the LLM
finally sees. Outside a collector `record_sources` costs one ContextVar read, so flows run without a server
pay nothing. Parallel branches run in copies of the caller's context, which share the same collector.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator, Optional


class SourceCollector:
    """The nodes recorded during one flow call, in order, de-duplicated by uid (the first copy is kept)."""

    def __init__(self) -> None:
        self._nodes: list[Any] = []
        self._reranked = False
        self._lock = threading.Lock()

    def record(self, nodes: Iterable[Any], reranked: bool = False) -> None:
        nodes = list(nodes)
        with self._lock:
            if reranked:
                self._nodes, self._reranked = nodes, True
            elif not self._reranked:
                self._nodes.extend(nodes)

    @property
    def nodes(self) -> list[Any]:
        with self._lock:
            recorded = list(self._nodes)
        unique: dict[Any, Any] = {}
        for node in recorded:
            unique.setdefault(getattr(node, "uid", id(node)), node)
        return list(unique.values())


_CURRENT: ContextVar[Optional[SourceCollector]] = ContextVar("ragjet_sources", default=None)


@contextmanager
def collect_sources() -> Iterator[SourceCollector]:
    """Collect the sources recorded by the flow steps run inside the block (in this context)."""
    collector = SourceCollector()
    token = _CURRENT.set(collector)
    try:
        yield collector
    finally:
        _CURRENT.reset(token)


def record_sources(nodes: Iterable[Any], reranked: bool = False) -> None:
    """Record ``nodes`` (DocNodes) as sources of the current answer, if someone is collecting them.

    Retrievers pass ``reranked=False`` (their nodes add up); rerankers pass ``reranked=True`` (theirs win)."""
    collector = _CURRENT.get()
    if collector is not None:
        collector.record(nodes, reranked)
