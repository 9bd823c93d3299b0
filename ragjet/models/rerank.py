"""A local rerank model: ``rerank(text=query, documents=[...], top_n=3)`` → ``[(index, score), ...]`` best first.

It scores with a bi-encoder, the cosine between the query's and each document's embedding, because no
cross-encoder weights ship in an installable package here (models cannot be downloaded at run time). The
ranking is therefore the embedding retriever's own measure, re-applied to the merged candidates of several
routes (dense and lexical retrievers, other node groups), which is what the lecture's pipeline needs from it.
It wraps an existing `LocalEmbedding`: pass the Document's embedder to share one loaded model.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np


class EmbeddingRerank:
    """Rank documents by cosine similarity to the query under ``embed`` (anything with ``embed_batch``)."""

    def __init__(self, embed: Any) -> None:
        if not hasattr(embed, "embed_batch"):
            raise TypeError(f"EmbeddingRerank needs a model with embed_batch(texts), got {type(embed).__name__}")
        self.embed = embed

    @property
    def model_id(self) -> str:
        return f"rerank:{getattr(self.embed, 'model_id', type(self.embed).__name__)}"

    def start(self) -> "EmbeddingRerank":
        """Load the embedding model now (otherwise it loads on first use)."""
        if hasattr(self.embed, "start"):
            self.embed.start()
        return self

    def __call__(self, text: str, documents: Sequence[str], top_n: Optional[int] = None,
                 **_: Any) -> list[tuple[int, float]]:
        if not documents:
            return []
        vectors = np.asarray(self.embed.embed_batch([text, *documents]), dtype=np.float32)
        norms = np.clip(np.linalg.norm(vectors, axis=1), 1e-12, None)
        scores = (vectors[1:] @ vectors[0]) / (norms[1:] * norms[0])
        order = np.argsort(-scores, kind="stable")[: top_n or len(documents)]
        return [(int(i), float(scores[i])) for i in order]

    def __repr__(self) -> str:
        return f"EmbeddingRerank({self.embed!r})"
