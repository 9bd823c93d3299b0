"""Word tokens for lexical search, English and Chinese: what BM25 indexes and sparse BM25 embeddings count.

English goes through bm25s's tokenizer with its English stopwords; Chinese, which has no spaces, is segmented
with jieba (search mode) and its function words are dropped. A leaf module: the BM25 index and the models'
sparse embedder both tokenise with it.
"""
from __future__ import annotations

import logging
import re
from typing import Callable, Sequence

from ..registry import missing_extra

_WORD = re.compile(r"\w", re.UNICODE)
# Chinese function words: they occur in nearly every passage, so matching them only adds noise.
CHINESE_STOPWORDS = frozenset("的 了 是 在 和 与 及 或 等 也 就 都 而 之 为 以 于 对 把 被 这 那 有 个 们 我 你 他 她 它 "
                              "吗 呢 吧 啊 着 过 又 并 但 其 则 即 从 向 由 将 要 会 能 可 让 给 很 么 什么 怎么".split())


def bm25s_module():
    """bm25s, or an error naming the extra that installs it."""
    try:
        import bm25s
    except ImportError:
        raise missing_extra("bm25s", "lexical") from None
    return bm25s


def english_tokens(texts: Sequence[str]) -> list[list[str]]:
    return bm25s_module().tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)


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
