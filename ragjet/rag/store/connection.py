"""Connecting to a vector database without making the caller wait: the optional import checked at once, the
client made on a background thread (`Deferred`), and a closed store that says so."""
from __future__ import annotations

import importlib.util
import threading
from typing import Any, Callable, Generic, Optional, TypeVar

from ...registry import missing_extra

T = TypeVar("T")


def require_extra(module: str, extra: str, package: Optional[str] = None) -> None:
    """Check that an optional dependency is installed without importing it (it is imported later, on a
    connecting thread or in a server process), or raise the ImportError that names ``ragjet[extra]``."""
    if importlib.util.find_spec(module) is None:
        raise missing_extra(package or module, extra)


class Deferred(Generic[T]):
    """A value made on a background thread, started at once and waited for at its first use.

    Why: importing a database client and opening it (chromadb ~0.9 s, pymilvus + Milvus Lite ~1 s here) is
    most of a restart, and a restart with nothing changed needs no database until the first query. The
    store checks what it can at once (arguments, extras installed, the process lock) and connects meanwhile;
    an error while connecting is raised by ``get`` (every later use), and ``on_error`` runs once first.
    """

    def __init__(self, make: Callable[[], T], name: str, on_error: Optional[Callable[[], None]] = None) -> None:
        self._make, self._on_error = make, on_error
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._make()
        except BaseException as exc:  # re-raised in the caller's thread by get()
            self._error = exc
            if self._on_error is not None:
                self._on_error()

    def get(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Whether the value is made or making it failed (the error stays for ``get``), waiting at most
        ``timeout`` seconds (None: until it is)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def dispose(self, release: Callable[[T], Any]) -> None:
        """Wait for the value and ``release`` it (nothing to release when making it failed)."""
        self._thread.join()
        if self._error is None:
            release(self._value)


class ConnectsInBackground:
    """Mixed into a store whose database client is a `Deferred` (``self._connection``; None once closed): the
    store is ready for a query once the connection is made (or has failed, which the query then raises)."""

    _connection: Optional[Deferred[Any]]

    def wait_ready(self, timeout: Optional[float] = None) -> bool:
        connection = self._connection
        return connection is None or connection.wait(timeout)


def connected(connection: Optional[Deferred[T]], store: str) -> T:
    """A store's client once connected; a closed store (``connection`` None) says so."""
    if connection is None:
        raise RuntimeError(f"this {store} store is closed")
    return connection.get()
