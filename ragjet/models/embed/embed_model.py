"""The embedder contract: what a `Document` asks of an embedding model, declared in one place.

`EmbedModel` lists every member ragjet uses; `EmbedModelBase` gives each the default a model that says nothing
gets, so a model of your own subclasses it and overrides what it knows. ragjet's own embedders are such
subclasses. Any other object a user passes (a plain ``str -> list[float]`` callable, a LazyLLM-style class
with a few of the members) is seen through `DeclaredModel`, which forwards the members the object has and
answers the defaults for the others: `as_embed_model` is the one place that looks at what an object offers.

The members, and what ragjet does with them:

- ``embed_batch(texts)``: one call for many texts (a plain callable is called once per text);
- ``embed_query(text)``: the vector of a query (asymmetric models; default: a one-text batch);
- ``queries_as_texts``: whether a query's vector is the one any text gets (true where ``embed_query`` is the
  default): it then depends on the model and the text alone, and a restart may take it from the cache;
- ``model_id``: names the model in caches, snapshots and messages;
- ``dim`` (None: learnt from the first vectors), ``batch_size`` (texts per call), ``sparse`` (vectors are
  ``{index: weight}`` dicts, searched by inner product);
- ``count_tokens`` (a counter of the model's tokens, or None) and ``content_window`` (tokens it reads, or
  None): chunks are sized in the model's own tokens and never longer than it reads;
- ``truncated_count`` (texts it cut so far, or None): a warning when chunks lose text;
- ``unknown_share(text)`` (share of unknown tokens, or None): a fused route is left out for a question the
  model cannot read;
- ``start()``: load now (a Document loads its models while its store opens).
"""
from __future__ import annotations

from typing import Any, Callable, Optional, Protocol, Sequence, runtime_checkable

from ...flow.lifecycle import Startable

TokenCounter = Callable[[list[str]], list[int]]
DEFAULT_BATCH_SIZE = 32


@runtime_checkable
class EmbedModel(Protocol):
    """Everything ragjet uses of an embedding model (see the module's list)."""

    model_id: str
    dim: Optional[int]
    batch_size: int
    sparse: bool
    queries_as_texts: bool
    content_window: Optional[int]
    truncated_count: Optional[int]
    count_tokens: Optional[TokenCounter]

    def embed_batch(self, texts: Sequence[str]) -> Any: ...

    def embed_query(self, text: str) -> Any: ...

    def unknown_share(self, text: str) -> Optional[float]: ...

    def start(self) -> Any: ...


class EmbedModelBase(Startable):
    """The defaults of `EmbedModel`: subclass it and implement `embed_batch`; override what your model knows."""

    model_id: str = ""
    dim: Optional[int] = None
    batch_size: int = DEFAULT_BATCH_SIZE
    sparse: bool = False
    content_window: Optional[int] = None
    truncated_count: Optional[int] = None
    count_tokens: Optional[TokenCounter] = None

    def embed_batch(self, texts: Sequence[str]) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement embed_batch(texts)")

    def embed_query(self, text: str) -> Any:
        return self.embed_batch([text])[0]

    @property
    def queries_as_texts(self) -> bool:
        return type(self).embed_query is EmbedModelBase.embed_query

    def unknown_share(self, text: str) -> Optional[float]:
        return None  # the model does not say: it is taken to read everything

    def start(self) -> Any:
        return self


class DeclaredModel(EmbedModelBase):
    """Any other object as an `EmbedModel`: each member it has is its own (read when used, as a counter such
    as ``truncated_count`` changes), every other is `EmbedModelBase`'s default. A plain callable is called
    once per text; ``batched`` says whether the object embeds a batch in one call."""

    def __init__(self, obj: Any) -> None:
        if not callable(obj) and not _has(obj, "embed_batch"):
            raise TypeError(f"an embedding model is callable (str -> list[float]) or has embed_batch(texts); "
                            f"got {type(obj).__name__} (see ragjet.EmbedModelBase)")
        self.obj = obj
        self.batched = _has(obj, "embed_batch")

    def _own(self, name: str) -> Any:
        return getattr(self.obj, name, getattr(EmbedModelBase, name))

    @property
    def model_id(self) -> str:  # type: ignore[override]
        return str(self._own("model_id") or callable_name(self.obj))

    @property
    def dim(self) -> Optional[int]:  # type: ignore[override]
        return self._own("dim")

    @property
    def batch_size(self) -> int:  # type: ignore[override]
        return int(self._own("batch_size") or DEFAULT_BATCH_SIZE)

    @property
    def sparse(self) -> bool:  # type: ignore[override]
        return bool(self._own("sparse"))

    @property
    def content_window(self) -> Optional[int]:  # type: ignore[override]
        window = self._own("content_window")
        return window if isinstance(window, int) else None

    @property
    def truncated_count(self) -> Optional[int]:  # type: ignore[override]
        return self._own("truncated_count")

    @property
    def count_tokens(self) -> Optional[TokenCounter]:  # type: ignore[override]
        return self._own("count_tokens") if _has(self.obj, "count_tokens") else None

    def embed_batch(self, texts: Sequence[str]) -> Any:
        if self.batched:
            return self.obj.embed_batch(list(texts))
        return [self.obj(text) for text in texts]

    def embed_query(self, text: str) -> Any:
        return self.obj.embed_query(text) if _has(self.obj, "embed_query") else super().embed_query(text)

    @property
    def queries_as_texts(self) -> bool:  # type: ignore[override]
        return not _has(self.obj, "embed_query")

    def unknown_share(self, text: str) -> Optional[float]:
        return self.obj.unknown_share(text) if _has(self.obj, "unknown_share") else None

    def start(self) -> Any:
        return self.obj.start() if _has(self.obj, "start") else self.obj


def as_embed_model(obj: Any) -> EmbedModelBase:
    """``obj`` as the contract: a subclass of `EmbedModelBase` as it is, anything else through `DeclaredModel`."""
    return obj if isinstance(obj, EmbedModelBase) else DeclaredModel(obj)


def callable_name(fn: Any) -> str:
    """``module.QualName`` of a function or of an object's class: the model id of a model that gives none."""
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', '') or type(fn).__module__}.{name}"


def _has(obj: Any, name: str) -> bool:
    return callable(getattr(obj, name, None))
