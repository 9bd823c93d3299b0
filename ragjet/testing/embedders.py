"""Embedders for tests: deterministic, instant, no model files.

`CountingEmbedder` hashes words into buckets (texts sharing words rank close) and logs every batch it is
asked for, so a test can check what was, and was not, embedded; `RandomEmbedder` gives each text its own
pseudo-random vector, so rankings have no ties.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..models.embed.embed_model import EmbedModelBase


class CountingEmbedder(EmbedModelBase):
    """A deterministic bag-of-words embedder that records every batch it is asked for.

    Words hash into ``dim`` buckets, so texts sharing words get a high cosine: good enough to check ranking
    logic without a real model, and the call log lets tests assert batching and what was (not) embedded.
    """

    def __init__(self, dim: int = 64, batch_size: int = 4) -> None:
        self.dim = dim
        self.batch_size = batch_size
        self.model_id = f"counting-{dim}"
        self.batches: list[list[str]] = []

    def vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in text.lower().split():
            word = word.strip(".,;:!?'\"()")
            if word:
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return vec if vec.any() else np.ones(self.dim, dtype=np.float32)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self.batches.append(list(texts))
        return np.stack([self.vector(t) for t in texts])

    def __call__(self, text: str) -> list[float]:
        return self.embed_batch([text])[0].tolist()

    @property
    def embedded(self) -> list[str]:
        return [t for b in self.batches for t in b]


class RandomEmbedder:
    """Deterministic pseudo-random vectors per text: no ties, so rankings are unambiguous."""

    def __init__(self, dim: int = 16) -> None:
        self.dim = dim
        self.model_id = f"random-{dim}"

    def __call__(self, text: str) -> np.ndarray:
        seed = int(hashlib.md5(text.encode()).hexdigest()[:8], 16)
        return np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
