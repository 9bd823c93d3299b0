"""The sparse vectors of one (group, embed key), searched by inner product through an inverted index.

What `DenseMatrix` is to dense keys: rows addressed by uid, written in place and deleted by moving the last
row into the hole. A query scores only the rows that share a term with it: the inverted index (for each
term, the rows holding it and their weights, in flat arrays) is built on the first search after a write, in
one ``argsort`` over every stored weight, then each query term is a binary search and one vectorised add.
Rows sharing no term with the query are not returned, as Milvus's sparse index does not return them.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..sparse_vector import SparseVector, as_arrays
from .dense import remove_rows, top_k


@dataclass(frozen=True)
class _Postings:
    """Every stored weight, grouped by term: the rows of ``terms[i]`` are ``rows[starts[i]:starts[i + 1]]``."""

    terms: np.ndarray
    starts: np.ndarray
    rows: np.ndarray
    weights: np.ndarray


class SparseMatrix:
    """Sparse vectors addressed by uid, with an inner-product search."""

    def __init__(self) -> None:
        self.uids: list[str] = []
        self._pos: dict[str, int] = {}
        self._rows: list[tuple[np.ndarray, np.ndarray]] = []
        self._postings: Optional[_Postings] = None
        self._build_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.uids)

    def upsert(self, uids: Sequence[str], vectors: Sequence[SparseVector]) -> None:
        """Store ``vectors`` (canonical sparse vectors, one per uid): in place for known uids, else appended."""
        for uid, vec in zip(uids, vectors):
            row = self._pos.get(uid)
            if row is None:
                self._pos[uid] = len(self.uids)
                self.uids.append(uid)
                self._rows.append(as_arrays(vec))
            else:
                self._rows[row] = as_arrays(vec)
        self._postings = None

    def remove(self, uids: Sequence[str]) -> None:
        if remove_rows(self.uids, self._pos, uids, self._move):
            del self._rows[len(self.uids):]
            self._postings = None

    def _move(self, row: int, last: int) -> None:
        self._rows[row] = self._rows[last]

    def search(self, query: SparseVector, topk: int, mask: Optional[np.ndarray] = None, *, exact: bool = False,
               ef: Optional[int] = None) -> tuple[list[str], np.ndarray]:
        """The ``topk`` rows by inner product with ``query`` (best first) among those sharing a term with it,
        optionally only rows where ``mask``. The search is always exact: ``exact`` and ``ef`` (the dense
        matrices' HNSW options) change nothing here."""
        n = len(self.uids)
        if n == 0 or topk <= 0 or not query:
            return [], np.empty(0, dtype=np.float32)
        postings = self._index()
        q_terms, q_weights = as_arrays(query)
        at = np.searchsorted(postings.terms, q_terms)
        found = at < len(postings.terms)
        found[found] = postings.terms[at[found]] == q_terms[found]
        scores = np.zeros(n, dtype=np.float32)
        touched = np.zeros(n, dtype=bool)
        for i, weight in zip(at[found].tolist(), q_weights[found].tolist()):
            rows = postings.rows[postings.starts[i]:postings.starts[i + 1]]
            scores[rows] += weight * postings.weights[postings.starts[i]:postings.starts[i + 1]]
            touched[rows] = True
        if mask is not None:
            touched &= mask
        return top_k(self.uids, np.where(touched, scores, -np.inf), topk)

    def _index(self) -> _Postings:
        """The inverted index of the current rows (built once per change; a row holds each term once, so a
        term's rows are distinct and one fancy-indexed add per query term is exact)."""
        postings = self._postings
        if postings is not None:
            return postings
        with self._build_lock:
            if self._postings is None:
                lengths = np.fromiter((len(t) for t, _ in self._rows), dtype=np.int64, count=len(self._rows))
                terms = np.concatenate([t for t, _ in self._rows]) if self._rows else np.empty(0, np.int64)
                weights = np.concatenate([w for _, w in self._rows]) if self._rows else np.empty(0, np.float32)
                rows = np.repeat(np.arange(len(self._rows), dtype=np.int64), lengths)
                order = np.argsort(terms, kind="stable")
                unique, starts = np.unique(terms[order], return_index=True)
                self._postings = _Postings(unique, np.append(starts, len(order)), rows[order], weights[order])
            return self._postings
