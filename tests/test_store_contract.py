"""The store contract, run on all six set-ups (map in memory / SQLite, chroma embedded / HTTP, milvus Lite /
remote): reads, writes, hooks, vector search against numpy, persistence, and a Document end to end."""
from __future__ import annotations

import hashlib
import json
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np
import pytest

from conftest import CountingEmbedder
from ragjet import Document, Retriever
from ragjet.rag.doc_node import DocNode
from ragjet.rag.embedding import Embedder
from ragjet.rag.index.base import IndexBase
from ragjet.rag.index.default import DefaultIndex
from ragjet.rag.store import STORES, StoreBase, create_store
from ragjet.rag.store.locks import StoreLockedError
from store_setups import StoreSetup, chroma_server, milvus_server, skip_without, store_setup  # noqa: F401

DIM = 16
SUBJECTS = ("bio", "chem", "phys")


class RandomEmbedder:
    """Deterministic pseudo-random vectors per text: no ties, so rankings are unambiguous."""

    model_id = "random-16"
    dim = DIM

    def __call__(self, text: str) -> np.ndarray:
        seed = int(hashlib.md5(text.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)


EMBED = RandomEmbedder()


def make_nodes(n_chunks: int = 24) -> tuple[list[DocNode], list[DocNode]]:
    roots = [DocNode(uid=f"root{d}", text=f"file {d}", group="root",
                     global_metadata={"doc_id": f"/docs/f{d}.txt", "file_name": f"f{d}.txt"}) for d in range(3)]
    chunks = []
    for i in range(n_chunks):
        text = f"chunk {i} about {SUBJECTS[i % 3]}"
        chunks.append(DocNode(uid=f"c{i:02d}", text=text, group="chunk", parent=roots[i % 3],
                              metadata={"subject": SUBJECTS[i % 3], "level": i % 4, "tags": ["x", "y"]},
                              embedding={"default": EMBED(text)}))
        roots[i % 3].children.setdefault("chunk", []).append(chunks[-1])  # as node-group transforms link them
    return roots, chunks


def assert_same(got: DocNode, want: DocNode) -> None:
    assert (got.uid, got.text, got.group, got.parent_uid) == (want.uid, want.text, want.group, want.parent_uid)
    assert got.metadata == want.metadata and got.global_metadata == want.global_metadata
    assert sorted(got.embedding or {}) == sorted(want.embedding or {})
    for key, vec in (want.embedding or {}).items():
        assert np.allclose(got.embedding[key], vec, atol=1e-6)


def brute_force(nodes: list[DocNode], query: np.ndarray, topk: int,
                filters: Optional[dict[str, Any]]) -> tuple[list[str], np.ndarray]:
    def keep(n: DocNode) -> bool:
        for key, wanted in (filters or {}).items():
            value = n.metadata.get(key, n.global_metadata.get(key))
            if not (value in wanted if isinstance(wanted, list) else value == wanted):
                return False
        return True

    kept = [n for n in nodes if keep(n)]
    if not kept:
        return [], np.empty(0)
    mat = np.stack([n.embedding["default"] for n in kept])
    scores = (mat / np.linalg.norm(mat, axis=1, keepdims=True)) @ (query / np.linalg.norm(query))
    order = np.argsort(-scores)[:topk]
    return [kept[i].uid for i in order], scores[order]


class RecordingIndex(IndexBase):
    def __init__(self) -> None:
        self.updates: list[tuple[str, list[str]]] = []
        self.removes: list[tuple[list[str], Optional[str]]] = []

    def update(self, nodes: list[DocNode]) -> None:
        self.updates.append((nodes[0].group, sorted(n.uid for n in nodes)))

    def remove(self, uids: list[str], group_name: Optional[str] = None) -> None:
        self.removes.append((sorted(uids), group_name))

    def query(self, *args: Any, **kwargs: Any) -> list[DocNode]:
        return []


FILTERS = [None, {"subject": "bio"}, {"subject": ["bio", "chem"]}, {"subject": "chem", "level": [1, 3]},
           {"file_name": "f2.txt"}, {"doc_id": "/docs/f1.txt", "subject": "chem"}, {"subject": "none"},
           {"subject": []}]

CORPUS = {
    "space.txt": "Mars is called the red planet. Jupiter is the largest planet of all. The Moon orbits the Earth "
                 "every month. Saturn has bright rings of ice.",
    "food.txt": "Bread is baked from flour and water. Cheese is made from milk. Rice grows in flooded fields. "
                "Red peppers taste sweet.",
    "animals.txt": "Cats purr when they are content. Dogs bark at strangers. Parrots imitate human speech. "
                   "Owls hunt at night.",
}


class TestStoreContract:
    @pytest.fixture
    def store(self, store_setup: StoreSetup):
        store = store_setup.open()
        yield store
        store.close()

    def test_get_by_uid_group_and_doc(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        got = store.get_nodes("chunk", uids=["c05", "nope", "c01", "c17"])
        assert [n.uid for n in got] == ["c05", "c01", "c17"]
        for node in got:
            assert_same(node, chunks[int(node.uid[1:])])
        assert sorted(n.uid for n in store.get_nodes("chunk")) == sorted(n.uid for n in chunks)
        assert sorted(n.uid for n in store.get_nodes("chunk", doc_ids=["/docs/f1.txt", "/docs/none"])) == \
            [n.uid for n in chunks if n.global_metadata["doc_id"] == "/docs/f1.txt"]
        assert sorted(store.doc_uids("chunk", ["/docs/f1.txt", "/docs/none"])) == \
            [n.uid for n in chunks if n.global_metadata["doc_id"] == "/docs/f1.txt"]
        assert_same(store.get_nodes("root", uids=["root2"])[0], roots[2])
        assert store.get_nodes("missing") == [] and store.get_nodes("missing", uids=["c01"]) == []
        assert store.doc_uids("missing", ["/docs/f1.txt"]) == [] and store.doc_uids("chunk", []) == []

    def test_upsert_replaces_same_uid(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        changed = DocNode(uid="c03", text="rewritten", group="chunk", parent="root0", metadata={"subject": "geo"},
                          global_metadata=roots[0].global_metadata, embedding={"default": EMBED("rewritten")})
        store.update_nodes([changed])
        assert store.count("chunk") == len(chunks)
        assert_same(store.get_nodes("chunk", uids=["c03"])[0], changed)

    def test_remove_count_and_groups(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        assert sorted(store.groups()) == ["chunk", "root"]
        assert (store.count("root"), store.count("chunk"), store.count("missing")) == (3, 24, 0)
        assert sorted(store.remove_nodes("chunk", ["c01", "c02", "nope"])) == ["c01", "c02"]
        assert store.count("chunk") == 22 and store.get_nodes("chunk", uids=["c01"]) == []
        assert sorted(store.remove_nodes("root")) == ["root0", "root1", "root2"]
        assert store.groups() == ["chunk"] and store.count("root") == 0
        assert store.remove_nodes("root") == [] and store.remove_nodes("missing", ["x"]) == []

    def test_remove_docs(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        assert store.remove_docs(["/docs/f0.txt", "/docs/none"]) == 1 + 8
        assert store.get_nodes("chunk", doc_ids=["/docs/f0.txt"]) == []
        assert (store.count("root"), store.count("chunk")) == (2, 16)

    def test_get_children(self, store: StoreBase) -> None:
        roots, chunks = make_nodes()
        store.update_nodes(roots + chunks)
        kids = store.get_children("chunk", ["root1", "nope"])
        assert sorted(n.uid for n in kids) == [n.uid for n in chunks if n.parent_uid == "root1"]
        assert all(n.parent_uid == "root1" for n in kids)

    @pytest.mark.parametrize("topk", [5, 100])
    def test_vector_search_matches_numpy(self, store: StoreBase, topk: int) -> None:
        roots, chunks = make_nodes()
        index = DefaultIndex({"default": Embedder("default", EMBED)}, store)
        store.register_index("default", index)
        store.update_nodes(roots + chunks)
        store.update_nodes([DocNode(uid="novec", text="no vector", group="chunk", metadata={"subject": "bio"})])
        for filters in FILTERS:
            want_uids, want_scores = brute_force(chunks, EMBED("the query"), topk, filters)
            res = index.query("the query", group_name="chunk", topk=topk, filters=filters)
            assert [n.uid for n in res] == want_uids, filters
            assert np.allclose([n.similarity_score for n in res], want_scores, atol=1e-4)
            if store.supports_vector_search:
                hits = store.vector_search("chunk", "default", EMBED("the query"), topk, filters)
                assert [n.uid for n, _ in hits] == want_uids, filters
                assert np.allclose([s for _, s in hits], want_scores, atol=1e-4), filters
                assert all(n.text and n.group == "chunk" for n, _ in hits)

    def test_group_gains_an_embed_key(self, store: StoreBase) -> None:
        roots, chunks = make_nodes(6)
        store.update_nodes(roots + chunks)
        upgraded = [DocNode(uid=n.uid, text=n.text, group="chunk", parent=n.parent, metadata=n.metadata,
                            embedding={**n.embedding, "other": EMBED(n.text + " other")[:8]}) for n in chunks[:4]]
        store.update_nodes(upgraded)
        got = {n.uid: n for n in store.get_nodes("chunk")}
        assert len(got) == 6
        for node in upgraded:
            assert_same(got[node.uid], node)
        assert sorted(got["c05"].embedding) == ["default"]
        if store.supports_vector_search:
            hits = store.vector_search("chunk", "other", EMBED("q")[:8], 10)
            assert sorted(n.uid for n, _ in hits) == ["c00", "c01", "c02", "c03"]

    def test_index_hooks_see_every_write(self, store: StoreBase) -> None:
        roots, chunks = make_nodes(6)
        store.update_nodes(roots)
        rec = RecordingIndex()
        store.register_index("rec", rec)
        assert rec.updates == [("root", ["root0", "root1", "root2"])]
        store.update_nodes(chunks + [roots[0]])
        assert rec.updates[1:] == [("chunk", sorted(n.uid for n in chunks)), ("root", ["root0"])]
        store.remove_nodes("chunk", ["c01", "nope"])
        store.remove_docs(["/docs/f2.txt"])
        store.remove_nodes("root")
        assert rec.removes[0] == (["c01"], "chunk")
        assert sorted(rec.removes[1:3]) == [(["c02", "c05"], "chunk"), (["root2"], "root")]
        assert rec.removes[3] == (["root0", "root1"], "root")
        assert store.get_index("rec") is rec

    def test_persists_across_reopen(self, store_setup: StoreSetup) -> None:
        if not store_setup.persistent:
            pytest.skip("the in-memory map store forgets everything on close")
        roots, chunks = make_nodes()
        store = store_setup.open()
        store.update_nodes(roots + chunks)
        store.remove_nodes("chunk", ["c07"])
        store.close()
        store = store_setup.open()
        try:
            assert store.persistent and store.ledger_path is not None
            assert sorted(store.groups()) == ["chunk", "root"]
            got = {n.uid: n for n in store.get_nodes("chunk")}
            assert sorted(got) == sorted(n.uid for n in chunks if n.uid != "c07")
            for node in chunks:
                if node.uid != "c07":
                    assert_same(got[node.uid], node)
            assert [n.uid for n in store.get_nodes("root", uids=["root1"])] == ["root1"]
        finally:
            store.close()

    def test_dimension_mismatch_names_both(self, store: StoreBase) -> None:
        store.register_index("default", DefaultIndex({"default": Embedder("default", EMBED)}, store))
        roots, chunks = make_nodes(3)
        store.update_nodes(roots + chunks)
        bad = DocNode(uid="bad", text="bad", group="chunk", embedding={"default": np.ones(8, dtype=np.float32)})
        with pytest.raises(ValueError, match=r"(?s)(16\b.*\b8\b|\b8\b.*16\b)"):
            store.update_nodes([bad])

    def test_document_end_to_end_and_restart(self, store_setup: StoreSetup, tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        for name, text in CORPUS.items():
            (folder / name).write_text(text, encoding="utf-8")

        def retrieve(conf: dict[str, Any], cache: bool = True) -> tuple[Document, list[DocNode]]:
            doc = Document(folder, embed=CountingEmbedder(), store_conf=conf, cache=cache)
            doc.create_node_group("sentence", transform=lambda t: t.split("."), parent="MediumChunk")
            nodes = Retriever(doc, "sentence", similarity="cosine", topk=3)("which planet is red")
            return doc, nodes

        reference, want = retrieve({"type": "map"}, cache=False)
        scores = [n.similarity_score for n in reference.store.get_index("default").query(
            "which planet is red", group_name="sentence", topk=4)]
        assert scores[0] > scores[1] > scores[2] > scores[3], "the reference ranking must have no ties"

        doc, got = retrieve(store_setup.conf)
        assert [n.uid for n in got] == [n.uid for n in want]
        assert np.allclose([n.similarity_score for n in got], scores[:3], atol=1e-4)
        assert doc.stats.files_parsed == 3
        counts = {g: doc.store.count(g) for g in doc.store.groups()}
        assert counts == {g: reference.store.count(g) for g in reference.store.groups()}
        doc.store.close()
        again, got = retrieve(store_setup.conf)  # the in-memory map too, from its restart snapshot
        assert (again.stats.files_parsed, again.stats.chunks_embedded) == (0, 0)
        assert [n.uid for n in got] == [n.uid for n in want]
        assert {g: again.store.count(g) for g in again.store.groups()} == counts
        again.store.close()

    def test_document_refuses_another_dimension_and_keeps_the_store(self, store_setup: StoreSetup,
                                                                     tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        for name, text in CORPUS.items():
            (folder / name).write_text(text, encoding="utf-8")

        def start(embed: Any) -> Document:
            doc = Document(folder, embed=embed, store_conf=store_setup.conf)
            doc.create_node_group("sentence", transform=lambda t: t.split("."), parent="MediumChunk")
            Retriever(doc, "sentence", similarity="cosine", topk=3).start()
            return doc

        first = start(CountingEmbedder())
        counts = {g: first.store.count(g) for g in first.store.groups()}
        first.store.close()
        with pytest.raises(ValueError, match="64-dim.*8-dim"):  # checked before anything is written
            start(lambda text: [float(len(text))] * 8)
        again = start(CountingEmbedder())
        assert (again.stats.files_parsed, again.stats.chunks_embedded) == (0, 0)
        assert {g: again.store.count(g) for g in again.store.groups()} == counts
        again.store.close()


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


def test_milvus_refuses_oversized_text_clearly(tmp_path: Path) -> None:
    skip_without("milvus")
    from ragjet.rag.store import MilvusStore

    store = MilvusStore(str(tmp_path / "limits.db"))
    try:
        with pytest.raises(ValueError, match=r"'huge'.*70000 bytes.*65535"):
            store.update_nodes([DocNode(uid="huge", text="x" * 70000, group="g")])
        assert store.count("g") == 0
    finally:
        store.close()
