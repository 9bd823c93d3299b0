"""How the RAG layer calls any embedder: batched, checked and identified.

``Document(embed=...)`` accepts a ragjet model (which embeds a whole batch in one call through
``embed_batch``), any callable ``str -> list[float]`` (called per text), or a dict of them keyed by embed key.
`Embedder` hides the difference, turns results into float32 matrices, and stops a model whose vectors change
length, naming both lengths.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np

DEFAULT_EMBED_KEY = "default"
QUERY_MEMORY = 256  # recent query vectors kept per embedder


class Embedder:
    """One embed key's model, seen as ``texts -> (n, dim) float32``."""

    def __init__(self, key: str, fn: Callable[..., Any]) -> None:
        if not callable(fn) and not hasattr(fn, "embed_batch"):
            raise TypeError(f"embed {key!r} must be callable (str -> list[float]), got {type(fn).__name__}")
        self.key = key
        self.fn = fn
        self._batch = getattr(fn, "embed_batch", None)
        self.batch_size: int = int(getattr(fn, "batch_size", 32) or 32)
        self.model_id: str = str(getattr(fn, "model_id", None) or _callable_name(fn))
        self.dim: Optional[int] = getattr(fn, "dim", None)
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()
        self._queries: dict[str, Future] = {}

    @property
    def batched(self) -> bool:
        return self._batch is not None

    @property
    def token_counter(self) -> Optional[Callable[[list[str]], list[int]]]:
        """The model's own token counter, when it has one (used to size chunks in model tokens)."""
        return getattr(self.fn, "count_tokens", None)

    @property
    def truncated_count(self) -> Optional[int]:
        """How many texts the model truncated so far, when it reports it."""
        return getattr(self.fn, "truncated_count", None)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``: one model call when the model batches, else one call per text."""
        if not texts:
            return np.empty((0, self.dim or 0), dtype=np.float32)
        raw = self._batch(list(texts)) if self._batch is not None else [self.fn(t) for t in texts]
        return self._check(raw, len(texts))

    def embed_query(self, text: str) -> np.ndarray:
        """One query's vector. Recent queries are remembered and a query being embedded by another thread is
        waited for, not embedded again: the lecture's parallel routes all embed the same question."""
        with self._query_lock:
            pending = self._queries.get(text)
            owner = pending is None
            if owner:
                pending = self._queries[text] = Future()
                while len(self._queries) > QUERY_MEMORY:
                    self._queries.pop(next(iter(self._queries)))
        if owner:
            try:
                pending.set_result(self.embed_batch([text])[0])
            except BaseException as exc:
                with self._query_lock:
                    self._queries.pop(text, None)
                pending.set_exception(exc)
        return pending.result()

    def _check(self, raw: Any, expected: int) -> np.ndarray:
        if isinstance(raw, np.ndarray) and raw.ndim == 2:
            arr = raw.astype(np.float32, copy=False)
        else:
            lengths = sorted({len(v) for v in raw})
            if len(lengths) > 1:
                raise ValueError(f"embed {self.key!r} ({self.model_id}) returned vectors of different lengths: "
                                 f"{lengths[0]} and {lengths[-1]}")
            arr = np.asarray(raw, dtype=np.float32).reshape(len(raw), -1)
        if arr.shape[0] != expected:
            raise ValueError(f"embed {self.key!r} returned {arr.shape[0]} vectors for {expected} texts")
        with self._lock:
            if self.dim is None:
                self.dim = int(arr.shape[1])
            elif arr.shape[1] != self.dim:
                raise ValueError(f"embed {self.key!r} ({self.model_id}) returned vectors of different lengths: "
                                 f"{self.dim} and {arr.shape[1]}")
        return arr


def make_embedders(embed: Any) -> dict[str, Embedder]:
    """``None`` → no embedder; a model or callable → key ``default``; a dict → one per key."""
    if embed is None:
        return {}
    if isinstance(embed, Mapping):
        return {str(k): Embedder(str(k), v) for k, v in embed.items()}
    return {DEFAULT_EMBED_KEY: Embedder(DEFAULT_EMBED_KEY, embed)}


def _callable_name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{getattr(fn, '__module__', '') or type(fn).__module__}.{name}"
