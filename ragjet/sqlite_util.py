"""SQLite connections set up the same way everywhere: WAL journal (readers never block the writer, a crash
never corrupts committed data), a busy timeout instead of immediate lock errors, one connection per thread."""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

IN_LIST_MAX = 500  # values bound in one ``IN (...)`` list: SQLite's default limit on host parameters is 999


def placeholders(count: int) -> str:
    """``?, ?, ...``: the body of an ``IN (...)`` list of ``count`` bound values (at most `IN_LIST_MAX`)."""
    return ", ".join("?" * count)


class SqliteFileError(OSError):
    """A SQLite file that cannot be opened or created; the message names the file and what to check."""


class SqliteFile:
    """Thread-local connections to one SQLite file, created with ``schema`` on first use."""

    def __init__(self, path: Path, schema: str) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise ValueError(f"{self.path} is a folder, not a SQLite file: give a file path such as "
                             f"{self.path / 'store.sqlite'}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._schema = schema
            self._local = threading.local()
            self.conn.executescript(schema)
        except (OSError, sqlite3.Error) as exc:
            raise SqliteFileError(f"cannot open the SQLite file {self.path}: {exc}; check that its folder exists "
                                  f"and is writable, and that the disk has room") from exc

    @property
    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def transaction(self) -> "_Transaction":
        return _Transaction(self.conn)


class _Transaction:
    """``with db.transaction() as conn:`` — BEGIN IMMEDIATE … COMMIT, or ROLLBACK on error."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
