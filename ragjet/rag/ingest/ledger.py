"""The ingestion ledger: what a persistent store already holds, so a restart redoes only what changed.

It records each file (path, size, mtime, content hash, and whether its nodes are fully written), how its last
read went when it was skipped or repaired (so a restart that reads nothing still reports it), which node
groups were built for which files with which embed keys, each group's definition (its signature) and each
embed key's model. A file is marked *pending* before its nodes are written and *done* after, in separate
transactions: a process killed in between leaves the file pending, and the next start removes whatever of it
reached the store and ingests it again. Deterministic uids make the rewrite an overwrite, never a duplicate.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Optional, Protocol

from ...hashing import sha256_file
from ...sqlite_util import SqliteFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER, mtime REAL, sha256 TEXT, state TEXT);
CREATE TABLE IF NOT EXISTS built (grp TEXT, path TEXT, keys TEXT, PRIMARY KEY (grp, path));
CREATE TABLE IF NOT EXISTS groups (grp TEXT PRIMARY KEY, signature TEXT);
CREATE TABLE IF NOT EXISTS embed_models (key TEXT PRIMARY KEY, model TEXT, dim INTEGER);
CREATE TABLE IF NOT EXISTS read_notes (path TEXT PRIMARY KEY, category TEXT, note TEXT);
"""
PENDING, DONE = "pending", "done"


def in_scope(path: str, scope: str) -> bool:
    return path == scope or path.startswith(scope.rstrip(os.sep) + os.sep)


@dataclass
class FileState:
    path: str
    size: int
    mtime: float
    sha256: Optional[str] = None


@dataclass
class Diff:
    """How the files on disk differ from what the ledger says is stored."""

    unchanged: list[str] = field(default_factory=list)
    changed: list[FileState] = field(default_factory=list)
    added: list[FileState] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    # Files that could not be read (path, reason): skipped this time, their stored nodes kept.
    unreadable: list[tuple[str, str]] = field(default_factory=list)

    @property
    def to_ingest(self) -> list[FileState]:
        return self.changed + self.added


def _state_of(path: str) -> FileState:
    """Size and mtime (0 when the file cannot be looked at: its reader then says why)."""
    try:
        st = os.stat(path)
    except OSError:
        return FileState(path, 0, 0.0)
    return FileState(path, st.st_size, st.st_mtime)


class Ledger(Protocol):
    """What the ingestion engine asks of a ledger: `SqliteLedger` for a persistent store, `MemoryLedger` for one
    that forgets everything on exit."""

    def diff(self, paths: Iterable[str], scope: str, reread: bool = False) -> Diff:
        """The files under ``scope`` compared with what is stored (``reread``: every file counts as changed)."""

    def begin(self, files: list[FileState]) -> None:
        """Mark ``files`` pending: their nodes are about to be rewritten."""

    def finish(self, paths: list[str], built: dict[str, str]) -> None:
        """Mark ``paths`` done, with the groups (→ embed keys) now stored for them."""

    def forget(self, paths: list[str]) -> None:
        """Drop every record of ``paths`` (their nodes were removed)."""

    def done_files(self, scope: str) -> list[str]:
        """Files under ``scope`` whose nodes are fully stored."""

    def built(self, group: str) -> dict[str, str]:
        """Files whose nodes of ``group`` are stored → the embed keys they carry (comma-separated)."""

    def mark_built(self, group: str, keys_by_path: dict[str, str]) -> None:
        """Record that ``group`` is stored for these files, with these embed keys."""

    def clear_built(self, group: str) -> None:
        """Forget that ``group`` is stored for any file (it is rebuilt)."""

    def signature(self, group: str) -> Optional[str]:
        """The recorded definition of ``group``."""

    def signatures(self) -> dict[str, str]:
        """Every group ever recorded → its last definition."""

    def set_signature(self, group: str, signature: str) -> None:
        """Record a group's definition; a different one invalidates what was built for it."""

    def embed_model(self, key: str) -> Optional[tuple[str, int]]:
        """The model and dimension recorded for embed key ``key``."""

    def set_embed_model(self, key: str, model: str, dim: int) -> None:
        """Record embed key ``key``'s model and dimension."""

    def drop_embed_key(self, key: str) -> None:
        """Forget that any group carries vectors for ``key`` (its model changed)."""

    def record_reads(self, notes: dict[str, tuple[str, str]]) -> None:
        """Record how files were last read when it was not plainly: path → (skip category or ``repaired``,
        note)."""

    def read_notes(self, scope: str) -> dict[str, tuple[str, str]]:
        """The recorded read notes of the files under ``scope``."""


class SqliteLedger:
    """One SQLite file describing one document's content in one store."""

    def __init__(self, path: Path) -> None:
        self.db = SqliteFile(path, SCHEMA)

    # -- files ------------------------------------------------------------------------------------------
    def diff(self, paths: Iterable[str], scope: str, reread: bool = False) -> Diff:
        """Compare files on disk with the ledger: size and mtime first, the content hash only when they moved (or
        the file is new: ``begin`` records it). Deleted are the ledger's files under ``scope`` (the document's folder)
        that are not in ``paths``, and those elsewhere that no longer exist (another document's folder keeps its
        files while it exists); a file that cannot be read is reported unreadable and keeps what is stored of it.
        ``reread`` reports every stored file changed (what reads them changed)."""
        known, gone = {}, []
        for path, *row in self.db.conn.execute("SELECT path, size, mtime, sha256, state FROM files"):
            if in_scope(path, scope):
                known[path] = row
            elif not os.path.exists(path):  # from another folder, now gone (the folder was moved or renamed)
                gone.append(path)
        out = Diff()
        touched = []
        for path in paths:
            old = known.pop(path, None)
            size, mtime, sha, status = old if old is not None else (None, None, None, None)
            try:
                st = os.stat(path)
                if status == DONE and size == st.st_size and mtime == st.st_mtime and not reread:
                    out.unchanged.append(path)
                    continue
                state = FileState(path, st.st_size, st.st_mtime, sha256_file(path))
            except OSError as exc:  # gone since the folder was listed, or not readable
                out.unreadable.append((path, f"{type(exc).__name__}: {exc.strerror or exc}"))
                continue
            if old is None:
                out.added.append(state)
            elif status == DONE and sha == state.sha256 and not reread:
                out.unchanged.append(path)
                touched.append((st.st_size, st.st_mtime, path))
            else:
                out.changed.append(state)
        out.deleted = list(known) + gone
        if touched:
            with self.db.transaction() as conn:
                conn.executemany("UPDATE files SET size = ?, mtime = ? WHERE path = ?", touched)
        return out

    def begin(self, files: list[FileState]) -> None:
        """Mark ``files`` pending (their nodes are about to be rewritten) and forget what was built from them."""
        rows = [(f.path, f.size, f.mtime, f.sha256, PENDING) for f in files]
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
            conn.executemany("DELETE FROM built WHERE path = ?", [(f.path,) for f in files])
            conn.executemany("DELETE FROM read_notes WHERE path = ?", [(f.path,) for f in files])

    def finish(self, paths: list[str], built: dict[str, str]) -> None:
        """Mark ``paths`` done, with the groups (→ embed keys) now stored for them."""
        with self.db.transaction() as conn:
            conn.executemany("UPDATE files SET state = ? WHERE path = ?", [(DONE, p) for p in paths])
            conn.executemany("INSERT OR REPLACE INTO built VALUES (?, ?, ?)",
                             [(g, p, keys) for g, keys in built.items() for p in paths])

    def forget(self, paths: list[str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in paths])
            conn.executemany("DELETE FROM built WHERE path = ?", [(p,) for p in paths])
            conn.executemany("DELETE FROM read_notes WHERE path = ?", [(p,) for p in paths])

    def done_files(self, scope: str) -> list[str]:
        return [r[0] for r in self.db.conn.execute("SELECT path FROM files WHERE state = ?", (DONE,))
                if in_scope(r[0], scope)]

    def record_reads(self, notes: dict[str, tuple[str, str]]) -> None:
        if notes:
            with self.db.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO read_notes VALUES (?, ?, ?)",
                                 [(p, category, note) for p, (category, note) in notes.items()])

    def read_notes(self, scope: str) -> dict[str, tuple[str, str]]:
        return {path: (category, note) for path, category, note
                in self.db.conn.execute("SELECT path, category, note FROM read_notes") if in_scope(path, scope)}

    # -- groups ----------------------------------------------------------------------------------------
    def built(self, group: str) -> dict[str, str]:
        """Files whose nodes of ``group`` are stored → the embed keys they carry (comma-separated)."""
        return dict(self.db.conn.execute("SELECT path, keys FROM built WHERE grp = ?", (group,)))

    def mark_built(self, group: str, keys_by_path: dict[str, str]) -> None:
        with self.db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO built VALUES (?, ?, ?)",
                             [(group, p, k) for p, k in keys_by_path.items()])

    def clear_built(self, group: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM built WHERE grp = ?", (group,))

    def signature(self, group: str) -> Optional[str]:
        row = self.db.conn.execute("SELECT signature FROM groups WHERE grp = ?", (group,)).fetchone()
        return row[0] if row else None

    def signatures(self) -> dict[str, str]:
        """Every group ever recorded → its last definition, those not defined by this run included."""
        return dict(self.db.conn.execute("SELECT grp, signature FROM groups"))

    def set_signature(self, group: str, signature: str) -> None:
        """Record a group's definition; a different one invalidates what was built for it."""
        if self.signature(group) == signature:  # the usual restart: no write transaction
            return
        with self.db.transaction() as conn:
            old = conn.execute("SELECT signature FROM groups WHERE grp = ?", (group,)).fetchone()
            if old and old[0] != signature:
                conn.execute("DELETE FROM built WHERE grp = ?", (group,))
            conn.execute("INSERT OR REPLACE INTO groups VALUES (?, ?)", (group, signature))

    # -- embed models ------------------------------------------------------------------------------------
    def embed_model(self, key: str) -> Optional[tuple[str, int]]:
        row = self.db.conn.execute("SELECT model, dim FROM embed_models WHERE key = ?", (key,)).fetchone()
        return (row[0], row[1]) if row else None

    def set_embed_model(self, key: str, model: str, dim: int) -> None:
        with self.db.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO embed_models VALUES (?, ?, ?)", (key, model, dim))

    def drop_embed_key(self, key: str) -> None:
        """Forget that any group carries vectors for ``key`` (its model changed): they are recomputed."""
        with self.db.transaction() as conn:
            rows = conn.execute("SELECT grp, path, keys FROM built").fetchall()
            conn.executemany("UPDATE built SET keys = ? WHERE grp = ? AND path = ?",
                             [(",".join(k for k in keys.split(",") if k and k != key), g, p)
                              for g, p, keys in rows if key in keys.split(",")])
            conn.execute("DELETE FROM embed_models WHERE key = ?", (key,))


class MemoryLedger:
    """The ledger of a store that forgets everything on exit: nothing is known at start, so every file is new.
    It keeps the `Ledger` protocol, so the ingestion engine has one code path for every store."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._built: dict[str, dict[str, str]] = {}
        self._signatures: dict[str, str] = {}
        self._models: dict[str, tuple[str, int]] = {}
        self._notes: dict[str, tuple[str, str]] = {}

    def diff(self, paths: Iterable[str], scope: str, reread: bool = False) -> Diff:
        out = Diff()
        for path in paths:
            if self._files.get(path) == DONE and not reread:
                out.unchanged.append(path)
            else:
                out.added.append(_state_of(path))
        return out

    def begin(self, files: list[FileState]) -> None:
        for f in files:
            self._files[f.path] = PENDING
            self._notes.pop(f.path, None)
            for built in self._built.values():
                built.pop(f.path, None)

    def finish(self, paths: list[str], built: dict[str, str]) -> None:
        for p in paths:
            self._files[p] = DONE
        for group, keys in built.items():
            self._built.setdefault(group, {}).update(dict.fromkeys(paths, keys))

    def forget(self, paths: list[str]) -> None:
        self.begin([FileState(p, 0, 0.0) for p in paths])
        for p in paths:
            self._files.pop(p, None)

    def done_files(self, scope: str) -> list[str]:
        return [p for p, state in self._files.items() if state == DONE and in_scope(p, scope)]

    def record_reads(self, notes: dict[str, tuple[str, str]]) -> None:
        self._notes.update(notes)

    def read_notes(self, scope: str) -> dict[str, tuple[str, str]]:
        return {p: note for p, note in self._notes.items() if in_scope(p, scope)}

    def built(self, group: str) -> dict[str, str]:
        return dict(self._built.get(group, {}))

    def mark_built(self, group: str, keys_by_path: dict[str, str]) -> None:
        self._built.setdefault(group, {}).update(keys_by_path)

    def clear_built(self, group: str) -> None:
        self._built.pop(group, None)

    def signature(self, group: str) -> Optional[str]:
        return self._signatures.get(group)

    def signatures(self) -> dict[str, str]:
        return dict(self._signatures)

    def set_signature(self, group: str, signature: str) -> None:
        if self._signatures.get(group, signature) != signature:
            self.clear_built(group)
        self._signatures[group] = signature

    def embed_model(self, key: str) -> Optional[tuple[str, int]]:
        return self._models.get(key)

    def set_embed_model(self, key: str, model: str, dim: int) -> None:
        self._models[key] = (model, dim)

    def drop_embed_key(self, key: str) -> None:
        for built in self._built.values():
            for path, keys in built.items():
                built[path] = ",".join(k for k in keys.split(",") if k and k != key)
        self._models.pop(key, None)
