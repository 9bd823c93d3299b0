"""Reranker: re-score the merged candidates of several retrieval routes against the query, keep the best.

``Reranker('ModuleReranker', model=rerank_model, topk=3)(nodes, query=q)`` returns the ``topk`` best nodes,
best first, as copies carrying ``relevance_score`` (stored nodes are never mutated, so concurrent pipelines
cannot overwrite each other's scores). Candidates are de-duplicated by uid first: the lecture's two routes
(``MediumChunk`` and ``sentence`` with ``target="MediumChunk"``) often return the same chunk twice. Rerankers
are registered by name; `register_reranker` adds one. The returned nodes are recorded as the answer's sources
(`ragjet.flow.sources`), replacing the retrievers' candidates.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Optional, Sequence

from ..flow.sources import record_sources
from ..registry import Registry
from .doc_node import DocNode, MetadataMode, check_output_options, format_nodes

Ranked = list[tuple[DocNode, Optional[float]]]
RERANKERS: Registry[Callable[..., Callable[[list[DocNode], str], Ranked]]] = Registry(
    "reranker", hint="Register one with ragjet.rag.reranker.register_reranker(name).")


def register_reranker(name: Any = None, batch: bool = False) -> Any:
    """Register a reranker, in ragjet's form or LazyLLM's:

    - ``@register_reranker("Name")`` on a factory ``(**options) -> ((nodes, query) -> [(node, score or None),
      ...] best first)`` (a class whose instances rank);
    - ``@register_reranker`` on a function ``f(node, query=..., **options) -> node or None`` (LazyLLM's
      per-node filter: the nodes it returns are kept, in order), registered under its name;
    - ``@register_reranker(batch=True)`` on ``f(nodes, query=..., **options) -> nodes`` (best first)."""
    if isinstance(name, str):
        return RERANKERS.register(name)
    if name is None:
        return lambda func: register_reranker(func, batch=batch)
    if not callable(name):
        raise TypeError(f"register_reranker takes a name or a function, got {type(name).__name__}")
    RERANKERS.register(name.__name__)(_lazyllm_style(name, batch))
    return name


def _lazyllm_style(func: Callable[..., Any], batch: bool) -> Callable[..., Callable[[list[DocNode], str], Ranked]]:
    """A ragjet reranker factory around a LazyLLM-style reranker function."""
    def factory(model: Any = None, topk: int = 3, **options: Any) -> Callable[[list[DocNode], str], Ranked]:
        def rank(nodes: list[DocNode], query: str) -> Ranked:
            if batch:
                kept = func(nodes, query=query, **options)
            else:
                kept = [result for result in (func(node, query=query, **options) for node in nodes) if result]
            return [(node, None) for node in kept]
        return rank
    factory.__name__ = factory.__qualname__ = func.__name__
    return factory


@register_reranker("ModuleReranker")
class ModuleReranker:
    """Ranks with a rerank model answering ``model(text=query, documents=[...], top_n=k)`` → ``[(index, score)]``;
    ``model`` may be a model name (``TrainableModule(name, type='rerank')``)."""

    def __init__(self, model: Any = None, topk: int = 3, **model_kwargs: Any) -> None:
        if model is None:
            raise ValueError("ModuleReranker needs model=, a rerank module or a model name such as "
                             "'all-MiniLM-L6-v2'")
        if isinstance(model, str):
            from ..models import TrainableModule
            model = TrainableModule(model, type="rerank")
        self.model = model
        self.topk = topk
        self.model_kwargs = model_kwargs

    def __call__(self, nodes: list[DocNode], query: str) -> Ranked:
        documents = [n.get_text(MetadataMode.EMBED) for n in nodes]
        ranked = self.model(text=query, documents=documents, top_n=self.topk, **self.model_kwargs)
        return [(nodes[i], score) for i, score in ranked]


@register_reranker("KeywordFilter")
class KeywordFilter:
    """Keeps, in their order, the nodes containing every ``required_keys`` word and none of ``exclude_keys``
    (case-insensitive); it scores nothing."""

    def __init__(self, required_keys: Iterable[str] = (), exclude_keys: Iterable[str] = (),
                 topk: Optional[int] = None, model: Any = None) -> None:
        if model is not None:
            raise ValueError("KeywordFilter uses no model; drop model=")
        self.required = [k.lower() for k in required_keys]
        self.excluded = [k.lower() for k in exclude_keys]

    def __call__(self, nodes: list[DocNode], query: str) -> Ranked:
        kept = []
        for node in nodes:
            text = node.get_content().lower()
            if all(k in text for k in self.required) and not any(k in text for k in self.excluded):
                kept.append((node, None))
        return kept


class Reranker:
    """``Reranker(name, model=..., topk=3)(nodes, query=...)`` → the best ``topk`` nodes with ``relevance_score``.

    ``output_format`` (None, 'content', 'dict') and ``join`` shape the output as Retriever's do; other keyword
    options go to the named reranker (for ModuleReranker: to the model's call)."""

    def __init__(self, name: str = "ModuleReranker", model: Any = None, topk: int = 3,
                 output_format: Optional[str] = None, join: bool | str = False, **kwargs: Any) -> None:
        check_output_options(topk, output_format)
        self.name = name
        self.topk = topk
        self.output_format = output_format
        self.join = join
        self._rank = RERANKERS.get(name)(model=model, topk=topk, **kwargs)

    def __call__(self, nodes: Sequence[DocNode], query: str = "") -> Any:
        return self.forward(nodes, query)

    def forward(self, nodes: Sequence[DocNode], query: str = "") -> Any:
        """The reranked nodes (LazyLLM's module entry point; calling the reranker does the same)."""
        unique: dict[str, DocNode] = {}
        for node in nodes:
            unique.setdefault(node.uid, node)
        ranked = self._rank(list(unique.values()), query)[: self.topk] if unique else []
        top = [_scored(n, s) for n, s in ranked]
        record_sources(top, reranked=True)
        return format_nodes(top, self.output_format, self.join)

    def __repr__(self) -> str:
        return f"Reranker({self.name!r}, topk={self.topk})"


def _scored(node: DocNode, score: Optional[float]) -> DocNode:
    """A copy of ``node`` with its retrieval score kept and ``relevance_score`` set (kept when ``score`` is None)."""
    copy = node.with_score(node.similarity_score)
    if score is not None:
        copy.relevance_score = float(score)
    return copy
