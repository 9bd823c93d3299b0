"""HNSW search in the default index: agreement with exact search, incremental changes, persistence, 'exact'."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from ragjet import Document, Retriever
from ragjet.rag.doc_node import DocNode
from ragjet.rag.embedding import Embedder
from ragjet.rag.index import ann
from ragjet.rag.index.ann import AnnConfig, AnnMatrix
from ragjet.rag.index.default import DefaultIndex
from ragjet.rag.store import MapStore
from conftest import CountingEmbedder

pytest.importorskip("faiss", reason="needs faiss-cpu (pip install faiss-cpu)")

DIM = 48


def embedding_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Vectors with a decaying spectrum, like text embeddings (isotropic noise has no near neighbours)."""
    scale = np.arange(1, DIM + 1, dtype=np.float32) ** -0.8
    vecs = rng.standard_normal((n, DIM)).astype(np.float32) * scale
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def _index(vectors: np.ndarray, queries: dict[str, np.ndarray], threshold: int, **config):
    store = MapStore()
    index = DefaultIndex({"default": Embedder("default", queries.__getitem__)}, store,
                         ann=AnnConfig(threshold=threshold, **config))
    store.register_index("default", index)
    store.update_nodes(_nodes(vectors))
    return store, index


def _nodes(vectors: np.ndarray, start: int = 0) -> list[DocNode]:
    return [DocNode(uid=f"n{start + i}", text=f"t{start + i}", group="g", embedding={"default": v})
            for i, v in enumerate(vectors)]


def _uids(nodes: list[DocNode]) -> list[str]:
    return [n.uid for n in nodes]


def _scores(nodes: list[DocNode]) -> list[float]:
    return [n.similarity_score for n in nodes]


def test_ann_and_exact_agree_on_small_data():
    rng = np.random.default_rng(0)
    vectors = embedding_like(rng, 3000)
    queries = {f"q{i}": v for i, v in enumerate(embedding_like(rng, 30))}
    _, index = _index(vectors, queries, threshold=500)
    matrix = index.matrix("g")
    assert matrix.ann_active and matrix.builds == 1
    overlap = []
    for name in queries:
        approx = index.query(name, group_name="g", topk=10)
        exact = index.query(name, group_name="g", topk=10, exact=True)
        overlap.append(len(set(_uids(approx)) & set(_uids(exact))) / 10)
        if approx[0].uid == exact[0].uid:
            assert approx[0].similarity_score == pytest.approx(exact[0].similarity_score, abs=1e-5)
    assert np.mean(overlap) >= 0.9
    wide = index.query("q0", group_name="g", topk=10, ef=400)
    assert len(wide) == 10


def test_below_threshold_or_off_stays_exact(monkeypatch):
    rng = np.random.default_rng(1)
    _, index = _index(embedding_like(rng, 200), {}, threshold=500)
    assert not index.matrix("g").ann_active
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "off")
    assert AnnConfig.from_env().threshold is None
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "1_000")
    monkeypatch.setenv("RAGJET_ANN_EF", "64")
    assert AnnConfig.from_env() == AnnConfig(threshold=1000, ef=64)
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "many")
    with pytest.raises(ValueError, match="RAGJET_ANN_THRESHOLD"):
        AnnConfig.from_env()


def test_incremental_add_update_and_remove():
    rng = np.random.default_rng(2)
    vectors = embedding_like(rng, 1000)
    extra = embedding_like(rng, 100)
    queries = {f"x{i}": v for i, v in enumerate(extra)} | {f"n{i}": v for i, v in enumerate(vectors)}
    store, index = _index(vectors, queries, threshold=500)
    matrix = index.matrix("g")

    store.update_nodes(_nodes(extra, start=1000))  # added to the graph, not rebuilt
    assert matrix.builds == 1 and len(matrix) == 1100
    assert all(index.query(f"x{i}", group_name="g", topk=1)[0].uid == f"n{1000 + i}" for i in range(0, 100, 7))

    moved = DocNode(uid="n5", text="t5", group="g", embedding={"default": extra[3]})
    store.update_nodes([moved])  # same uid, new vector: the old label is retired
    assert {n.uid for n in index.query("x3", group_name="g", topk=2)} == {"n5", "n1003"}
    assert "n5" not in _uids(index.query("n5", group_name="g", topk=5))

    gone = [f"n{i}" for i in range(10, 60)]
    store.remove_nodes("g", gone)
    assert matrix.builds == 1
    for i in range(10, 60, 9):
        assert not set(gone) & set(_uids(index.query(f"n{i}", group_name="g", topk=10)))

    store.remove_nodes("g", [f"n{i}" for i in range(60, 300)])  # deletions past 20 %: rebuilt on live rows
    assert matrix.builds == 2 and matrix.ann_active and len(matrix._graph.label) == len(matrix) == 810
    assert index.query("n400", group_name="g", topk=1)[0].uid == "n400"

    store.remove_nodes("g", [f"n{i}" for i in range(300, 700)])  # under the threshold: back to exact
    assert not matrix.ann_active and index.query("n800", group_name="g", topk=1)[0].uid == "n800"


def test_filters_search_exactly():
    rng = np.random.default_rng(3)
    vectors = embedding_like(rng, 800)
    store, index = _index(vectors, {"q": vectors[0]}, threshold=500)
    for node in store.get_nodes("g"):
        node.metadata = {"even": int(node.uid[1:]) % 2 == 0}
    res = index.query("q", group_name="g", topk=5, filters={"even": False})
    assert len(res) == 5 and all(int(n.uid[1:]) % 2 for n in res)


# -- through a Document: restart and index='exact' ----------------------------------------------------------
WORDS = [f"w{i}" for i in range(400)]


@pytest.fixture
def big_corpus(tmp_path: Path) -> Path:
    """40 files of 6 sentences of random words: 240 sentence nodes."""
    rng = random.Random(0)
    root = tmp_path / "big"
    root.mkdir()
    for f in range(40):
        sentences = [" ".join(rng.choices(WORDS, k=8)) for _ in range(6)]
        (root / f"f{f:02}.txt").write_text(". ".join(sentences), encoding="utf-8")
    return root


def _sqlite(path: Path) -> dict:
    return {"type": "map", "kwargs": {"uri": str(path)}}


def _open(corpus: Path, store_path: Path) -> tuple[Document, Retriever]:
    doc = Document(corpus, embed=CountingEmbedder(dim=64), store_conf=_sqlite(store_path))
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    return doc, Retriever(doc, "sentence", topk=5).start()


def test_graph_survives_a_restart_without_rebuild(big_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "100")
    store_path = tmp_path / "store" / "nodes.sqlite"
    doc1, r1 = _open(big_corpus, store_path)
    m1 = doc1.get_index("default").matrix("sentence")
    assert m1.ann_active and m1.builds == 1 and not m1.loaded and len(m1) == 240
    first = _uids(r1("w1 w2 w3 w4"))
    doc1.get_index("default").flush()
    saved = sorted(p.name for p in (store_path.parent / "nodes.sqlite.ann").iterdir())
    assert saved == ["sentence.default.faiss", "sentence.default.json"]
    folder = store_path.parent / "nodes.sqlite.ann"
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    doc2, r2 = _open(big_corpus, store_path)
    m2 = doc2.get_index("default").matrix("sentence")
    assert doc2.stats.chunks_embedded == 0
    assert m2.ann_active and m2.loaded and m2.builds == 0
    assert _uids(r2("w1 w2 w3 w4")) == first
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes

    old = {n.uid for n in doc2.store.get_nodes("sentence", doc_ids=[str(big_corpus / "f00.txt")])}
    (big_corpus / "f00.txt").write_text("w7 w8 w9. w10 w11 w12", encoding="utf-8")
    doc3, r3 = _open(big_corpus, store_path)  # the saved graph is loaded, then f00's change applied to it
    m3 = doc3.get_index("default").matrix("sentence")
    assert m3.loaded and m3.builds == 0 and len(m3) == 236
    assert r3("w10 w11 w12")[0].text == "w10 w11 w12"
    assert not old & set(_uids(Retriever(doc3, "sentence", topk=240)("w1 w2")))


def test_graph_changed_after_save_is_flushed_at_exit(big_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "100")
    store_path = tmp_path / "nodes.sqlite"
    doc1, _ = _open(big_corpus, store_path)
    doc1.store.remove_nodes("sentence", [n.uid for n in doc1.store.get_nodes("sentence")[:3]])
    ann._flush_all()  # what interpreter exit runs
    m1 = doc1.get_index("default").matrix("sentence")
    assert isinstance(m1, AnnMatrix) and not m1._dirty
    doc2, _ = _open(big_corpus, store_path)  # the files did not change: the 3 nodes stay removed
    m2 = doc2.get_index("default").matrix("sentence")
    assert m2.loaded and m2.builds == 0 and len(m2) == 237


def test_exact_index_through_the_retriever(big_corpus, tmp_path, monkeypatch):
    monkeypatch.setenv("RAGJET_ANN_THRESHOLD", "100")
    doc = Document(big_corpus, embed=CountingEmbedder(dim=64))
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    assert "exact" in doc.index_names()
    exact = Retriever(doc, "sentence", index="exact", topk=10)
    approx = Retriever(doc, "sentence", topk=10, ef=200)
    query = "w5 w6 w7 w8 w9"
    exact_nodes = exact(query)
    assert doc.get_index("default").matrix("sentence").ann_active
    # bag-of-words vectors tie often, so compare scores: with ef above the node count the graph finds the best
    assert np.allclose(_scores(approx(query)), _scores(exact_nodes), atol=1e-6)
    assert _uids(Retriever(doc, "sentence", topk=10)(query, exact=True)) == _uids(exact_nodes)
    assert _uids(Retriever(doc, "sentence", index="exact", similarity="bm25", topk=3)(query))
