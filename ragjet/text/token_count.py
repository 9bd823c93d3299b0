"""Token counters for splitters: a dependency-free approximation and a wrapper around a HF fast tokenizer.

A splitter sizes chunks in tokens, so it needs a counter. When the embedding model's tokenizer is known the
Document hands it to the splitter (`tokenizer_counter`); otherwise `approx_token_counts` is used. Counters that
download data at run time (OpenAI's BPE files, NLTK corpora) are deliberately not used.
"""
from __future__ import annotations

import hashlib
import re
from typing import Any, Protocol

from .lang import CJK_CHARS


class TokenCounter(Protocol):
    """Any callable mapping a batch of texts to their token counts (without special tokens)."""

    def __call__(self, texts: list[str]) -> list[int]: ...


# A run of letters/digits outside CJK is one word; any other non-space character (a CJK character or a
# punctuation mark) is matched alone.
_APPROX_TOKEN = re.compile(f"[^\\W_{CJK_CHARS}]+|\\S")


def approx_token_counts(texts: list[str]) -> list[int]:
    """Approximate token counts, used when no tokenizer is known.

    Rules: one token per CJK character (ideographs, kana, hangul, CJK and fullwidth punctuation), one per
    punctuation mark or other symbol, and ``max(1, ceil(len(word) / 4))`` per word, a word being a run of
    letters/digits of any non-CJK script. Whitespace counts nothing. One compiled-regex pass per text.
    """
    pattern = _APPROX_TOKEN
    # Single-character matches (CJK, punctuation, one-letter words) give (1 + 3) >> 2 == 1.
    return [sum([(len(m) + 3) >> 2 for m in pattern.findall(t)]) for t in texts]


COUNT_BATCH_CHARS = 1 << 20


class _TokenizerCounter:
    """Counts tokens with a private copy of a HF fast tokenizer, so the caller's truncation and padding
    settings (model tokenizer files often ship with both) never cap or inflate a count."""

    def __init__(self, tokenizer: Any) -> None:
        from tokenizers import Tokenizer

        tokenizer = getattr(tokenizer, "backend_tokenizer", tokenizer)  # transformers' PreTrainedTokenizerFast
        spec = tokenizer.to_str()
        self._tokenizer = Tokenizer.from_str(spec)
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._encode = getattr(self._tokenizer, "encode_batch_fast", self._tokenizer.encode_batch)
        self.name = "tokenizer:" + hashlib.blake2b(spec.encode("utf-8"), digest_size=8).hexdigest()

    def __call__(self, texts: list[str]) -> list[int]:
        """Counts in batches of about `COUNT_BATCH_CHARS` characters: a tokenizer's encodings weigh ~100
        bytes per token, so one batch of a 50 MB file would hold gigabytes at once."""
        counts: list[int] = []
        start = 0
        while start < len(texts):
            end, size = start, 0
            while end < len(texts) and (end == start or size + len(texts[end]) <= COUNT_BATCH_CHARS):
                size += len(texts[end])
                end += 1
            counts += [len(e.ids) for e in self._encode(texts[start:end], add_special_tokens=False)]
            start = end
        return counts


def tokenizer_counter(tokenizer: Any) -> TokenCounter:
    """A `TokenCounter` backed by a `tokenizers.Tokenizer` (or a transformers fast tokenizer).

    The counter has a ``name`` derived from the tokenizer's definition, so a splitter's identity changes when
    the tokenizer does.
    """
    return _TokenizerCounter(tokenizer)
