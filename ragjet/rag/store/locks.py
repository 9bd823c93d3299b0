"""File locks that keep an on-disk store to one user.

An embedded database (a Chroma dir, a Milvus Lite file) serves one process: `ProcessLock` turns a second
process into a clear error pointing at ``ragjet serve-store``. The in-memory map's restart snapshot serves one
process at a time: a second process catches `StoreLockedError` and goes on in memory only.
"""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import StoreBase


class StoreLockedError(RuntimeError):
    """An embedded database is already open in another process."""


class _Held:
    __slots__ = ("fd", "users")

    def __init__(self, fd: int) -> None:
        self.fd, self.users = fd, 1


_held: dict[Path, _Held] = {}
_held_lock = threading.Lock()


class ProcessLock:
    """An exclusive ``flock`` on a database's lock file for as long as any store of this process uses it.

    Stores of the same process share the lock (a restart test, two documents on one store); another process
    fails at once with `StoreLockedError`, naming the path and the server-mode fix, instead of corrupting
    the files or hanging.
    """

    def __init__(self, store: type["StoreBase"], path: str | os.PathLike) -> None:
        self.path = store.lock_file(path)
        self._released = False
        with _held_lock:
            held = _held.get(self.path)
            if held is not None:
                held.users += 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                _lock_now(fd)
            except OSError:
                os.close(fd)
                raise StoreLockedError(locked_message(store, Path(path).expanduser().resolve())) from None
            _held[self.path] = _Held(fd)

    def release(self) -> bool:
        """Drop this user of the lock; return True when it was the last one (the lock is then released)."""
        if self._released:
            return False
        self._released = True
        with _held_lock:
            held = _held.get(self.path)
            if held is None:
                return False
            held.users -= 1
            if held.users:
                return False
            del _held[self.path]
            os.close(held.fd)
            return True


def _lock_now(fd: int) -> None:
    """Take an exclusive lock on ``fd`` or raise OSError at once (never wait)."""
    if sys.platform == "win32":
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def locked_message(store: type["StoreBase"], path: Path) -> str:
    server = store.server
    if server is None:
        return f"{path} is already open in another process"
    kind, port = store.type_name(), server.port
    return (f"the {server.label} {path} is already open in another process (an embedded database serves one "
            f"process at a time). To share it, serve it once: `ragjet serve-store {kind} --path {path} --port "
            f"{port}`, then use store_conf={{'type': '{kind}', 'kwargs': {{'uri': 'http://127.0.0.1:{port}'}}}} "
            f"in every process (if that other process is such a server already, connect to its port)")
