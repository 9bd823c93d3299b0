"""The sentence of the passages that an answer rests on, quoted under it so a reader can check the answer.

A small model's wrong answer reads as confidently as a right one; the grounding flag (`ragjet.text.grounding`)
catches invented names and numbers, not a real name put in the wrong role. Quoting the one sentence of the
passages that holds most of the answer's own words (content words and key terms the question does not already
hold) puts the document's words beside the model's: a right answer is confirmed at a glance, and a wrong one often
contradicted by its own quote ("Gurian created Notre Dame" over "The Review of Politics was founded in 1939 by
Gurian"). The sentence is the document's text, never the model's. An answer that says the documents do not
hold the answer, or shares no content word with any sentence, has no evidence.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional, Sequence

from .abstention import says_not_found
from .citations import content_words, plain_words, strip_citations
from .grounding import key_terms
from .sentences import sentences

# One line break between two lines of a paragraph (not before a heading, list item, quote or table row)
_WRAPPED_LINE = re.compile(r"(?<=\S)[ \t]*\n[ \t]*(?![#>*+|-]|\d+[.)]\s)(?=\S)")
# English words of up to three letters that carry no content (longer ones are `content_words`' business)
FUNCTION_WORDS = frozenset(
    "a an the is am are was be of in on at to for by it its and or nor but not no yes so as if he she his her him "
    "we us our you i me my do did has had can may who how why all any one per via off out up own too yet etc let "
    "get got use".split())
# A Chinese yes-no question: a final 吗, or an A-not-A or 是否-like form anywhere in it
_YES_NO_ZH = re.compile(r"吗\s*[？?。！!]*$|是否|能否|可否|有没有|是不是|可不可以|能不能|会不会|要不要|对不对")
_YES_NO_EN = frozenset("is are was were am do does did can could will would shall should may might must has have "
                       "had".split())
MAX_CHARS = 300  # a longer sentence (a line of a table dump, unpunctuated Chinese) is shown around its match


class Evidence(NamedTuple):
    """``source``: the 1-based number of the passage; ``text``: its sentence (or the part of it shown)."""
    source: int
    text: str


def evidence_sentence(answer: str, passages: Sequence[str], question: str = "") -> Optional[Evidence]:
    """The sentence of ``passages`` sharing the most of ``answer``'s words beyond the ``question``'s
    (`answer_terms`), the highest-ranked passage's on a tie; None when it shares none or the answer abstains.
    A line break inside a paragraph (hard-wrapped text, PDF lines) does not end a sentence."""
    if not answer.strip() or says_not_found(answer):
        return None
    said = answer_terms(strip_citations(answer))
    terms = said - _words(question)
    if not terms and asks_yes_or_no(question):
        terms = said  # "招标人可以自行办理招标事宜。": a yes said in the question's own words
    best: Optional[tuple[int, int, str, set[str]]] = None
    for number, passage in enumerate(passages, 1):
        for sentence in sentences(_WRAPPED_LINE.sub(" ", passage)):
            shared = terms & _words(sentence)
            if shared and (best is None or len(shared) > best[0]):
                best = (len(shared), number, sentence.strip(), shared)
    if best is None:
        return None
    _, number, sentence, shared = best
    return Evidence(number, _around(sentence, shared))


def asks_yes_or_no(question: str) -> bool:
    """Whether ``question`` is answered yes or no ("…吗？", "是否…", "Can …?"): its answer may hold nothing but the
    question's own words, and is then quoted by them, where an answer to another question that only says the
    question back says nothing and has no evidence."""
    text = question.strip()
    if _YES_NO_ZH.search(text):
        return True
    first = text.split(maxsplit=1)[0].lower() if text else ""
    return first in _YES_NO_EN


def answer_terms(answer: str) -> set[str]:
    """The words of ``answer`` that say something: its `content_words` and `key_terms`, and its short words
    that are not English function words ("red" in "the red planet", which `content_words`' four-letter rule
    leaves out)."""
    short = {w for w in plain_words(answer) if w.isascii() and w.isalpha() and len(w) < 4} - FUNCTION_WORDS
    return content_words(answer) | {t.lower() for t in key_terms(answer)} | short


def _words(text: str) -> set[str]:
    """Every word of ``text`` (lowercased, without edge punctuation) and its `content_words`."""
    return content_words(text) | {w for w in plain_words(text) if w}


def _around(sentence: str, shared: set[str]) -> str:
    """``sentence`` whole when short, else the `MAX_CHARS` window that opens before its first shared word."""
    text = " ".join(sentence.split())
    if len(text) <= MAX_CHARS:
        return text
    lowered = text.lower()
    first = min((at for at in (lowered.find(w) for w in shared) if at >= 0), default=0)
    start = max(0, min(first - MAX_CHARS // 4, len(text) - MAX_CHARS))
    return ("…" if start else "") + text[start:start + MAX_CHARS] + ("…" if start + MAX_CHARS < len(text) else "")
