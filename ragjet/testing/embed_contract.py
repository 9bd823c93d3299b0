"""The embedder contract as a pytest mixin: `EmbedModelContract`, the checks of what a `Document` relies on in
an embedding model (`ragjet.models.embed.embed_model` lists the members), for ragjet's own embedders and
yours.

A test class inherits the mixin and gives the model as the ``embed_model`` fixture: an `EmbedModelBase`
subclass, or anything `Document(embed=...)` takes (a plain ``str -> list[float]`` callable, an object with
some of the members), seen the way a `Document` sees it. What the checks hold a model to, and why:

- one vector per text, in order, of one shape (``dim`` when declared), finite;
- the same text gets the same vector alone, in any batch and when asked again: the embedding cache stores
  vectors per text, and a restart takes them from there instead of the model;
- a query's vector is the text's when the model declares nothing else (``queries_as_texts``), since a
  restart may then take it from the cache too;
- ``count_tokens`` counts one positive int per text and more for a longer text; a text longer than
  ``content_window`` still embeds, and ``truncated_count`` (when given) counts it: chunks are sized by these;
- ``unknown_share`` is None or a share in [0, 1];
- ``start`` loads without losing anything;
- a `Document` on the model ingests a folder and retrieves the right file (``semantic = False`` for a model
  that does not embed meaning, such as random vectors).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pytest

from ..models.embed.embed_model import EmbedModelBase, as_embed_model
from ..rag.document import Document
from ..rag.retriever import Retriever

__all__ = ["EmbedModelContract", "FILES", "QUESTIONS", "TEXTS"]

TEXTS = ["The cat sat on the mat by the kitchen door.", "Stock markets fell sharply on Monday morning.",
         "猫坐在厨房门口的垫子上。", "Photosynthesis turns sunlight, water and carbon dioxide into sugar."]
FILES = {"cat.txt": TEXTS[0], "markets.txt": TEXTS[1], "plants.txt": TEXTS[3]}
QUESTIONS = {"Where did the cat sit?": "cat.txt", "How do plants make sugar from sunlight?": "plants.txt"}


class EmbedModelContract:
    """Inherit it and define the ``embed_model`` fixture; set ``semantic = False`` for a model that does not
    embed meaning, ``tolerance`` for how far (1 - cosine) a text's vector in a batch may be from its vector
    alone (padding in a batch moves a float or two)."""

    semantic: bool = True
    tolerance: float = 1e-4

    @pytest.fixture
    def model(self, embed_model: Any) -> EmbedModelBase:
        return as_embed_model(embed_model)

    def test_the_model_names_itself(self, model: EmbedModelBase) -> None:
        assert isinstance(model.model_id, str) and model.model_id.strip(), "model_id names it in caches"

    def test_one_vector_per_text_in_order_of_one_shape(self, model: EmbedModelBase) -> None:
        vectors = _rows(model.embed_batch(TEXTS))
        assert len(vectors) == len(TEXTS)
        if model.sparse:
            for vector in vectors:
                assert isinstance(vector, Mapping) and vector, "a sparse vector is a non-empty {index: weight}"
                assert all(isinstance(i, (int, np.integer)) and i >= 0 for i in vector)
                assert all(math.isfinite(float(w)) for w in vector.values())
            return
        matrix = np.asarray(vectors, dtype=np.float64)
        assert matrix.ndim == 2 and matrix.shape[1] > 0, "dense vectors all have one length"
        assert np.isfinite(matrix).all() and (np.abs(matrix).sum(axis=1) > 0).all()
        if model.dim is not None:
            assert matrix.shape[1] == model.dim, f"declared dim {model.dim}, vectors of {matrix.shape[1]}"
        for i, text in enumerate(TEXTS):
            assert _distance(vectors[i], _rows(model.embed_batch([text]))[0]) <= self.tolerance, (
                f"text {i} got another vector in a batch than alone")

    def test_a_text_gets_the_same_vector_in_any_batch_and_again(self, model: EmbedModelBase) -> None:
        first = _rows(model.embed_batch(TEXTS))
        again = _rows(model.embed_batch(TEXTS[::-1]))[::-1]
        for i in range(len(TEXTS)):
            assert _distance(first[i], again[i]) <= self.tolerance, f"text {i}: another vector when asked again"

    def test_a_query_is_embedded_as_a_text_unless_the_model_says_otherwise(self, model: EmbedModelBase) -> None:
        question = next(iter(QUESTIONS))
        query = model.embed_query(question)
        as_text = _rows(model.embed_batch([question]))[0]
        if model.queries_as_texts:
            assert _distance(query, as_text) <= self.tolerance, "queries_as_texts, yet the query's vector differs"
        elif not model.sparse:
            assert len(np.ravel(np.asarray(query))) == len(np.ravel(np.asarray(as_text)))

    def test_token_counts_and_the_window_size_chunks(self, model: EmbedModelBase) -> None:
        if model.count_tokens is not None:
            counts = list(model.count_tokens([TEXTS[0], TEXTS[0] * 3, TEXTS[2]]))
            assert len(counts) == 3 and all(isinstance(c, (int, np.integer)) and c > 0 for c in counts)
            assert counts[1] > counts[0], "a longer text counts more tokens"
        window = model.content_window
        if window is None:
            return
        assert isinstance(window, int) and window > 0
        before = model.truncated_count
        long_text = " ".join([TEXTS[1]] * (window // 4 + 8))  # well past the window in any tokenizer
        assert len(_rows(model.embed_batch([long_text]))) == 1
        if before is not None:
            assert model.truncated_count == before + 1, "a text cut to the window is counted"

    def test_unknown_share_is_a_share(self, model: EmbedModelBase) -> None:
        for text in (TEXTS[0], TEXTS[2], "\u2603 \U0001f600"):
            share = model.unknown_share(text)
            assert share is None or 0.0 <= share <= 1.0

    def test_start_keeps_the_model_embedding(self, model: EmbedModelBase) -> None:
        before = _rows(model.embed_batch(TEXTS[:1]))[0]
        model.start()
        assert _distance(before, _rows(model.embed_batch(TEXTS[:1]))[0]) <= self.tolerance

    def test_a_document_on_the_model_retrieves_the_right_file(self, embed_model: Any, tmp_path: Path) -> None:
        folder = tmp_path / "docs"
        folder.mkdir()
        for name, text in FILES.items():
            (folder / name).write_text(text, encoding="utf-8")
        doc = Document(folder, embed=embed_model, store_conf={"type": "map"}, cache=False)
        retriever = Retriever(doc, "CoarseChunk", similarity="cosine", topk=1)
        found = {question: [Path(n.docpath).name for n in retriever(question)]
                 for question in QUESTIONS}
        assert all(len(files) == 1 for files in found.values()), found
        if self.semantic:
            assert {q: f[0] for q, f in found.items()} == QUESTIONS


def _rows(vectors: Any) -> list[Any]:
    """A batch's vectors as a list: rows of a matrix, or the list of lists or dicts it is."""
    return list(vectors)


def _distance(a: Any, b: Any) -> float:
    """1 - cosine of two dense vectors; of two sparse ones, the largest weight difference (keys must match)."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        assert set(a) == set(b), "a sparse vector's indices changed"
        return max((abs(float(a[k]) - float(b[k])) for k in a), default=0.0)
    x, y = np.ravel(np.asarray(a, dtype=np.float64)), np.ravel(np.asarray(b, dtype=np.float64))
    return float(1.0 - x @ y / (np.linalg.norm(x) * np.linalg.norm(y)))

