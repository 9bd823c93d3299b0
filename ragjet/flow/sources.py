"""Which nodes an answer was built from: a per-call collector that retrieval steps record into.

A server (`ragjet.web.WebModule`) or ``ragjet ask`` runs each question's flow inside
``with collect_sources() as sources:``; `Retriever` and `Reranker` call `record_sources` with the nodes they
return. Retrievers' nodes accumulate (the lecture's parallel routes each add theirs); a reranker's nodes
replace them, since they are what the LLM finally sees. A prompt step that numbers its passages ``[1] … [k]``
records them last, with ``numbered=True``: the sources are then exactly those numbers, in order, and the
answer's citations can be mapped back to them (`SourceCollector.cited`). Small models often answer without
the citations they were asked for; the passages such an answer was taken from are then found by the share of
its sentences' words they hold (`overlap_numbers`), and ``cited_by`` says which way the numbers were found. A step that had to change the input
(a prompt cut to fit a context window) says so with `record_notice`, for the caller to show.

Outside a collector these calls cost one ContextVar read, so flows run without a server pay nothing. Parallel
branches run in copies of the caller's context, which share the same collector.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterable, Iterator, Optional, Sequence

from ..text.lang import units

# [1], [1, 3], [1][2], 【2】, [1-2]: the citation forms models write
_CITATION = re.compile(r"[\[【]\s*(\d+(?:\s*[,，、\-–]\s*\d+)*)\s*[\]】]")
_WORD_EDGES = re.compile(r"^\W+|\W+$")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")
MIN_OVERLAP = 0.5  # an uncited answer is attributed to passages holding at least half of its words...
NEAR_BEST = 0.75  # ...and at least this share of the best passage's overlap


class SourceCollector:
    """The nodes recorded during one flow call, in order, de-duplicated by uid (the first copy is kept)."""

    def __init__(self) -> None:
        self._nodes: list[Any] = []
        self._final = False
        self.numbered = False
        self.notices: list[str] = []
        self.usage: Optional[dict[str, int]] = None
        self._lock = threading.Lock()

    def record(self, nodes: Iterable[Any], reranked: bool = False, numbered: bool = False) -> None:
        nodes = list(nodes)
        with self._lock:
            if reranked or numbered:
                self._nodes, self._final = nodes, True
                self.numbered = self.numbered or numbered
            elif not self._final:
                self._nodes.extend(nodes)

    def notice(self, text: str) -> None:
        with self._lock:
            if text not in self.notices:
                self.notices.append(text)

    def add_usage(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            used = self.usage or {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
            used["prompt_tokens"] += prompt_tokens
            used["completion_tokens"] += completion_tokens
            used["total_tokens"] = used["prompt_tokens"] + used["completion_tokens"]
            self.usage = used

    @property
    def nodes(self) -> list[Any]:
        with self._lock:
            recorded = list(self._nodes)
        unique: dict[Any, Any] = {}
        for node in recorded:
            unique.setdefault(getattr(node, "uid", id(node)), node)
        return list(unique.values())

    def cited(self, answer: str) -> Optional[list[int]]:
        """The passage numbers ``answer`` cites (1-based, in order of first citation, only numbers that were
        given), else those it was taken from (`overlap_numbers`); None when the sources were not numbered."""
        return self.citations(answer)[0]

    def citations(self, answer: str) -> tuple[Optional[list[int]], Optional[str]]:
        """(`cited` numbers, how they were found: ``"answer"`` for the answer's own ``[n]``, ``"overlap"`` for
        the words it shares with the passages), or (None, None) when the sources were not numbered."""
        if not self.numbered:
            return None, None
        nodes = self.nodes
        numbers = cited_numbers(answer, len(nodes))
        if numbers:
            return numbers, "answer"
        return overlap_numbers(answer, [n.get_content() for n in nodes]), "overlap"


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
    the best one. Sentence by sentence, so a preamble ("Based on the passages, ...") does not hide the fact."""
    held = [_content(p) for p in passages]
    found: dict[int, None] = {}
    for sentence in _SENTENCE_END.split(answer):
        words = _content(sentence)
        if not words:
            continue
        shares = [len(words & passage) / len(words) for passage in held]
        best = max(shares, default=0.0)
        for i in sorted(range(len(shares)), key=lambda i: -shares[i]):
            if shares[i] >= MIN_OVERLAP and shares[i] >= NEAR_BEST * best:
                found.setdefault(i + 1, None)
    return list(found)


def _content(text: str) -> set[str]:
    seq = [_WORD_EDGES.sub("", u.lower()) for u in units(text)]
    words = {w for w in seq if len(w) >= 4 or any(ch.isdigit() for ch in w)}
    cjk = [w if len(w) == 1 and not w.isascii() else "" for w in seq]
    return words | {a + b for a, b in zip(cjk, cjk[1:]) if a and b}


_CURRENT: ContextVar[Optional[SourceCollector]] = ContextVar("ragjet_sources", default=None)


@contextmanager
def collect_sources() -> Iterator[SourceCollector]:
    """Collect the sources recorded by the flow steps run inside the block (in this context)."""
    collector = SourceCollector()
    token = _CURRENT.set(collector)
    try:
        yield collector
    finally:
        _CURRENT.reset(token)


def record_sources(nodes: Iterable[Any], reranked: bool = False, numbered: bool = False) -> None:
    """Record ``nodes`` (DocNodes) as sources of the current answer, if someone is collecting them.

    Retrievers pass ``reranked=False`` (their nodes add up); rerankers pass ``reranked=True`` (theirs win); a
    prompt step that shows them to the model as ``[1] … [k]`` passes ``numbered=True``."""
    collector = _CURRENT.get()
    if collector is not None:
        collector.record(nodes, reranked, numbered)


def record_notice(text: str) -> None:
    """Tell the caller of the current answer something it should show (e.g. that the prompt was cut)."""
    collector = _CURRENT.get()
    if collector is not None:
        collector.notice(text)


def record_usage(prompt_tokens: int, completion_tokens: int) -> None:
    """Add a model call's token counts to the current answer's ``usage`` (several calls add up)."""
    collector = _CURRENT.get()
    if collector is not None:
        collector.add_usage(prompt_tokens, completion_tokens)
