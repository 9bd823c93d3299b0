"""A local rerank model: ``rerank(text=query, documents=[...], top_n=3)`` → ``[(index, score), ...]`` best first.

It scores with a bi-encoder, the cosine between the query's and each document's embedding, because no
cross-encoder weights ship in an installable package here (models cannot be downloaded at run time). The
ranking is therefore the embedding retriever's own measure, re-applied to the merged candidates of several
routes (dense and lexical retrievers, other node groups), which is what the lecture's pipeline needs from it.
It wraps an existing `LocalEmbedding`: pass the Document's embedder to share one loaded model.

Reranking embeds every candidate, ~30 ms per 256-token chunk on a CPU core, so it would cost more than the
retrieval before it. Candidates repeat across questions (the same chunks answer related questions), so the
module remembers the vectors of the last ``memory`` documents it saw and embeds only the others.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Optional, Sequence

import numpy as np

from ...flow.lifecycle import Startable

DOCUMENT_MEMORY = 4096


class EmbeddingRerank(Startable):
    """Rank documents by cosine similarity to the query under ``embed`` (anything with ``embed_batch``)."""

    def __init__(self, embed: Any, memory: int = DOCUMENT_MEMORY) -> None:
        if not hasattr(embed, "embed_batch"):
            raise TypeError(f"EmbeddingRerank needs a model with embed_batch(texts), got {type(embed).__name__}")
        self.embed = embed
        self.memory = memory
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # document text -> unit vector, LRU order
        self._lock = threading.Lock()

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
        with self._lock:
            known = {d: self._vectors[d] for d in dict.fromkeys(documents) if d in self._vectors}
            for d in known:
                self._vectors.move_to_end(d)
        todo = [d for d in dict.fromkeys(documents) if d not in known]
        embedded = _unit(self.embed.embed_batch([text, *todo]))
        query = embedded[0]
        fresh = dict(zip(todo, embedded[1:]))
        with self._lock:
            self._vectors.update(fresh)
            while len(self._vectors) > self.memory:
                self._vectors.popitem(last=False)
        vectors = {**known, **fresh}
        scores = np.stack([vectors[d] for d in documents]) @ query
        order = np.argsort(-scores, kind="stable")[: top_n or len(documents)]
        return [(int(i), float(scores[i])) for i in order]

    def __repr__(self) -> str:
        return f"EmbeddingRerank({self.embed!r})"


def _unit(vectors: Any) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
