"""How the RAG layer calls any embedder: batched, checked and identified.

``Document(embed=...)`` accepts a ragjet model (which embeds a whole batch in one call through
``embed_batch``), any callable ``str -> list[float]`` (called per text), or a dict of them keyed by embed key.
`Embedder` hides the difference, turns results into float32 matrices, and stops a model whose vectors change
length, naming both lengths.

A model declaring ``sparse = True`` (`ragjet.BM25SparseEmbedding`, or yours) returns ``{index: weight}`` dicts
instead: its embed key is *sparse*, `embed_batch` gives a list of canonical dicts
(`ragjet.rag.sparse_vector`) and the dimension recorded for it is `SPARSE_DIM`. A model with its own
``embed_query(text)`` (an asymmetric model: BM25 weighs query terms by IDF, not by term frequency) is asked
that for queries; any other model embeds a query as a one-text batch, and its query vectors are kept in the
persistent embedding cache (`remember_queries`): a restart asked a question seen before answers without
loading the model.
"""
from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional, Sequence, Union

import numpy as np

from ..models.embed.embed_model import EmbedModelBase, TokenCounter, as_embed_model
from .doc_node import MetadataMode
from .sparse_vector import SPARSE_DIM, SparseVector, as_sparse, is_sparse

if TYPE_CHECKING:
    from .doc_node import DocNode
    from .ingest.embed_cache import EmbeddingCache

Vectors = Union[np.ndarray, list[SparseVector]]  # (n, dim) float32, or n sparse vectors
DEFAULT_EMBED_KEY = "default"
LAZYLLM_DEFAULT_KEY = "__default__"  # LazyLLM's name for the key of ``Document(embed=model)``: the same key
QUERY_MEMORY = 256  # recent query vectors kept per embedder
BLIND_SHARE = 0.25  # a model that reads more of a text than this as unknown tokens cannot judge it


class Embedder:
    """One embed key's model, seen as ``texts -> (n, dim) float32`` (or ``texts -> n sparse dicts``). The model
    is taken through the embedder contract (`ragjet.models.embed.embed_model`): what it declares is its own, and the
    contract's defaults fill the rest."""

    def __init__(self, key: str, fn: Any) -> None:
        try:
            self.model: EmbedModelBase = as_embed_model(fn)
        except TypeError as exc:
            raise TypeError(f"embed {key!r}: {exc}") from None
        self.key = key
        self.batch_size: int = self.model.batch_size
        self.model_id: str = self.model.model_id
        self.sparse: bool = self.model.sparse
        self.dim: Optional[int] = SPARSE_DIM if self.sparse else self.model.dim
        self._lock = threading.Lock()
        self._query_lock = threading.Lock()
        self._queries: dict[str, Future] = {}
        self._query_cache: Optional["EmbeddingCache"] = None

    def remember_queries(self, cache: Optional["EmbeddingCache"]) -> None:
        """Keep query vectors in ``cache`` across processes, where a query's vector depends on the model and
        the text alone (a dense model that embeds queries as any text); other models are always asked."""
        self._query_cache = cache if self.model.queries_as_texts and not self.sparse else None

    def __call__(self, text: str) -> list[float] | SparseVector:
        """One text's vector, as LazyLLM's embed callables return it (``docs.get_embed()[key](query)`` in a
        custom index)."""
        vec = self.embed_query(text)
        return vec if self.sparse else vec.tolist()

    def reads(self, text: str) -> bool:
        """Whether the model can read ``text``: at most `BLIND_SHARE` of its tokens unknown to the model's
        vocabulary (a model that does not say is taken to read everything)."""
        share = self.model.unknown_share(text)
        return share is None or share <= BLIND_SHARE

    @property
    def token_counter(self) -> Optional[TokenCounter]:
        """The model's own token counter, when it has one (used to size chunks in model tokens)."""
        return self.model.count_tokens

    @property
    def content_window(self) -> Optional[int]:
        """How many tokens of text the model reads, when it says (special tokens excluded)."""
        return self.model.content_window

    @property
    def truncated_count(self) -> Optional[int]:
        """How many texts the model truncated so far, when it reports it."""
        return self.model.truncated_count

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Vectors for ``texts``: one model call when the model batches, else one call per text."""
        if not texts:
            return [] if self.sparse else np.empty((0, self.dim or 0), dtype=np.float32)
        raw = self.model.embed_batch(list(texts))
        return self._check_sparse(raw, len(texts)) if self.sparse else self._check(raw, len(texts))

    def embed_query(self, text: str) -> np.ndarray | SparseVector:
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
                pending.set_result(self._embed_one_query(text))
            except BaseException as exc:
                with self._query_lock:
                    self._queries.pop(text, None)
                pending.set_exception(exc)
        return pending.result()

    def _embed_one_query(self, text: str) -> np.ndarray | SparseVector:
        cache = self._query_cache
        known = cache.get_query(self.model_id, text) if cache is not None else None
        if known is not None and (self.dim is None or len(known) == self.dim):
            return self._check([known], 1)[0]
        raw = [self.model.embed_query(text)]
        vector = (self._check_sparse(raw, 1) if self.sparse else self._check(raw, 1))[0]
        if cache is not None:
            cache.put_query(self.model_id, text, vector)
        return vector

    def _check_sparse(self, raw: Any, expected: int) -> list[SparseVector]:
        vectors = [as_sparse(v, f"a vector of embed {self.key!r} ({self.model_id})") for v in raw]
        if len(vectors) != expected:
            raise ValueError(f"embed {self.key!r} returned {len(vectors)} vectors for {expected} texts")
        return vectors

    def _check(self, raw: Any, expected: int) -> np.ndarray:
        if isinstance(raw, np.ndarray) and raw.ndim == 2:
            arr = raw.astype(np.float32, copy=False)
        else:
            if len(raw) and is_sparse(raw[0]):
                raise TypeError(f"embed {self.key!r} ({self.model_id}) returned sparse vectors ({{index: weight}}); "
                                f"give the model a `sparse = True` attribute so ragjet treats its key as sparse")
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


def comparable(embedders: Mapping[str, Embedder], keys: Iterable[str]) -> bool:
    """Whether scores over ``keys`` can be compared: all dense (cosines) or all sparse (inner products)."""
    return len({embedders[key].sparse for key in keys if key in embedders}) <= 1


def make_embedders(embed: Any) -> dict[str, Embedder]:
    """``None`` → no embedder; a model or callable → key ``default``; a dict → one per key."""
    if embed is None:
        return {}
    if isinstance(embed, Mapping):
        return {str(k): Embedder(str(k), v) for k, v in embed.items()}
    return {DEFAULT_EMBED_KEY: Embedder(DEFAULT_EMBED_KEY, embed)}


def parallel_do_embedding(embed: Mapping[str, Any], embed_keys: Optional[Iterable[str]], nodes: list["DocNode"],
                          group_embed_keys: Optional[Mapping[str, Iterable[str]]] = None) -> list["DocNode"]:
    """LazyLLM's helper for custom indexes: give ``nodes`` the vectors they lack, ``node.embedding[key]``.

    The keys of a node are ``group_embed_keys[its group]`` (a group it does not name is left alone), else
    ``embed_keys``, else every key of ``embed``; a vector the node already has is kept, and LazyLLM's
    ``"__default__"`` is ragjet's ``"default"`` (its vector is shared, not computed twice). Each key's missing
    texts go to its model in batches (`Embedder.embed_batch`), not one call per node. Returns the nodes that
    gained a vector."""
    embedders = {key: fn if isinstance(fn, Embedder) else Embedder(key, fn) for key, fn in embed.items()}
    todo: dict[str, list[DocNode]] = {}
    changed: dict[int, DocNode] = {}
    for node in nodes:
        if group_embed_keys is not None:
            keys = list(group_embed_keys.get(node._group) or ())
            if not keys:
                continue
        else:
            keys = list(embed_keys or ()) or list(embedders)
        for key in keys:
            have = node.embedding or {}
            if key in have:
                continue
            same = next((k for k in _same_keys(key) if k in have), None)
            if same is not None:
                node.embedding = {**have, key: have[same]}
                changed[id(node)] = node
            else:
                todo.setdefault(key, []).append(node)
    for key, batch in todo.items():
        vectors = embedders[_model_key(key, embedders)].embed_batch([n.get_text(MetadataMode.EMBED) for n in batch])
        for node, vec in zip(batch, vectors):
            node.embedding = {**(node.embedding or {}), key: vec}
            changed[id(node)] = node
    return list(changed.values())


def _same_keys(key: str) -> tuple[str, ...]:
    """The names a vector of ``key`` may be stored under (LazyLLM's and ragjet's default key are one)."""
    defaults = (DEFAULT_EMBED_KEY, LAZYLLM_DEFAULT_KEY)
    return defaults if key in defaults else (key,)


def _model_key(key: str, embedders: Mapping[str, Embedder]) -> str:
    found = next((k for k in _same_keys(key) if k in embedders), None)
    if found is not None:
        return found
    raise KeyError(f"no embed model for key {key!r}; the embed dict has: {', '.join(embedders) or '(none)'}")
