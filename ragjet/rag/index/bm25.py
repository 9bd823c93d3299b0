"""Lexical BM25 over one group's texts, through bm25s (sparse, eager), tokenised for English or Chinese.

An engine is built once per group content and reused until the group changes; ``bm25_chinese`` segments with
jieba so Chinese text, which has no spaces, gets real word tokens.
"""
from __future__ import annotations

import logging
import re
from typing import Callable, Sequence

import numpy as np

from ...registry import missing_extra
from .dense import top_k

_WORD = re.compile(r"\w", re.UNICODE)
# Chinese function words: they occur in nearly every passage, so matching them only adds noise.
CHINESE_STOPWORDS = frozenset("的 了 是 在 和 与 及 或 等 也 就 都 而 之 为 以 于 对 把 被 这 那 有 个 们 我 你 他 她 它 "
                              "吗 呢 吧 啊 着 过 又 并 但 其 则 即 从 向 由 将 要 会 能 可 让 给 很 么 什么 怎么".split())


def _bm25s():
    try:
        import bm25s
    except ImportError:
        raise missing_extra("bm25s", "lexical") from None
    return bm25s


def english_tokens(texts: Sequence[str]) -> list[list[str]]:
    return _bm25s().tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)


def chinese_tokens(texts: Sequence[str]) -> list[list[str]]:
    try:
        import jieba
    except ImportError:
        raise missing_extra("jieba", "lexical") from None
    jieba.setLogLevel(logging.WARNING)
    return [[t.lower() for t in jieba.lcut_for_search(text) if _WORD.search(t) and t not in CHINESE_STOPWORDS]
            for text in texts]


TOKENIZERS: dict[str, Callable[[Sequence[str]], list[list[str]]]] = {
    "bm25": english_tokens,
    "bm25_chinese": chinese_tokens,
}


class BM25Engine:
    """A BM25 model of ``texts`` whose results are positions into ``uids``."""

    def __init__(self, uids: list[str], texts: Sequence[str], variant: str = "bm25") -> None:
        self.uids = uids
        self._tokenize = TOKENIZERS[variant]
        self._model = _bm25s().BM25()
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
