"""Every built-in index through `ragjet.testing.index_contract`: one result shape, updates, removals, filters."""
from __future__ import annotations

import pytest

from ragjet.rag.index.ann import AnnConfig
from ragjet.rag.index.default import DefaultIndex
from ragjet.rag.index.smart_embedding import SmartEmbeddingIndex
from ragjet.testing.index_contract import IndexContract


class TestDefaultIndex(IndexContract):
    def make_index(self, store, embed, tmp_path):
        return DefaultIndex(embed, store)


class TestDefaultIndexThroughItsGraph(IndexContract):
    """Every matrix over the threshold: the HNSW graph answers unfiltered queries."""

    def make_index(self, store, embed, tmp_path):
        return DefaultIndex(embed, store, ann=AnnConfig(threshold=1))


class TestExactIndex(IndexContract):
    """The ``exact`` view the default index registers: brute force, always."""

    def make_index(self, store, embed, tmp_path):
        store.register_index("default", DefaultIndex(embed, store))  # which registers its exact view
        return store.get_index("exact")


class TestSmartEmbeddingIndexOnMilvusLite(IndexContract):
    def make_index(self, store, embed, tmp_path):
        pytest.importorskip("milvus_lite", reason="the milvus extra (ragjet[milvus]) is not installed")
        return SmartEmbeddingIndex("milvus", embed, store, uri=str(tmp_path / "smart.db"))
