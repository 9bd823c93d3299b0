"""Chroma and Milvus connect on a background thread: building the store is quick, the first use waits for the
connection and raises its error, and a failed connection gives the embedded database's lock back."""
import importlib.util
import socket
import threading
import time

import pytest

from ragjet.rag.store import STORES, ChromaStore, MapStore, create_store
from ragjet.rag.store.connection import Deferred
from ragjet.rag.store.locks import ProcessLock
from ragjet.testing.embedders import CountingEmbedder


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



def test_configuration_errors_name_the_path_what_is_wrong_and_the_fix(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(ValueError, match=f"{folder} is a folder, not a SQLite file.*store.sqlite"):
        create_store({"type": "map", "kwargs": {"uri": str(folder)}})
    inside_a_file = tmp_path / "file.txt"
    inside_a_file.write_text("x")
    with pytest.raises(OSError, match=f"cannot open the SQLite file {inside_a_file}/store.sqlite.*writable"):
        create_store({"type": "map", "kwargs": {"uri": str(inside_a_file / "store.sqlite")}})
    if importlib.util.find_spec("chromadb"):
        with pytest.raises(ValueError, match=f"the chroma dir {inside_a_file} is a file.*give a folder"):
            create_store({"type": "chroma", "kwargs": {"dir": str(inside_a_file)}})


def test_a_closed_milvus_port_is_named_at_once():
    pytest.importorskip("pymilvus")
    port = _free_port()
    store = create_store({"type": "milvus", "kwargs": {"uri": f"http://127.0.0.1:{port}"}})
    start = time.monotonic()
    with pytest.raises(ConnectionError, match=f"no Milvus server answers at http://127.0.0.1:{port}.*serve-store"):
        store.count("sentence")
    assert time.monotonic() - start < 5  # pymilvus alone retried for 7.5 s before a channel error
    store.close()


def test_an_embedding_cache_that_cannot_be_written_warns_once_and_ingestion_goes_on(corpus, tmp_path, caplog,
                                                                                     monkeypatch):
    import sqlite3

    import ragjet
    from ragjet.rag.ingest.embed_cache import EmbeddingCache
    from ragjet.testing.embedders import CountingEmbedder

    from ragjet.sqlite_util import SqliteFile

    real = SqliteFile.transaction

    def full_for_the_cache(self):
        if self.path.name == "embedding_cache.sqlite":
            raise sqlite3.OperationalError("database or disk is full")
        return real(self)

    monkeypatch.setattr(SqliteFile, "transaction", full_for_the_cache)
    doc = ragjet.Document(corpus, embed=CountingEmbedder(), store_conf={"type": "map"})
    assert ragjet.Retriever(doc, "MediumChunk", topk=2)("red planet")
    warnings = [r.getMessage() for r in caplog.records if "embedding cache" in r.getMessage()]
    assert len(warnings) == 1 and "database or disk is full" in warnings[0] and "RAGJET_HOME" in warnings[0]
    assert str(EmbeddingCache().path) in warnings[0]


class ConnectsWhenTold(MapStore):
    """A map store that is ready for queries only when the test says, as a database client connecting."""

    connected = threading.Event()

    def wait_ready(self, timeout=None) -> bool:
        return self.connected.wait(timeout)


STORES.register("connects_when_told", ConnectsWhenTold)


class Loading(CountingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.loaded = threading.Event()

    def start(self):
        self.loaded.set()
        return self


def test_the_embedding_model_loads_once_the_store_is_ready_and_no_retrieval_runs(corpus):
    """A restart asked a question seen before needs the store alone: the model's load (the same interpreter)
    waits for the store's connection and for the retrieval instead of slowing them down."""
    import ragjet

    model = Loading()
    doc = ragjet.Document(corpus, embed=model, store_conf={"type": "connects_when_told"})
    ragjet.Retriever(doc, "MediumChunk", similarity="bm25").start()
    with doc.warm_up.held_off():  # a retrieval in flight
        assert not model.loaded.wait(0.3)
        ConnectsWhenTold.connected.set()
        assert not model.loaded.wait(0.3)
    assert model.loaded.wait(10)
