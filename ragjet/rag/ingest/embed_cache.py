"""A persistent embedding cache: (model id, text hash) → vector, in one SQLite file under ragjet's home.

It is what lets every store, the in-memory one included, restart without calling the embedding model: texts
whose vectors were computed once by the same model are looked up, not embedded. Lookups and writes are
batched (one query per batch of texts). The cache is optional: when its file cannot be opened, read or
written (a full disk, a read-only home), one warning names it and ingestion goes on without it. Dense vectors
are float32 blobs in ``vectors``; sparse ones (``{index: weight}``) are uint32 indices and float32 weights in
``sparse_vectors`` (8 bytes per term).

Questions are kept apart, in ``query_vectors``: a restart asked a question it was asked before (the lecture's
``test_store``, a user retrying) takes its vector from there and needs no model at all before it answers. Only
the latest `QUERY_ROWS` questions are kept, since unlike passages they grow with use, not with the documents.
"""
from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

from ...home import ragjet_home
from ...log import LOG
from ...sqlite_util import IN_LIST_MAX, SqliteFile, placeholders
from ..sparse_vector import SparseVector, is_sparse, pack, unpack

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    model TEXT NOT NULL, text_hash BLOB NOT NULL, dim INTEGER NOT NULL, vector BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sparse_vectors (
    model TEXT NOT NULL, text_hash BLOB NOT NULL, indices BLOB NOT NULL, weights BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS query_vectors (
    id INTEGER PRIMARY KEY, model TEXT NOT NULL, text_hash BLOB NOT NULL, vector BLOB NOT NULL,
    UNIQUE (model, text_hash));
"""
QUERY_ROWS = 10_000  # questions kept (2 KB each at 512 dimensions): the oldest go first


def text_hash(text: str) -> bytes:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class EmbeddingCache:
    """Vectors by (model id, text), float32 or sparse, shared by every document of this user."""

    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path or ragjet_home() / "embedding_cache.sqlite"
        self.hits = 0
        self.misses = 0
        self.db: Optional[SqliteFile] = None
        try:
            self.db = SqliteFile(self.path, SCHEMA)
        except (OSError, ValueError, sqlite3.Error) as exc:
            self._give_up(exc)

    def get_many(self, model: str, texts: Sequence[str],
                 sparse: bool = False) -> list[Optional[Union[np.ndarray, SparseVector]]]:
        """The cached vector of each text (sparse ones from a ``sparse`` model), or None where it is not cached."""
        hashes = [text_hash(t) for t in texts]
        found: dict[bytes, Union[np.ndarray, SparseVector]] = {}
        query = ("SELECT text_hash, indices, weights FROM sparse_vectors" if sparse else
                 "SELECT text_hash, vector FROM vectors")
        try:
            for start in range(0, len(hashes) if self.db is not None else 0, IN_LIST_MAX):
                part = hashes[start:start + IN_LIST_MAX]
                rows = self.db.conn.execute(f"{query} WHERE model = ? AND text_hash IN ({placeholders(len(part))})",
                                            (model, *part))
                for h, *blobs in rows:
                    found[h] = unpack(*blobs) if sparse else np.frombuffer(blobs[0], dtype=np.float32)
        except sqlite3.Error as exc:
            self._give_up(exc)
        out = [found.get(h) for h in hashes]
        hits = sum(v is not None for v in out)
        self.hits += hits
        self.misses += len(out) - hits
        return out

    def put_many(self, model: str, texts: Sequence[str], vectors: Union[np.ndarray, Sequence[SparseVector]]) -> None:
        """Cache ``vectors`` (a float32 matrix, or canonical sparse vectors) of ``texts``."""
        if self.db is None:
            return
        if len(vectors) and is_sparse(vectors[0]):
            sql = "INSERT OR REPLACE INTO sparse_vectors VALUES (?, ?, ?, ?)"
            rows = [(model, text_hash(t), *pack(v)) for t, v in zip(texts, vectors)]
        else:
            sql = "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)"
            rows = [(model, text_hash(t), int(v.shape[0]), np.ascontiguousarray(v, dtype=np.float32).tobytes())
                    for t, v in zip(texts, vectors)]
        try:
            with self.db.transaction() as conn:
                conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            self._give_up(exc)

    def get_query(self, model: str, text: str) -> Optional[np.ndarray]:
        """The dense vector ``model`` gave the question ``text`` before, or None."""
        if self.db is None:
            return None
        try:
            row = self.db.conn.execute("SELECT vector FROM query_vectors WHERE model = ? AND text_hash = ?",
                                       (model, text_hash(text))).fetchone()
        except sqlite3.Error as exc:
            self._give_up(exc)
            return None
        return None if row is None else np.frombuffer(row[0], dtype=np.float32)

    def put_query(self, model: str, text: str, vector: np.ndarray) -> None:
        """Keep the question's dense vector as the newest (replacing one the embedder could not use), and drop
        the oldest beyond the latest `QUERY_ROWS`."""
        if self.db is None:
            return
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        try:
            with self.db.transaction() as conn:
                conn.execute("INSERT OR REPLACE INTO query_vectors (model, text_hash, vector) VALUES (?, ?, ?)",
                             (model, text_hash(text), blob))
                conn.execute("DELETE FROM query_vectors WHERE id <= (SELECT max(id) FROM query_vectors) - ?",
                             (QUERY_ROWS,))
        except sqlite3.Error as exc:
            self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        """Warn once and go on without the cache: it only saves time."""
        self.db = None
        LOG.warning("the embedding cache %s cannot be used (%s): going on without it, so a restart embeds again; "
                    "free disk space or point RAGJET_HOME at a writable folder", self.path, exc)
