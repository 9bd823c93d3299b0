"""How SQuAD and CMRC score an answer: exact match and F1 after normalisation (tokens for English, characters
for Chinese), with the answer's citation markers removed first (they are not part of the answer)."""
from __future__ import annotations

import collections
import re
import string
import unicodedata

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_CITATIONS = re.compile(r"\s*[\[【]\s*\d+(?:\s*[,，、\-–]\s*\d+)*\s*[\]】]")


def strip_citations(text: str) -> str:
    """``text`` without ``[1]``-style markers."""
    return _CITATIONS.sub("", text).strip()


def normalize_answer(text: str, language: str = "en") -> str:
    """SQuAD's normalisation (lower case, no punctuation, articles or extra spaces); for Chinese, also no
    spaces and no full-width punctuation."""
    text = strip_citations(text).lower()
    if language == "zh":
        return "".join(ch for ch in text if not ch.isspace() and not _is_punctuation(ch))
    text = "".join(ch for ch in text if ch not in string.punctuation)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str, language: str = "en") -> float:
    return float(normalize_answer(prediction, language) == normalize_answer(gold, language))


def f1_score(prediction: str, gold: str, language: str = "en") -> float:
    """Token F1 (SQuAD); character F1 for Chinese (CMRC)."""
    pred, ref = normalize_answer(prediction, language), normalize_answer(gold, language)
    pred_tokens, ref_tokens = (list(pred), list(ref)) if language == "zh" else (pred.split(), ref.split())
    common = sum((collections.Counter(pred_tokens) & collections.Counter(ref_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(ref_tokens)
    return 2 * precision * recall / (precision + recall)


def _is_punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")
