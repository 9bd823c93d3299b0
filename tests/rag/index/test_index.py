import numpy as np
import pytest

from ragjet import Document, Retriever, register_similarity
from ragjet.rag.doc_node import DocNode
from ragjet.rag.embedding import Embedder
from ragjet.rag.index.default import DefaultIndex
from ragjet.rag.index.dense import DenseMatrix
from ragjet.rag.similarity import SIMILARITIES
from ragjet.rag.store import MapStore


def _index_with(vectors: np.ndarray, queries: dict[str, np.ndarray]):
    store = MapStore()
    embed = {"default": Embedder("default", lambda q: queries[q])}
    index = DefaultIndex(embed, store)
    store.register_index("default", index)
    nodes = [DocNode(uid=f"n{i}", text=f"t{i}", group="g", embedding={"default": v}) for i, v in enumerate(vectors)]
    store.update_nodes(nodes)
    return store, index


def _brute(vectors, q, k):
    m = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = m @ (q / np.linalg.norm(q))
    order = np.argsort(-scores, kind="stable")[:k]
    return [f"n{i}" for i in order], scores[order]


def test_default_index_matches_brute_force():
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((500, 16)).astype(np.float32)
    q = rng.standard_normal(16).astype(np.float32)
    _, index = _index_with(vectors, {"q": q})
    res = index.query("q", group_name="g", topk=7)
    want_uids, want_scores = _brute(vectors, q, 7)
    assert [n.uid for n in res] == want_uids
    assert np.allclose([n.similarity_score for n in res], want_scores, atol=1e-5)


def test_incremental_update_and_remove_keep_the_matrix_right():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    q = vectors[10] + 0.01
    store, index = _index_with(vectors, {"q": q})
    assert index.query("q", group_name="g", topk=1)[0].uid == "n10"
    store.remove_nodes("g", ["n10", "n3", "n49"])
    assert store.count("g") == 47
    res = index.query("q", group_name="g", topk=47)
    assert "n10" not in {n.uid for n in res} and len(res) == 47
    store.update_nodes([DocNode(uid="n10", text="back", group="g", embedding={"default": q})])
    top = index.query("q", group_name="g", topk=1)[0]
    assert top.uid == "n10" and top.text == "back"
    matrix = index._dense[("g", "default")]
    assert len(matrix) == 48 and sorted(matrix.uids) == sorted(n.uid for n in store.get_nodes("g"))


def test_dense_matrix_grows_and_rejects_wrong_dimension():
    m = DenseMatrix(4, capacity=2)
    m.upsert([f"u{i}" for i in range(100)], np.eye(4, dtype=np.float32)[np.arange(100) % 4])
    assert len(m) == 100 and m.matrix.shape == (100, 4)
    with pytest.raises(ValueError, match="5 does not match the index dimension 4"):
        m.upsert(["x"], np.ones((1, 5), dtype=np.float32))


def test_cut_off_and_filters():
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1]], dtype=np.float32)
    store, index = _index_with(vectors, {"q": np.array([1, 0], dtype=np.float32)})
    res = index.query("q", group_name="g", topk=3, similarity_cut_off=0.5)
    assert [n.uid for n in res] == ["n0", "n1"]
    store.get_nodes("g", uids=["n1"])[0].metadata["subject"] = "biology"
    res = index.query("q", group_name="g", topk=3, filters={"subject": "biology"})
    assert [n.uid for n in res] == ["n1"]
    res = index.query("q", group_name="g", topk=3, filters={"subject": ["biology", "history"]})
    assert [n.uid for n in res] == ["n1"]


def test_results_are_copies_so_concurrent_scores_do_not_clash():
    vectors = np.array([[1, 0], [0, 1]], dtype=np.float32)
    store, index = _index_with(vectors, {"a": np.array([1, 0.]), "b": np.array([0.2, 1.])})
    a = index.query("a", group_name="g", topk=2)
    b = index.query("b", group_name="g", topk=2)
    assert a[0].similarity_score != b[1].similarity_score or a[0].uid != b[1].uid
    assert store.get_nodes("g", uids=["n0"])[0].similarity_score is None


def test_bm25_ranks_keyword_matches(corpus):
    doc = Document(corpus)
    res = Retriever(doc, "MediumChunk", similarity="bm25", topk=3)("largest planet Jupiter")
    assert res[0].docpath.endswith("space.md") and len(res) == 1
    assert res[0].similarity_score > 0


def test_bm25_is_cached_until_the_group_changes(corpus):
    doc = Document(corpus)
    r = Retriever(doc, "MediumChunk", similarity="bm25", topk=3)
    r("cats")
    index = doc.store.get_index("default")
    engine = index._lexical[("MediumChunk", "bm25")]
    r("dogs")
    assert index._lexical[("MediumChunk", "bm25")] is engine
    doc.store.update_nodes([DocNode(uid="new", text="zebras run fast", group="MediumChunk")])
    assert ("MediumChunk", "bm25") not in index._lexical
    assert r("zebras")[0].uid == "new"


def test_bm25_chinese_segments_words(tmp_path):
    root = tmp_path / "zh"
    root.mkdir()
    (root / "a.txt").write_text("证券管理的基本规范包括信息披露和风险控制。", encoding="gb18030")
    (root / "b.txt").write_text("大熊猫生活在中国四川的竹林里。", encoding="utf-8")
    doc = Document(root)
    res = Retriever(doc, "MediumChunk", similarity="bm25_chinese", topk=2)("证券管理的规范")
    assert res[0].docpath.endswith("a.txt") and len(res) == 1


def test_register_similarity_text_and_embedding(corpus, counting_embed):
    @register_similarity(mode="text", name="overlap_test")
    def overlap(query, node):
        return len(set(query.lower().split()) & set(node.text.lower().split()))

    @register_similarity(mode="embedding", batch=True, name="dot_test")
    def dot(qvec, matrix):
        return matrix @ qvec

    @register_similarity(mode="text", descend=False, name="length_test")
    def length(query, node):
        return len(node.text)

    doc = Document(corpus, embed=counting_embed)
    assert Retriever(doc, "MediumChunk", similarity="overlap_test", topk=1)("bread flour water")[0] \
        .docpath.endswith("food.txt")
    assert Retriever(doc, "MediumChunk", similarity="dot_test", topk=1)("the moon orbits the earth")[0] \
        .docpath.endswith("space.md")
    shortest = Retriever(doc, "MediumChunk", similarity="length_test", topk=3)("x")
    assert [len(n.text) for n in shortest] == sorted(len(n.text) for n in shortest)


def test_unknown_similarity_and_index_list_registered_names(corpus):
    doc = Document(corpus)
    with pytest.raises(ValueError, match="unknown similarity 'cosinus'.*bm25.*cosine"):
        Retriever(doc, "MediumChunk", similarity="cosinus")
    with pytest.raises(ValueError, match="unknown index 'trie'.*default"):
        Retriever(doc, "MediumChunk", similarity="bm25", index="trie")
    assert {"cosine", "bm25", "bm25_chinese"} <= set(SIMILARITIES.names())


def test_cosine_without_embed_model_is_a_clear_error(corpus):
    with pytest.raises(ValueError, match="needs embeddings"):
        Retriever(Document(corpus), "MediumChunk", similarity="cosine")
