"""Whether an answer's key words come from the passages it was given: the check behind the chat's "ungrounded"
flag.

A small model answers fluently whether or not the passages hold the answer; the words a reader would act on
(names, numbers, quoted terms) are what it invents. So the key terms of an answer are its numbers, its
capitalised words not opening a sentence, its quoted or `code` spans and, in Chinese, its Latin words and
numbers and its CJK character pairs; those the question already holds are left out (repeating the question is
not inventing). A term that appears in none of the passages is *ungrounded*; a Chinese answer is flagged when
fewer than half of its character pairs appear in them. An answer that says the documents do not hold the
answer names nothing, so it is never flagged.
"""
from __future__ import annotations

import re
from typing import Sequence

from .abstention import says_not_found
from .citations import strip_citations
from .lang import CJK_CHARS, language_of

# A Latin word or a number; CJK characters end a word, so "补贴1000元" yields the number 1000 (a word run on
# through the Chinese around it hid every number written without spaces)
_WORD = re.compile(rf"[^\W\d_{CJK_CHARS}](?:[^\W{CJK_CHARS}]|['’-])*|\d[\d,.:/-]*\d|\d")
_QUOTED = re.compile(r"`([^`]{2,60})`|\"([^\"]{2,60})\"|“([^”]{2,60})”|「([^」]{1,60})」")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？:;]\s*|\n\s*|^\W*)$")
_CJK = re.compile(r"[\u3400-\u9fff]+")
_OPENERS = {"i", "the", "a", "an", "yes", "no", "based", "according", "in", "on", "it", "this", "that"}
MIN_CJK_SHARE = 0.5  # of an answer's CJK character pairs (not in the question), at least this share in passages


def ungrounded_terms(answer: str, passages: Sequence[str], question: str = "") -> list[str]:
    """The key terms of ``answer`` found in none of ``passages`` (and not in ``question``), in order."""
    if not answer.strip() or says_not_found(answer):
        return []
    answer = strip_citations(answer)
    held = " ".join(passages).lower()
    asked = question.lower()
    missing = [term for term in key_terms(answer) if term.lower() not in asked and not _holds(held, term)]
    pairs = [p for p in _cjk_pairs(answer) if p not in asked]
    if pairs:
        found = sum(p in held for p in pairs)
        if found < MIN_CJK_SHARE * len(pairs):
            missing += _shown_runs([p for p in pairs if p not in held], asked)
    return list(dict.fromkeys(missing))


def key_terms(answer: str) -> list[str]:
    """The words of ``answer`` a reader would act on: numbers, capitalised words not opening a sentence, quoted
    and `code` spans (any length: ``map`` names a store)."""
    terms = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(answer)]
    for match in _WORD.finditer(answer):
        word = match.group().strip("'’-.,:/")
        if not word:
            continue
        opens = bool(_SENTENCE_START.search(answer[:match.start()]))
        if word[0].isdigit() or (word[0].isupper() and not opens and word.lower() not in _OPENERS):
            terms.append(word)
    return terms


def _holds(text: str, term: str) -> bool:
    """Whether lower-cased ``text`` holds ``term`` as a whole word: not inside a longer Latin word or number
    ("1000" is not in "10000"), though Chinese may touch it ("满2年" holds "2")."""
    term = term.lower()
    if not term.isascii():
        return term in text
    return re.search(rf"(?<![0-9a-z]){re.escape(term)}(?![0-9a-z])", text) is not None


def _cjk_pairs(text: str) -> list[str]:
    return [run[i:i + 2] for run in _CJK.findall(text) for i in range(len(run) - 1)]


def _shown_runs(pairs: list[str], asked: str) -> list[str]:
    """The runs of text the missing character ``pairs`` cover, without edge characters the question holds (a
    pair straddling two of its words, "话发" of 电话|发明) and without the single characters left over."""
    edges = "".join(set(asked))
    return [run for run in (r.strip(edges) for r in _runs(pairs)) if len(run) > 1]


def _runs(pairs: list[str]) -> list[str]:
    """Consecutive character pairs joined back into the runs of text they cover."""
    runs: list[str] = []
    for pair in pairs:
        if runs and runs[-1].endswith(pair[0]) and len(runs[-1]) < 12:
            runs[-1] += pair[1]
        else:
            runs.append(pair)
    return runs


def unsupported_notice(question: str) -> str:
    """What the reader is told about an answer that shares no word with any sentence of its sources beyond the
    question's own (`ragjet.text.evidence`: it has no evidence), in the question's language."""
    if language_of(question) == "zh":
        return "来源中没有任何句子包含这个回答的内容：它可能是模型编造的，请对照来源核实。"
    return ("no sentence of the answer's sources holds what it says: the model may have made it up; check it "
            "against the sources")


def grounding_notice(terms: Sequence[str], question: str) -> str:
    """What the reader is told about an answer with ungrounded ``terms``, in the question's language."""
    shown = ", ".join(terms[:6]) + (" …" if len(terms) > 6 else "")
    if language_of(question) == "zh":
        return f"回答中的关键词（{shown}）不在任何来源段落中：它可能是模型编造的，请对照来源核实。"
    return (f"the answer's key words ({shown}) appear in none of its sources: the model may have made them up; "
            f"check it against the sources")
