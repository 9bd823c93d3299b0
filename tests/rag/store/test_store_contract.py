"""The store contract (`ragjet.testing.store_contract`), run on all six set-ups (map in memory / SQLite, chroma
embedded / HTTP, milvus Lite / remote), and what is particular to the database stores: one process per
embedded database, optional packages, backend options."""
from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ragjet.rag.doc_node import DocNode
from ragjet.rag.store import STORES, create_store
from ragjet.rag.store.locks import StoreLockedError
from ragjet.testing.store_contract import EMBED, StoreContract, StoreMaker, make_nodes
from store_setups import StoreSetup, chroma_server, milvus_server, skip_without, store_setup  # noqa: F401


class TestStoreContract(StoreContract):
    @pytest.fixture
    def make_store(self, store_setup: StoreSetup) -> StoreMaker:
        return StoreMaker(store_setup.conf)


# -- embedded databases belong to one process -------------------------------------------------------------------
HOLD = ("import json, sys, time\nfrom ragjet.rag.store import create_store\n"
        "store = create_store(json.loads(sys.argv[1]))\nprint('ready', flush=True)\ntime.sleep(120)\n")


@pytest.mark.parametrize("kind", ["chroma", "milvus"])
def test_embedded_database_used_by_another_process_fails_fast(kind: str, tmp_path: Path) -> None:
    skip_without(kind)
    path = tmp_path / ("chroma" if kind == "chroma" else "lite.db")
    conf = {"type": kind, "kwargs": {"dir" if kind == "chroma" else "uri": str(path)}}
    holder = subprocess.Popen([sys.executable, "-c", HOLD, json.dumps(conf)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready", holder.stderr.read()
        with pytest.raises(StoreLockedError) as info:  # a non-blocking lock: it fails at once, never waits
            create_store(conf)
        assert str(path.resolve()) in str(info.value) and "serve-store" in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    create_store(conf).close()  # free again once the other process is gone


# -- optional packages -------------------------------------------------------------------------------------------
def test_import_ragjet_loads_no_database_package() -> None:
    code = "import sys, ragjet; print(sorted(m for m in ('chromadb', 'pymilvus', 'milvus_lite') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr


def test_unknown_store_lists_the_database_stores(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="chroma.*map.*milvus"):
        create_store({"type": "qdrant"})
    assert {"chroma", "milvus"} <= set(STORES.names())


@pytest.mark.parametrize("kind, module, extra", [("chroma", "chromadb", "ragjet[chroma]"),
                                                 ("milvus", "pymilvus", "ragjet[milvus]")])
def test_missing_package_names_the_extra(kind: str, module: str, extra: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    kwargs = {"dir": str(tmp_path / "c")} if kind == "chroma" else {"uri": str(tmp_path / "m.db")}
    with pytest.raises(ImportError, match=re.escape(extra)):
        create_store({"type": kind, "kwargs": kwargs})


# -- backend options -----------------------------------------------------------------------------------------------
def test_milvus_index_kwargs_fall_back_on_lite_with_one_warning(tmp_path: Path, caplog) -> None:
    skip_without("milvus")
    from ragjet.rag.store import MilvusStore

    store = MilvusStore(str(tmp_path / "idx.db"), index_kwargs=[{"embed_key": "default", "index_type": "DISKANN"},
                                                                 {"embed_key": "other", "index_type": "IVF_FLAT"}])
    try:
        _, chunks = make_nodes(6)
        for node in chunks:
            node.embedding["other"] = node.embedding["default"]
        with caplog.at_level("WARNING", logger="ragjet"):
            store.update_nodes(chunks)
            store.update_nodes([DocNode(uid="r", text="r", group="other", embedding={"default": EMBED("r")})])
        assert [r.getMessage() for r in caplog.records if "DISKANN" in r.getMessage()] == \
            [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
        assert len([r for r in caplog.records if r.levelname == "WARNING"]) == 1
        name = store._collection("chunk").name
        assert store._client.describe_index(name, "vec_default")["index_type"] == "AUTOINDEX"
        assert store._client.describe_index(name, "vec_other")["index_type"] == "IVF_FLAT"
        hits = store.vector_search("chunk", "other", EMBED(chunks[2].text), 1)
        assert [n.uid for n, _ in hits] == ["c02"]
    finally:
        store.close()
    with pytest.raises(ValueError, match="cosine"):
        MilvusStore(str(tmp_path / "l2.db"), index_kwargs={"metric_type": "L2"})


@pytest.mark.filterwarnings("ignore:legacy embedding function config:DeprecationWarning")
def test_chroma_index_kwargs_reach_the_hnsw_configuration(tmp_path: Path) -> None:
    skip_without("chroma")
    from ragjet.rag.store import ChromaStore

    store = ChromaStore(dir=str(tmp_path / "c"), index_kwargs={"ef_construction": 150, "max_neighbors": 12})
    try:
        _, chunks = make_nodes(3)
        store.update_nodes(chunks)
        hnsw = store._group("chunk").vectors["default"].configuration["hnsw"]
        assert (hnsw["space"], hnsw["ef_construction"], hnsw["max_neighbors"]) == ("cosine", 150, 12)
    finally:
        store.close()


def test_serve_store_refuses_a_busy_port(tmp_path: Path) -> None:
    from ragjet.rag.store.serve import serve_store

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(RuntimeError, match="already in use"):
            serve_store("milvus", str(tmp_path / "s.db"), busy.getsockname()[1])


def test_milvus_refuses_an_oversized_uid_clearly_and_writes_nothing(tmp_path: Path) -> None:
    skip_without("milvus")
    from ragjet.rag.store import MilvusStore

    store = MilvusStore(str(tmp_path / "limits.db"))
    try:
        with pytest.raises(ValueError, match=r"'u{70}'.*64 bytes.*shorter uids"):
            store.update_nodes([DocNode(uid="u" * 70, text="x" * 70000, group="g", embedding={"default": [0.1, 0.2]})])
        assert store.count("g") == 0
    finally:
        store.close()


# -- a proxy in the environment does not stand between ragjet and a database server on this machine -------------
@pytest.mark.parametrize("name", ["chroma-dir", "chroma-http", "milvus-lite", "milvus-remote"])
def test_a_loopback_database_server_is_reached_with_a_proxy_in_the_environment(name, request, tmp_path, corpus,
                                                                                 monkeypatch):
    """chromadb's HTTP client and pymilvus' gRPC channel take their proxy from the environment, and a company
    proxy cannot reach 127.0.0.1: "Could not connect to a Chroma server" / "Fail connecting to server" before,
    Milvus Lite included (it serves its file on a port of 127.0.0.1)."""
    import ragjet
    from store_setups import make_setup

    setup = make_setup(name, request, tmp_path)  # the server starts before the proxy is set
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(variable, f"http://127.0.0.1:{dead}")
    monkeypatch.setenv("NO_PROXY", "example.com")
    monkeypatch.delenv("no_proxy", raising=False)
    doc = ragjet.Document(corpus, store_conf=setup.conf)
    found = ragjet.Retriever(doc, "CoarseChunk", similarity="bm25", topk=1)("cheese milk")
    assert found[0].get_content().startswith("Bread is baked")
    doc.stop()


# -- a group no index embeds lies beside the vector database, not in it --------------------------------------------
DATABASE_SETUPS = ["chroma-dir", "chroma-http", "milvus-lite", "milvus-remote"]


@pytest.mark.parametrize("name", DATABASE_SETUPS)
def test_a_group_without_vectors_has_no_rows_in_the_database_and_survives_a_restart(name, request, tmp_path):
    """Whole files (the root group, 85 KB and 5 MB single lines among them) need no placeholder vector and no
    long-text parts: they lie beside the database, are read whole, change, and are deleted as other nodes."""
    from store_setups import make_setup

    conf = make_setup(name, request, tmp_path).conf
    big = "牛车水" + "字" * ((5 << 20) // 3)  # a 5 MB line
    roots = [DocNode(uid=f"r{i}", text=text, group="lazyllm_root", global_metadata={"doc_id": f"/d/{i}.txt"})
             for i, text in enumerate(["x" * 85709, big, "short"])]
    store = create_store(conf)
    try:
        store.update_nodes(roots)
        assert not store._in_database("lazyllm_root") and store.groups() == ["lazyllm_root"]
        store.update_nodes([DocNode(uid="r2", text="changed", group="lazyllm_root",
                                    global_metadata={"doc_id": "/d/2.txt"})])
    finally:
        store.close()
    again = create_store(conf)  # a restart
    try:
        assert again.count("lazyllm_root") == 3 and not again._in_database("lazyllm_root")
        got = {n.uid: n.text for n in again.get_nodes("lazyllm_root", uids=["r1", "r0", "r2"])}
        assert got == {"r1": big, "r0": "x" * 85709, "r2": "changed"}
        assert again.doc_uids("lazyllm_root", ["/d/0.txt"]) == ["r0"]
        assert again.remove_docs(["/d/0.txt", "/d/1.txt"]) == 2 and again.count("lazyllm_root") == 1
    finally:
        again.close()


@pytest.mark.parametrize("name", DATABASE_SETUPS)
def test_a_group_that_gains_vectors_moves_into_the_database_whole(name, request, tmp_path):
    """A retriever that starts embedding a group brings its nodes into the database, the old with the new."""
    from store_setups import make_setup

    store = create_store(make_setup(name, request, tmp_path).conf)
    try:
        store.update_nodes([DocNode(uid=f"n{i}", text=f"node {i}", group="g", parent="p") for i in range(3)])
        assert not store._in_database("g")
        store.update_nodes([DocNode(uid="n1", text="node 1", group="g", parent="p",
                                    embedding={"default": [1.0, 0.0, 0.0]})])
        assert store._in_database("g") and store.count("g") == 3 and store.groups() == ["g"]
        got = {n.uid: n.embedding for n in store.get_nodes("g")}
        assert sorted(got) == ["n0", "n1", "n2"] and not got["n0"] and list(got["n1"]) == ["default"]
        assert sorted(n.uid for n in store.get_children("g", ["p"])) == ["n0", "n1", "n2"]
    finally:
        store.close()
