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
    cache.put_query("m", "question 4", np.zeros(2, dtype=np.float32))  # asked again: kept as it was
    assert [cache.get_query("m", f"question {i}") is not None for i in range(5)] == [False, False, True, True, True]
    assert cache.get_query("m", "question 4").tolist() == [4.0, 4.0]
