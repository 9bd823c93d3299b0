"""Which nodes an answer was built from: a per-call collector that retrieval steps record into.

A server (`ragjet.web.WebModule`) or ``ragjet ask`` runs each question's flow inside
``with collect_sources() as sources:``; `Retriever` and `Reranker` call `record_sources` with the nodes they
return. Retrievers' nodes accumulate (the lecture's parallel routes each add theirs); a reranker's nodes
replace them, since they are what the LLM finally sees. A prompt step that numbers its passages ``[1] … [k]``
records them last, with ``numbered=True``: the sources are then exactly those numbers, in order, and the
answer's citations can be mapped back to them (`SourceCollector.cited`). Small models often answer without
the citations they were asked for; the passages such an answer was taken from are then found by the share of
its sentences' words they hold (`ragjet.text.citations`), and ``cited_by`` says which way the numbers were
found; the one sentence the answer rests on is quoted beside it (`SourceCollector.check_grounding`). A step that
had to change the input (a prompt cut to fit a context window) says so with `record_notice`, for the caller to
show.

Outside a collector these calls cost one ContextVar read, so flows run without a server pay nothing. Parallel
branches run in copies of the caller's context, which share the same collector.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Optional

from ..text.abstention import says_not_found
from ..text.citations import cited_numbers, overlap_numbers
from ..text.evidence import Evidence, evidence_sentence
from ..text.grounding import grounding_notice, ungrounded_terms, unsupported_notice
from .source_view import file_name


def passage_name(node: Any) -> str:
    """The name a passage is shown under to the model: its file's name (`file_name`), "document" for a node
    made by hand."""
    return file_name(node) or "document"


def shown_texts(nodes: Iterable[Any]) -> list[str]:
    """What the model read of each passage: its file's name (the prompt shows it, and a model may quote a
    document's title from it) and its text. The grounding check looks for an answer's terms here."""
    return [f"{passage_name(node)}\n{node.get_content()}" for node in nodes]


class SourceCollector:
    """The nodes recorded during one flow call, in order, de-duplicated by uid (the first copy is kept)."""

    def __init__(self) -> None:
        self._nodes: list[Any] = []
        self._final = False
        self.numbered = False
        self.question: Optional[str] = None  # the question the numbered passages were shown with
        self.notices: list[str] = []
        self.usage: Optional[dict[str, int]] = None
        self._lock = threading.Lock()

    def record(self, nodes: Iterable[Any], reranked: bool = False, numbered: bool = False,
               question: Optional[str] = None) -> None:
        nodes = list(nodes)
        with self._lock:
            if reranked or numbered:
                self._nodes, self._final = nodes, True
                self.numbered = self.numbered or numbered
                self.question = question if numbered else self.question
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

    def check_grounding(self, answer: str) -> "Grounding":
        """How ``answer`` stands against the numbered passages it was written from: its key terms that none of
        them holds (`ungrounded_terms`), the sentence it rests on (`evidence_sentence`), and whether it is
        *unsupported*: an answer (not an abstention) sharing no word beyond the question's with any sentence of
        them (the question's own words count for a yes-or-no question: `evidence_sentence`). On the shared
        SQuAD and CMRC samples every such answer was wrong (6 of 60 chat answers, 2026-12-06);
        on the held-out lecture set 8 of 9. A flagged answer gets a notice. Nothing is checked when no passages
        were numbered for a model (an answer made of the passages themselves is grounded by construction)."""
        if not self.numbered:
            return Grounding([], None, False)
        question = self.question or ""
        nodes = self.nodes
        terms = ungrounded_terms(answer, shown_texts(nodes), question)
        evidence = evidence_sentence(answer, [node.get_content() for node in nodes], question)
        unsupported = evidence is None and bool(answer.strip()) and not says_not_found(answer)
        if terms:
            self.notice(grounding_notice(terms, question or answer))
        elif unsupported:
            self.notice(unsupported_notice(question or answer))
        return Grounding(terms, evidence, unsupported)


@dataclass(frozen=True)
class Grounding:
    """`SourceCollector.check_grounding`'s verdict: ``ungrounded`` key terms no passage holds, the ``evidence``
    sentence to quote, ``unsupported`` when no sentence shares the answer's words; ``flagged`` when either."""

    ungrounded: list[str]
    evidence: Optional[Evidence]
    unsupported: bool

    @property
    def flagged(self) -> bool:
        return bool(self.ungrounded) or self.unsupported


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


def record_sources(nodes: Iterable[Any], reranked: bool = False, numbered: bool = False,
                   question: Optional[str] = None) -> None:
    """Record ``nodes`` (DocNodes) as sources of the current answer, if someone is collecting them.

    Retrievers pass ``reranked=False`` (their nodes add up); rerankers pass ``reranked=True`` (theirs win); a
    prompt step that shows them to the model as ``[1] … [k]`` passes ``numbered=True`` and the ``question``."""
    collector = _CURRENT.get()
    if collector is not None:
        collector.record(nodes, reranked, numbered, question)


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
