"""Sparse embed keys end to end: the BM25 sparse encoder, the Embedder, codec/SQLite/cache round trips, the
default index's inner-product search, Milvus's sparse field (Lite file and server), Chroma's refusal, and
hybrid dense + sparse retrieval."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from conftest import CORPUS, CountingEmbedder
from ragjet import BM25SparseEmbedding, Document, Retriever, TrainableModule, parallel, pipeline
from ragjet.models.embed.sparse_embedding import term_index
from ragjet.rag.doc_node import DocNode
from ragjet.rag.embedding import Embedder
from ragjet.rag.fusion import fuse
from ragjet.rag.index.sparse import SparseMatrix
from ragjet.rag.ingest.embed_cache import EmbeddingCache
from ragjet.rag.sparse_vector import as_sparse, inner_products, pack, unpack
from ragjet.rag.store import create_store
from store_setups import make_setup, milvus_server, skip_without  # noqa: F401

SENTENCES = [
    "Mars is called the red planet.",
    "Jupiter is the largest planet of all, a giant planet of gas.",
    "Cheese is made from milk.",
    "Parrots imitate human speech.",
    "",
]


# -- the encoder ----------------------------------------------------------------------------------------------------
def test_encoder_is_deterministic_with_a_stable_model_id() -> None:
    a, b = BM25SparseEmbedding(), TrainableModule("bm25-sparse")
    assert isinstance(b, BM25SparseEmbedding) and a.sparse
    assert a.model_id == b.model_id == "bm25-sparse/bm25/k1=1.2/b=0.75/avg_len=100/blake2b31"
    assert a.embed_batch(SENTENCES) == b.embed_batch(SENTENCES)
    assert (term_index("planet"), term_index("mars")) == (1684256756, 1858268931)  # hashing never drifts
    assert BM25SparseEmbedding(k1=1.5).model_id != a.model_id
    with pytest.raises(ValueError, match="bm25, bm25_chinese"):
        BM25SparseEmbedding(tokenizer="klingon")


def test_document_weights_saturate_and_normalise_length() -> None:
    enc = BM25SparseEmbedding(avg_len=4)
    mars, jupiter, *_, empty = enc.embed_batch(SENTENCES)
    assert empty == {}
    assert set(mars) == {term_index(w) for w in ("mars", "called", "red", "planet")}  # stopwords dropped
    assert mars[term_index("planet")] == pytest.approx(1.0)  # one occurrence in a text of avg_len words
    words = ["jupiter", "largest", "planet", "all", "giant", "planet", "gas"]
    norm = 1.2 * (0.25 + 0.75 * len(words) / 4)
    assert jupiter[term_index("planet")] == pytest.approx(2 * 2.2 / (2 + norm))
    assert jupiter[term_index("gas")] == pytest.approx(2.2 / (1 + norm))
    assert jupiter[term_index("gas")] < mars[term_index("planet")]  # the longer text weighs a word less
    assert 2.2 / (1 + norm) < jupiter[term_index("planet")] < 2 * 2.2 / (1 + norm)  # repeats saturate


def test_query_weights_are_counts_then_idf_after_fit() -> None:
    enc = BM25SparseEmbedding()
    assert enc.embed_query("red planet planet") == {term_index("red"): 1.0, term_index("planet"): 2.0}
    before = enc.embed_batch(SENTENCES)
    enc.fit(SENTENCES)
    n, df_planet = len(SENTENCES), 2
    query = enc.embed_query("red planet")
    assert query[term_index("planet")] == pytest.approx(math.log(1 + (n - df_planet + 0.5) / (df_planet + 0.5)))
    assert query[term_index("red")] > query[term_index("planet")]  # the rarer word weighs more
    assert enc.embed_query("unicorn")[term_index("unicorn")] == pytest.approx(max(enc.idf.values()))
    assert enc.embed_batch(SENTENCES) == before and enc.model_id == BM25SparseEmbedding().model_id
    restored = BM25SparseEmbedding(idf={str(k): v for k, v in enc.idf.items()})  # as JSON gives it back
    assert restored.embed_query("red planet") == query


def test_fitted_inner_products_are_bm25s_scores() -> None:
    bm25s = pytest.importorskip("bm25s")
    from ragjet.text.lexical import english_tokens

    texts = list(CORPUS.values()) + SENTENCES[:4]
    tokens = english_tokens(texts)
    enc = BM25SparseEmbedding(k1=1.5, b=0.75, avg_len=sum(map(len, tokens)) / len(tokens)).fit(texts)
    model = bm25s.BM25(k1=1.5, b=0.75)
    model.index(tokens, show_progress=False)
    docs = enc.embed_batch(texts)
    for question in ("which planet is red", "milk and cheese", "parrots speech"):
        want = model.get_scores(english_tokens([question])[0])
        got = inner_products(as_sparse(enc.embed_query(question)), docs)
        got = np.where(np.isfinite(got), got, 0.0)
        assert np.allclose(got, 2.5 * want, rtol=1e-4, atol=1e-5)


def test_chinese_words_come_from_jieba() -> None:
    pytest.importorskip("jieba")
    vec = BM25SparseEmbedding(tokenizer="bm25_chinese").embed_batch(["火星是红色的行星"])[0]
    assert set(vec) == {term_index("火星"), term_index("红色"), term_index("行星")}


# -- the sparse vector form, the Embedder, the cache ----------------------------------------------------------------
def test_sparse_vectors_are_canonical_and_pack_compactly() -> None:
    vec = as_sparse({7: 0.1, 3: 2, 5: 0.0})
    assert list(vec.items()) == [(3, 2.0), (7, float(np.float32(0.1)))]
    indices, weights = pack(vec)
    assert len(indices) == len(weights) == 8 and unpack(indices, weights) == vec
    assert unpack(*pack(as_sparse({}))) == {}
    with pytest.raises(ValueError, match="outside"):
        as_sparse({-1: 1.0})
    with pytest.raises(TypeError, match="mapping"):
        as_sparse([1.0, 2.0])


def test_embedder_handles_a_sparse_model_and_remembers_queries() -> None:
    enc = BM25SparseEmbedding()
    calls = []
    ask = enc.embed_query
    enc.embed_query = lambda text: calls.append(text) or ask(text)
    embedder = Embedder("sparse", enc)
    assert embedder.sparse and embedder.dim == 0
    assert embedder.embed_batch(SENTENCES) == [as_sparse(v) for v in enc.embed_batch(SENTENCES)]
    assert embedder.embed_batch([]) == []
    assert embedder.embed_query("red planet") == embedder.embed_query("red planet") == {
        term_index("planet"): 1.0, term_index("red"): 1.0}
    assert calls == ["red planet"]  # the query side, asked once


def test_a_dense_model_returning_dicts_is_told_to_say_sparse() -> None:
    embedder = Embedder("k", lambda text: {1: 1.0})
    with pytest.raises(TypeError, match=r"'k'.*sparse = True"):
        embedder.embed_batch(["x"])


def test_embedding_cache_round_trips_sparse_vectors(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    enc = BM25SparseEmbedding()
    vectors = Embedder("s", enc).embed_batch(SENTENCES)
    cache.put_many(enc.model_id, SENTENCES, vectors)
    cache.put_many("dense", SENTENCES[:1], np.ones((1, 4), dtype=np.float32))
    again = EmbeddingCache(tmp_path / "cache.sqlite")
    assert again.get_many(enc.model_id, SENTENCES + ["unseen"], sparse=True) == vectors + [None]
    assert again.get_many(enc.model_id, SENTENCES[:1]) == [None]  # a dense lookup never sees sparse rows
    assert np.array_equal(again.get_many("dense", SENTENCES[:1])[0], np.ones(4, dtype=np.float32))


# -- the default index's sparse matrix ------------------------------------------------------------------------------
def test_sparse_matrix_matches_brute_force_through_updates_and_removals() -> None:
    rng = np.random.default_rng(0)
    vectors = {f"n{i}": as_sparse({int(t): float(rng.random()) for t in rng.choice(40, rng.integers(1, 6), False)})
               for i in range(60)}
    matrix = SparseMatrix()
    matrix.upsert(list(vectors), list(vectors.values()))
    matrix.remove(["n3", "n10", "missing"])
    vectors["n5"] = as_sparse({0: 3.0, 1: 1.0})
    matrix.upsert(["n5"], [vectors["n5"]])
    for uid in ("n3", "n10"):
        del vectors[uid]
    query = as_sparse({0: 1.0, 1: 0.5, 17: 2.0})
    scores = inner_products(query, list(vectors.values()))
    hits = sorted((-s, u) for u, s in zip(vectors, scores.tolist()) if np.isfinite(s))
    uids, got = matrix.search(query, 5)
    assert uids == [u for _, u in hits[:5]] and np.allclose(got, [-s for s, _ in hits[:5]])
    assert uids[0] == "n5"
    mask = np.array([u != "n5" for u in matrix.uids])
    assert "n5" not in matrix.search(query, 5, mask)[0]
    none, no_scores = matrix.search(as_sparse({99: 1.0}), 5)  # no row shares the term
    assert none == [] and no_scores.size == 0


# -- documents with a dense and a sparse key on every store that keeps sparse vectors -------------------------------
SETUPS = ["map", "map-sqlite", "milvus-lite", "milvus-remote"]


def _write_corpus(folder: Path) -> Path:
    folder.mkdir()
    for name, text in CORPUS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _document(folder: Path, conf: dict[str, Any]) -> Document:
    doc = Document(folder, embed={"dense": CountingEmbedder(), "sparse": BM25SparseEmbedding()}, store_conf=conf)
    doc.create_node_group("sentence", transform=lambda t: t.split(". "), parent="MediumChunk")
    return doc


@pytest.mark.parametrize("setup", SETUPS)
def test_document_with_dense_and_sparse_keys_and_restart(setup: str, request, tmp_path: Path) -> None:
    conf = make_setup(setup, request, tmp_path).conf
    folder = _write_corpus(tmp_path / "docs")

    def run() -> tuple[Document, list[DocNode], list[DocNode]]:
        doc = _document(folder, conf)
        sparse = Retriever(doc, "sentence", similarity="cosine", embed_keys=["sparse"], topk=3)
        hybrid = Retriever(doc, "sentence", topk=4)  # both keys: their rankings are fused by reciprocal rank
        return doc, sparse("Which planet is called red?"), hybrid("cheese from milk")

    doc, lexical, mixed = run()
    assert lexical[0].text.startswith("Mars is called the red planet")
    assert [n.similarity_score for n in lexical] == sorted((n.similarity_score for n in lexical), reverse=True)
    assert all(n.text.split()[0] in ("Mars", "Jupiter") for n in lexical)  # only nodes sharing a word
    assert mixed[0].text.startswith("Cheese is made from milk")
    node = doc.store.get_nodes("sentence", uids=[lexical[0].uid])[0]
    assert node.embedding["sparse"] == as_sparse(BM25SparseEmbedding().embed_batch([node.text])[0])
    assert node.embedding["dense"].shape == (64,)
    counts = {g: doc.store.count(g) for g in doc.store.groups()}
    doc.store.close()

    again, lexical2, mixed2 = run()  # the in-memory map restarts from its snapshot
    assert (again.stats.files_parsed, again.stats.chunks_embedded) == (0, 0)
    assert [(n.uid, n.similarity_score) for n in lexical2] == [(n.uid, n.similarity_score) for n in lexical]
    assert [n.uid for n in mixed2] == [n.uid for n in mixed]
    assert {g: again.store.count(g) for g in again.store.groups()} == counts
    again.store.close()


@pytest.mark.parametrize("setup", ["map", "milvus-lite"])
def test_sparse_search_filters_and_exact_agree(setup: str, request, tmp_path: Path) -> None:
    doc = _document(_write_corpus(tmp_path / "docs"), make_setup(setup, request, tmp_path).conf)
    try:
        native = Retriever(doc, "sentence", embed_keys=["sparse"], topk=5)
        exact = Retriever(doc, "sentence", embed_keys=["sparse"], topk=5, index="exact")
        question = "the largest planet is red"
        assert [(n.uid, round(n.similarity_score, 4)) for n in native(question)] == \
            [(n.uid, round(n.similarity_score, 4)) for n in exact(question)]
        only_food = native("red planet bread", filters={"file_name": "food.txt"})
        assert [n.text for n in only_food] == ["Bread is baked from flour and water"]
    finally:
        doc.store.close()


def test_two_route_fusion_of_dense_and_sparse(tmp_path: Path) -> None:
    doc = _document(_write_corpus(tmp_path / "docs"), {"type": "map"})
    dense = Retriever(doc, "sentence", embed_keys=["dense"], topk=10)
    sparse = Retriever(doc, "sentence", embed_keys=["sparse"], topk=10)
    with pipeline() as ppl:
        ppl.routes = parallel(dense, sparse).astuple
        ppl.fuse = fuse
    question = "Which planet is called red?"
    fused = ppl(question)
    assert fused[0].text.startswith("Mars is called the red planet")
    assert [n.uid for n in fused] == [n.uid for n in fuse(dense(question), sparse(question))]
    both = Retriever(doc, "sentence", embed_keys=["dense", "sparse"], topk=len(fused))(question)
    assert [n.uid for n in both] == [n.uid for n in fused]  # one retriever over both keys fuses the same way


def test_changing_a_key_from_sparse_to_dense_names_both(tmp_path: Path) -> None:
    folder = _write_corpus(tmp_path / "docs")
    conf = {"type": "map", "kwargs": {"uri": str(tmp_path / "store.sqlite")}}
    Retriever(Document(folder, embed={"k": BM25SparseEmbedding()}, store_conf=conf), "MediumChunk")("x")
    with pytest.raises(ValueError, match=r"holds sparse vectors for embed key 'k'.*64-dim"):
        Retriever(Document(folder, embed={"k": CountingEmbedder()}, store_conf=conf), "MediumChunk")("x")


# -- milvus: the sparse field, its index and its edge cases ---------------------------------------------------------
def _nodes(enc: BM25SparseEmbedding) -> list[DocNode]:
    return [DocNode(uid=f"s{i}", text=text, group="g", embedding={"sparse": as_sparse(vec)})
            for i, (text, vec) in enumerate(zip(SENTENCES, enc.embed_batch(SENTENCES)))]


def test_milvus_index_kwargs_per_embed_key(tmp_path: Path, caplog) -> None:
    skip_without("milvus")
    from ragjet.rag.store import MilvusStore

    store = MilvusStore(str(tmp_path / "idx.db"), index_kwargs=[
        {"embed_key": "dense", "index_type": "IVF_FLAT", "params": {"nlist": 8}},
        {"embed_key": "sparse", "index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP",
         "params": {"inverted_index_algo": "DAAT_MAXSCORE"}}])
    try:
        nodes = _nodes(BM25SparseEmbedding())
        for i, node in enumerate(nodes):
            node.embedding["dense"] = np.eye(8, dtype=np.float32)[i]
        store.update_nodes(nodes)
        name = store._collection("g").name
        dense, sparse = (store._client.describe_index(name, f"vec_{k}") for k in ("dense", "sparse"))
        assert (dense["index_type"], dense["metric_type"]) == ("IVF_FLAT", "COSINE")
        assert (sparse["index_type"], sparse["metric_type"]) == ("SPARSE_INVERTED_INDEX", "IP")
        query = BM25SparseEmbedding().embed_query("red planet")
        assert [n.uid for n, _ in store.vector_search("g", "sparse", query, 3)] == ["s0", "s1"]
    finally:
        store.close()

    store = MilvusStore(str(tmp_path / "wand.db"), index_kwargs=[{"embed_key": "sparse", "index_type": "SPARSE_WAND"}])
    try:
        with caplog.at_level("WARNING", logger="ragjet"):
            store.update_nodes(_nodes(BM25SparseEmbedding()))
        assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == [
            "Milvus Lite cannot build index type SPARSE_WAND for sparse vectors (it builds SPARSE_INVERTED_INDEX); "
            "using SPARSE_INVERTED_INDEX"]
    finally:
        store.close()

    store = MilvusStore(str(tmp_path / "cos.db"), index_kwargs=[{"embed_key": "sparse", "metric_type": "COSINE"}])
    try:
        with pytest.raises(ValueError, match=r"'sparse' holds sparse vectors.*IP"):
            store.update_nodes(_nodes(BM25SparseEmbedding()))
    finally:
        store.close()
    with pytest.raises(ValueError, match="list item naming the sparse embed_key"):
        MilvusStore(str(tmp_path / "ip.db"), index_kwargs={"metric_type": "IP"})


def test_milvus_keeps_absent_and_empty_sparse_vectors_out_of_search(tmp_path: Path) -> None:
    skip_without("milvus")
    from ragjet.rag.store import MilvusStore

    store = MilvusStore(str(tmp_path / "gaps.db"))
    try:
        nodes = _nodes(BM25SparseEmbedding())
        nodes.append(DocNode(uid="none", text="red planet without a vector", group="g"))
        store.update_nodes(nodes)
        back = {n.uid: n for n in store.get_nodes("g")}
        assert back["s0"].embedding["sparse"] == nodes[0].embedding["sparse"]
        assert not back["s4"].embedding and not back["none"].embedding  # the empty text's {} reads back absent
        hits = store.vector_search("g", "sparse", as_sparse({term_index("planet"): 1.0}), 10)
        assert [n.uid for n, _ in hits] == ["s1", "s0"] and hits[0][1] > hits[1][1]
        assert store.vector_search("g", "sparse", {}, 10) == []
        with pytest.raises(ValueError, match="holds sparse vectors.*8-dim"):
            store.vector_search("g", "sparse", np.ones(8, dtype=np.float32), 3)
        with pytest.raises(ValueError, match=r"'neg'.*non-negative"):
            store.update_nodes([DocNode(uid="neg", text="n", group="g", embedding={"sparse": {1: -0.5}})])
    finally:
        store.close()


# -- chroma cannot keep sparse vectors ------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:legacy embedding function config:DeprecationWarning")
def test_chroma_refuses_a_sparse_key_naming_it_and_the_fix(tmp_path: Path) -> None:
    skip_without("chroma")
    conf = {"type": "chroma", "kwargs": {"dir": str(tmp_path / "chroma")}}
    store = create_store(conf)
    try:
        with pytest.raises(NotImplementedError, match=r"embed key 'sparse'.*milvus or map"):
            store.update_nodes(_nodes(BM25SparseEmbedding()))
        assert store.count("g") == 0
    finally:
        store.close()
    doc = _document(_write_corpus(tmp_path / "docs"), {"type": "chroma", "kwargs": {"dir": str(tmp_path / "c2")}})
    with pytest.raises(NotImplementedError, match=r"embed key 'sparse'.*milvus or map"):
        Retriever(doc, "sentence", embed_keys=["sparse"])("red planet")
