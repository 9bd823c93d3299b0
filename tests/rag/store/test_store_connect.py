"""Chroma and Milvus connect on a background thread: building the store is quick, the first use waits for the
connection and raises its error, and a failed connection gives the embedded database's lock back."""
import socket

import pytest

from ragjet.rag.store import ChromaStore, create_store
from ragjet.rag.store.connection import Deferred
from ragjet.rag.store.locks import ProcessLock


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_deferred_value_error_and_cleanup():
    cleaned = []
    ok = Deferred(lambda: 42, "ok")
    assert ok.get() == 42 and ok.get() == 42
    failing = Deferred(lambda: 1 / 0, "failing", on_error=lambda: cleaned.append(True))
    for _ in range(2):  # every use raises the same error
        with pytest.raises(ZeroDivisionError):
            failing.get()
    assert cleaned == [True]
    released = []
    failing.dispose(released.append)
    ok.dispose(released.append)
    assert released == [42]


def test_chroma_server_down_fails_at_first_use_not_at_construction():
    pytest.importorskip("chromadb")
    store = create_store({"type": "chroma", "kwargs": {"uri": f"http://127.0.0.1:{_free_port()}"}})
    with pytest.raises(Exception, match="(?i)connect"):
        store.count("sentence")
    store.close()


def test_failed_embedded_connection_releases_the_lock(tmp_path, monkeypatch):
    pytest.importorskip("chromadb")
    import chromadb

    def broken(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(chromadb, "PersistentClient", broken)
    path = tmp_path / "chroma"
    store = create_store({"type": "chroma", "kwargs": {"dir": str(path)}})
    with pytest.raises(OSError, match="disk on fire"):
        store.count("sentence")
    ProcessLock(ChromaStore, path).release()  # free again: taking it does not raise
    store.close()

