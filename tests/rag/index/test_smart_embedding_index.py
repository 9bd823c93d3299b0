"""The lecture's Milvus in ragjet: store_conf['indices'] beside a map store, and index='smart_embedding_index'
on a milvus store; answers must match the default index's exact search."""
import importlib.util

import pytest

import ragjet as lazyllm
from conftest import CountingEmbedder

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pymilvus") is None, reason="needs ragjet[milvus]")


def _docs(corpus, store_conf, embed):
    docs = lazyllm.Document(dataset_path=str(corpus), embed=embed, store_conf=store_conf)
    docs.create_node_group(name="sentence", parent="MediumChunk", transform=lambda x: x.split(". "))
    return docs


def test_indices_entry_beside_a_map_store(corpus, tmp_path):
    store_conf = {
        "type": "map",
        "indices": {
            "smart_embedding_index": {
                "backend": "milvus",
                "kwargs": {"uri": str(tmp_path / "milvus_index.db"),
                           "index_kwargs": {"index_type": "HNSW", "metric_type": "COSINE"}},
            },
        },
    }
    embed = CountingEmbedder()
    docs = _docs(corpus, store_conf, embed)
    retriever = lazyllm.Retriever(docs, group_name="sentence", topk=3, index="smart_embedding_index")
    exact = lazyllm.Retriever(docs, group_name="sentence", topk=3, similarity="cosine")
    retriever.start()
    for query in ("red planet Mars", "cheese milk", "dogs bark"):
        got, want = retriever(query), exact(query)
        assert [n.uid for n in got] == [n.uid for n in want]
        assert all(n.parent is not None and n.similarity_score is not None for n in got)
    index = docs.store.get_index("smart_embedding_index")
    assert index._backend.count("sentence") == docs.store.count("sentence")
    index.close()


def test_a_cut_off_per_embed_key_means_the_same_in_both_indexes(corpus, tmp_path):
    """``similarity_cut_off`` as a number or a dict of numbers per embed key, through the default index and the
    smart embedding index alike (the multi-key query is one function, `rank_embed_keys`)."""
    store_conf = {"type": "map", "indices": {"smart_embedding_index": {
        "backend": "milvus", "kwargs": {"uri": str(tmp_path / "cut.db")}}}}
    docs = _docs(corpus, store_conf, {"a": CountingEmbedder(), "b": CountingEmbedder(dim=32)})
    for cut in (0.3, {"a": 0.3, "b": 2.0}, {"b": 0.3}):
        smart = lazyllm.Retriever(docs, "sentence", topk=5, index="smart_embedding_index", similarity_cut_off=cut)
        exact = lazyllm.Retriever(docs, "sentence", topk=5, similarity="cosine", similarity_cut_off=cut)
        got, want = smart("red planet Mars"), exact("red planet Mars")
        assert [n.uid for n in got] == [n.uid for n in want], cut
        assert got and (cut == {"b": 0.3} or all(n.similarity_score >= 0.3 for n in got))
    assert len(got) == 5  # key "a" uncut: five nodes whatever their scores
    docs.store.get_index("smart_embedding_index").close()


def test_smart_embedding_index_on_a_milvus_store(corpus, tmp_path):
    store_conf = {"type": "milvus", "kwargs": {"uri": str(tmp_path / "milvus1.db"),
                                               "index_kwargs": {"index_type": "HNSW", "metric_type": "COSINE"}}}
    docs = _docs(corpus, store_conf, CountingEmbedder())
    retriever = lazyllm.Retriever(docs, group_name="MediumChunk", topk=2, index="smart_embedding_index")
    assert retriever("Jupiter largest planet")[0].docpath.endswith("space.md")
    docs.store.close()


def test_unknown_backend_and_missing_indices_entry(corpus, tmp_path):
    docs = _docs(corpus, {"type": "map", "indices": {"smart_embedding_index": {"backend": "map"}}}, CountingEmbedder())
    with pytest.raises(ValueError, match="own vector index"):
        lazyllm.Retriever(docs, "sentence", index="smart_embedding_index").start()
    plain = _docs(corpus, None, CountingEmbedder())
    with pytest.raises(ValueError, match="indices"):
        lazyllm.Retriever(plain, "sentence", index="smart_embedding_index").start()


def test_closing_the_store_closes_the_index_and_its_database(corpus, tmp_path):
    """A smart embedding index holds a Milvus Lite file of its own: the store's close releases it, so another
    process can open that file."""
    import subprocess
    import sys

    path = tmp_path / "closed.db"
    store_conf = {"type": "map", "indices": {"smart_embedding_index": {"backend": "milvus",
                                                                       "kwargs": {"uri": str(path)}}}}
    docs = _docs(corpus, store_conf, CountingEmbedder())
    retriever = lazyllm.Retriever(docs, group_name="sentence", topk=1, index="smart_embedding_index")
    assert retriever("red planet Mars")[0].text == "Mars is called the red planet"
    docs.stop()
    opened = subprocess.run([sys.executable, "-c", "import sys; from ragjet.rag.store import MilvusStore; "
                             "s = MilvusStore(sys.argv[1]); print(s.count('sentence')); s.close()", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert opened.returncode == 0, opened.stderr[-2000:]
    assert int(opened.stdout.strip().splitlines()[-1]) > 0
