"""A contiguous float32 matrix of unit vectors for one (group, embed key), updated in place.

Cosine similarity of a query against every row is then one BLAS matrix-vector product and the top-k one
``argpartition``: no Python loop over nodes per query (LazyLLM's map store spends 65 µs per node there).
Rows are appended into spare capacity (amortised O(1)) and deleted by moving the last row into the hole.
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np


def remove_rows(uids: list[str], pos: dict[str, int], gone: Sequence[str], move: Callable[[int, int], None]) -> int:
    """Delete the rows of ``gone`` by moving the last row into each hole: ``uids`` (row → uid) and ``pos``
    (uid → row) are updated here, the caller's storage by ``move(row, last)``; unknown uids are skipped.
    Return how many rows were removed (the storage past ``len(uids)`` is then stale)."""
    removed = 0
    for uid in gone:
        row = pos.pop(uid, None)
        if row is None:
            continue
        last = len(uids) - 1
        if row != last:
            moved = uids[last]
            move(row, last)
            uids[row] = moved
            pos[moved] = row
        uids.pop()
        removed += 1
    return removed


class DenseMatrix:
    """Unit-normalised vectors addressed by uid."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.dim = dim
        self._mat = np.empty((max(capacity, 16), dim), dtype=np.float32)
        self.uids: list[str] = []
        self._pos: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.uids)

    @property
    def matrix(self) -> np.ndarray:
        """The live rows (a view, no copy)."""
        return self._mat[: len(self.uids)]

    def upsert(self, uids: Sequence[str], vectors: np.ndarray) -> None:
        self._write(uids, self.unit_rows(uids, vectors))

    def unit_rows(self, uids: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as unit float32 rows, one per uid, checked against the index dimension."""
        vecs = normalise(np.asarray(vectors, dtype=np.float32).reshape(len(uids), -1))
        if vecs.shape[1] != self.dim:
            raise ValueError(f"vector dimension {vecs.shape[1]} does not match the index dimension {self.dim}")
        return vecs

    def _write(self, uids: Sequence[str], vecs: np.ndarray) -> None:
        """Store unit rows ``vecs``: in place for known uids, appended for new ones."""
        fresh_rows, fresh_uids = [], []
        for i, uid in enumerate(uids):
            row = self._pos.get(uid)
            if row is None:
                fresh_rows.append(i)
                fresh_uids.append(uid)
            else:
                self._mat[row] = vecs[i]
        if not fresh_uids:
            return
        start, end = len(self.uids), len(self.uids) + len(fresh_uids)
        if end > self._mat.shape[0]:
            grown = np.empty((max(end, 2 * self._mat.shape[0]), self.dim), dtype=np.float32)
            grown[:start] = self._mat[:start]
            self._mat = grown
        self._mat[start:end] = vecs[fresh_rows]
        for offset, uid in enumerate(fresh_uids):
            self._pos[uid] = start + offset
        self.uids.extend(fresh_uids)

    def remove(self, uids: Sequence[str]) -> None:
        remove_rows(self.uids, self._pos, uids, self._move)

    def _move(self, row: int, last: int) -> None:
        self._mat[row] = self._mat[last]

    def search(self, query: np.ndarray, topk: int, mask: Optional[np.ndarray] = None) -> tuple[list[str], np.ndarray]:
        """The ``topk`` rows by cosine with ``query`` (best first), optionally only rows where ``mask``."""
        n = len(self.uids)
        if n == 0 or topk <= 0:
            return [], np.empty(0, dtype=np.float32)
        scores = self.matrix @ normalise(np.asarray(query, dtype=np.float32).reshape(-1))
        if mask is not None:
            scores = np.where(mask, scores, -np.inf)
        return top_k(self.uids, scores, topk)


def normalise(vecs: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vecs, axis=-1, keepdims=True)
    return vecs / np.where(norms == 0, 1, norms)


def top_k(uids: Sequence[str], scores: np.ndarray, topk: int) -> tuple[list[str], np.ndarray]:
    """Best ``topk`` of ``scores`` in descending order (argpartition, then a sort of k items only)."""
    n = len(scores)
    if topk < n:
        idx = np.argpartition(-scores, topk - 1)[:topk]
        idx = idx[np.argsort(-scores[idx], kind="stable")]
    else:
        idx = np.argsort(-scores, kind="stable")
    idx = idx[np.isfinite(scores[idx])]
    return [uids[i] for i in idx], scores[idx]
