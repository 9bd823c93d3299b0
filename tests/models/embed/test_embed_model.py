"""The embedder contract: ragjet's embedders declare it, anything else is seen through its defaults."""
from __future__ import annotations

import numpy as np
import pytest

from ragjet import Document, Retriever
from ragjet.models.embed.embed_model import DeclaredModel, EmbedModel, EmbedModelBase, as_embed_model
from ragjet.models.embed.sparse_embedding import BM25SparseEmbedding
from ragjet.rag.embedding import Embedder
from ragjet.testing.embedders import CountingEmbedder
from conftest import QueryPrefixed


def word_count_vector(text: str) -> list[float]:
    return [float(len(text.split())), 1.0]


def test_a_plain_callable_gets_every_default_and_is_called_per_text():
    model = as_embed_model(word_count_vector)
    assert isinstance(model, DeclaredModel) and isinstance(model, EmbedModel)
    assert model.model_id.endswith("word_count_vector") and model.batch_size == 32 and not model.sparse
    assert model.dim is None and model.count_tokens is None and model.content_window is None
    assert model.unknown_share("x") is None and model.start() is word_count_vector
    assert model.embed_batch(["a b", "c"]) == [[2.0, 1.0], [1.0, 1.0]]


class Partial:
    """A class with some of the members, as a user writes one: each is read when used."""

    model_id = "partial"
    batch_size = 2
    truncated_count = 0

    def embed_batch(self, texts):
        self.truncated_count += sum(len(t) > 5 for t in texts)
        return np.ones((len(texts), 3), dtype=np.float32)


def test_the_members_a_class_has_are_its_own_and_read_when_used():
    partial = Partial()
    embedder = Embedder("default", partial)
    assert (embedder.model_id, embedder.batch_size) == ("partial", 2)
    embedder.embed_batch(["short", "a longer text"])
    assert embedder.truncated_count == 1 and embedder.dim == 3
    assert embedder.token_counter is None and embedder.reads("anything")


def test_a_subclass_of_the_base_is_used_as_it_is():
    counting = CountingEmbedder(dim=8)
    assert as_embed_model(counting) is counting and isinstance(counting, EmbedModel)


def test_every_sparse_and_dense_model_of_ragjet_declares_the_contract():
    assert isinstance(BM25SparseEmbedding(), EmbedModelBase)
    assert Embedder("sparse", BM25SparseEmbedding()).sparse


class WithQuery:
    def embed_batch(self, texts):
        return np.ones((len(texts), 2), dtype=np.float32)

    def embed_query(self, text):
        return np.zeros(2, dtype=np.float32)


def test_a_model_embeds_queries_as_texts_unless_it_has_its_own_embed_query():
    assert as_embed_model(word_count_vector).queries_as_texts and CountingEmbedder().queries_as_texts
    assert as_embed_model(Partial()).queries_as_texts
    assert not QueryPrefixed().queries_as_texts and not as_embed_model(WithQuery()).queries_as_texts
    assert not BM25SparseEmbedding().queries_as_texts  # its query weights follow the corpus (IDF)


def test_an_object_that_cannot_embed_is_refused_naming_the_contract():
    with pytest.raises(TypeError, match="embed 'default'.*EmbedModelBase"):
        Embedder("default", object())


def test_a_document_sizes_chunks_with_the_counter_a_model_declares(tmp_path):
    class Sized(CountingEmbedder):
        content_window = 20

        def count_tokens(self, texts):
            return [len(t.split()) for t in texts]

    (tmp_path / "a.txt").write_text(" ".join(f"word{i}." for i in range(300)))
    doc = Document(tmp_path, embed=Sized())
    nodes = Retriever(doc, "MediumChunk", similarity="cosine", topk=100)("word1")
    assert nodes and max(len(n.text.split()) for n in nodes) <= 20
