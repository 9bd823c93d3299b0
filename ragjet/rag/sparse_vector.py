"""Sparse vectors: ``{index: weight}`` dicts, checked, compared, and packed as bytes.

A sparse embed key (a model with ``sparse = True``, such as `ragjet.BM25SparseEmbedding`) gives every text a
dict from term index to weight instead of a float32 array. This module is the one place that knows the form:
indices are integers in ``[0, 2**32 - 1)`` (Milvus's range), weights finite float32 values, zeros dropped,
indices sorted. Weights are rounded to float32 on the way in, so a vector read back from SQLite or the
embedding cache (``uint32`` indices + ``float32`` weights) equals the one first computed, and so do scores.

Sparse vectors have no fixed dimension; where a dimension is recorded (the ingestion ledger, a store's
schema), `SPARSE_DIM` (0) stands for "sparse".
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

SparseVector = dict[int, float]
SPARSE_DIM = 0  # the recorded "dimension" of a sparse embed key
INDEX_LIMIT = 2 ** 32 - 1  # indices are below this (Milvus's sparse index range)


def is_sparse(vec: Any) -> bool:
    return isinstance(vec, Mapping)


def as_sparse(vec: Any, what: str = "a sparse vector") -> SparseVector:
    """``vec`` (a mapping of integer indices to numbers) in canonical form, or a TypeError/ValueError naming
    ``what`` (say, the embed key and model that produced it)."""
    if not is_sparse(vec):
        raise TypeError(f"{what} must be a mapping {{index: weight}}, got {type(vec).__name__}")
    try:
        indices = np.fromiter(vec.keys(), dtype=np.int64, count=len(vec))
        weights = np.fromiter(vec.values(), dtype=np.float32, count=len(vec))
    except (TypeError, ValueError, OverflowError):
        raise TypeError(f"{what} must map integer indices to numbers, got {dict(list(vec.items())[:3])!r}...") \
            from None
    if indices.size and (indices.min() < 0 or indices.max() >= INDEX_LIMIT):
        raise ValueError(f"{what} has an index outside [0, 2**32 - 1): {int(indices.min())}..{int(indices.max())}")
    if not np.isfinite(weights).all():
        raise ValueError(f"{what} has a weight that is not finite")
    keep = weights != 0
    order = np.argsort(indices[keep], kind="stable")
    return dict(zip(indices[keep][order].tolist(), weights[keep][order].tolist()))


def vector_dim(vec: Any) -> int:
    """The dimension of a dense vector, or `SPARSE_DIM` for a sparse one."""
    return SPARSE_DIM if is_sparse(vec) else int(np.shape(vec)[-1])


def describe_dim(dim: int) -> str:
    """``'384-dim'`` or ``'sparse'``: how error messages name a kind of vector."""
    return "sparse" if dim == SPARSE_DIM else f"{dim}-dim"


def pack(vec: SparseVector) -> tuple[bytes, bytes]:
    """A canonical sparse vector as (uint32 indices, float32 weights) bytes: 8 bytes per term."""
    return (np.fromiter(vec.keys(), dtype=np.uint32, count=len(vec)).tobytes(),
            np.fromiter(vec.values(), dtype=np.float32, count=len(vec)).tobytes())


def unpack(indices: bytes, weights: bytes) -> SparseVector:
    """The sparse vector `pack` made these bytes from."""
    return dict(zip(np.frombuffer(indices, dtype=np.uint32).tolist(),
                    np.frombuffer(weights, dtype=np.float32).tolist()))


def as_arrays(vec: SparseVector) -> tuple[np.ndarray, np.ndarray]:
    """(int64 indices, float32 weights) of a canonical sparse vector."""
    return (np.fromiter(vec.keys(), dtype=np.int64, count=len(vec)),
            np.fromiter(vec.values(), dtype=np.float32, count=len(vec)))


def inner_products(query: SparseVector, vectors: Sequence[SparseVector]) -> np.ndarray:
    """``query · v`` for each of ``vectors`` (float32); ``-inf`` where they share no index, as a sparse
    inverted index (Milvus's, the default index's) returns only vectors that share a term with the query."""
    scores = np.full(len(vectors), -np.inf, dtype=np.float32)
    for row, vec in enumerate(vectors):
        shared = [weight * vec[i] for i, weight in query.items() if i in vec]
        if shared:
            scores[row] = sum(shared)
    return scores
