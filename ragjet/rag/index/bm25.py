"""Lexical BM25 over one group's texts, through bm25s (sparse, eager), tokenised for English or Chinese.

An engine is built once per group content and reused until the group changes; ``bm25_chinese`` segments with
jieba so Chinese text, which has no spaces, gets real word tokens.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...text.lexical import TOKENIZERS, bm25s_module
from .dense import top_k


class BM25Engine:
    """A BM25 model of ``texts`` whose results are positions into ``uids``."""

    def __init__(self, uids: list[str], texts: Sequence[str], variant: str = "bm25") -> None:
        self.uids = uids
        self._tokenize = TOKENIZERS[variant]
        self._model = bm25s_module().BM25()
        if uids:
            self._model.index(self._tokenize(texts), show_progress=False)

    def search(self, query: str, topk: int) -> tuple[list[str], np.ndarray]:
        """The ``topk`` best uids with a positive score, best first (none for a query of stopwords only)."""
        tokens = self._tokenize([query])[0] if self.uids else []
        if not tokens:
            return [], np.empty(0, dtype=np.float32)
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        uids, best = top_k(self.uids, scores, topk)
        keep = best > 0
        return [u for u, k in zip(uids, keep) if k], best[keep]
