"""The persistent embedding cache's question vectors: kept apart from passages, by model, the latest only."""
import numpy as np

from ragjet.rag.ingest import embed_cache
from ragjet.rag.ingest.embed_cache import EmbeddingCache


def test_a_question_vector_is_kept_by_model_and_apart_from_passages(tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    cache.put_query("model-a", "red planet", np.array([1.0, 2.0], dtype=np.float32))
    again = EmbeddingCache(tmp_path / "cache.sqlite")  # another process, later
    assert again.get_query("model-a", "red planet").tolist() == [1.0, 2.0]
    assert again.get_query("model-b", "red planet") is None and again.get_query("model-a", "Red planet") is None
    assert again.get_many("model-a", ["red planet"]) == [None]  # a question is not a passage


def test_only_the_latest_questions_are_kept(tmp_path, monkeypatch):
    monkeypatch.setattr(embed_cache, "QUERY_ROWS", 3)
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    for i in range(5):
        cache.put_query("m", f"question {i}", np.full(2, i, dtype=np.float32))
    assert [cache.get_query("m", f"question {i}") is not None for i in range(5)] == [False, False, True, True, True]
    cache.put_query("m", "question 2", np.zeros(2, dtype=np.float32))  # its vector was of no use: replaced, newest
    cache.put_query("m", "question 5", np.full(2, 5, dtype=np.float32))  # so question 3 is now the oldest
    assert [cache.get_query("m", f"question {i}") is not None for i in range(6)] == [False, False, True, False, True,
                                                                                    True]
    assert cache.get_query("m", "question 2").tolist() == [0.0, 0.0]


def test_a_kept_question_vector_of_another_length_is_not_used_but_replaced(tmp_path):
    """A model that kept its id but changed its dimension: the kept vector is of no use to it."""
    from ragjet.rag.embedding import Embedder
    from ragjet.testing.embedders import CountingEmbedder

    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    before, after = CountingEmbedder(dim=8), CountingEmbedder(dim=4)
    before.model_id = after.model_id = "same-id"
    for model in (before, after):
        embedder = Embedder("default", model)
        embedder.remember_queries(cache)
        assert len(embedder.embed_query("red planet")) == model.dim and model.embedded == ["red planet"]
    assert len(cache.get_query("same-id", "red planet")) == 4
