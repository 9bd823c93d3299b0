"""Which passages an answer draws on: the ``[n]`` citations a model writes, and, for an answer that cites
nothing, the passages holding most of its sentences' content words. Text only: `ragjet.flow.sources` applies it
to an answer's recorded sources."""
from __future__ import annotations

import re
from typing import Sequence

from .lang import units

# [1], [1, 3], [1][2], 【2】, [1-2]: the citation forms models write
_CITATION = re.compile(r"[\[【]\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*[\]】]")
_WORD_EDGES = re.compile(r"^\W+|\W+$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
# "Based on the information provided in the passages, ..." / "根据文档，...": words about the passages, not from them
_PREAMBLE = re.compile(r"^\s*(?:(?:based on|according to|as stated in|from)\b[^,:;.]*[,:]|(?:根据|按照)[^，,：:]*[，,：:])\s*",
                       re.IGNORECASE)
MIN_OVERLAP = 0.5  # an uncited answer is attributed to passages holding at least half of its words...
NEAR_BEST = 0.75  # ...and at least this share of the best passage's overlap


def strip_citations(text: str) -> str:
    """``text`` without its ``[1]``-style markers (they are not part of what it says)."""
    return re.sub(r"\s*" + _CITATION.pattern, "", text).strip()


def cited_numbers(answer: str, count: int) -> list[int]:
    """The numbers in 1..count that ``answer`` cites as ``[n]`` (lists and ranges included), in order."""
    found: dict[int, None] = {}
    for match in _CITATION.finditer(answer):
        for part in re.split(r"[,，、]", match.group(1)):
            bounds = [int(b) for b in re.split(r"[\-–]", part)]
            low, high = bounds[0], bounds[-1]
            for n in range(low, high + 1) if 0 < high - low < count else bounds:
                if 1 <= n <= count:
                    found.setdefault(n, None)
    return list(found)


def overlap_numbers(answer: str, passages: Sequence[str]) -> list[int]:
    """The 1-based numbers of the passages ``answer`` was most likely taken from, in order of use: for each of
    its sentences, the passages holding at least `MIN_OVERLAP` of the sentence's content words (words of four
    characters or more, numbers, CJK character pairs: a stop-word list without one) and within `NEAR_BEST` of
    the best one. Sentence by sentence, and without a sentence's opening about the passages ("Based on the
    information provided in the passages, ..."), so such a preamble does not hide the fact."""
    held = [content_words(p) for p in passages]
    found: dict[int, None] = {}
    for sentence in _SENTENCE_END.split(answer):
        words = content_words(_PREAMBLE.sub("", sentence))
        if not words:
            continue
        shares = [len(words & passage) / len(words) for passage in held]
        best = max(shares, default=0.0)
        for i in sorted(range(len(shares)), key=lambda i: -shares[i]):
            if shares[i] >= MIN_OVERLAP and shares[i] >= NEAR_BEST * best:
                found.setdefault(i + 1, None)
    return list(found)


def plain_words(text: str) -> list[str]:
    """``text``'s words and CJK characters in order, lowercased, without the punctuation at their edges."""
    return [_WORD_EDGES.sub("", u.lower()) for u in units(text)]


def content_words(text: str) -> set[str]:
    """The words of ``text`` that carry its content: words of four characters or more, numbers, and CJK
    character pairs (a stop-word list without one, for English and Chinese alike)."""
    seq = plain_words(text)
    words = {w for w in seq if len(w) >= 4 or any(ch.isdigit() for ch in w)}
    cjk = [w if len(w) == 1 and not w.isascii() else "" for w in seq]
    return words | {a + b for a, b in zip(cjk, cjk[1:]) if a and b}
