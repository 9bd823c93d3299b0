"""How SQuAD and CMRC score an answer: exact match and F1 after normalisation (tokens for English, characters
for Chinese), with the answer's citation markers removed first (they are not part of the answer); and, for an
answer in sentences (the chat's), whether it holds a gold answer (`holds_answer`)."""
from __future__ import annotations

import collections
import re
import string
import unicodedata

from ..text.citations import strip_citations

_ARTICLES = re.compile(r"\b(a|an|the)\b")


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


def holds_answer(prediction: str, gold: str, language: str = "en") -> bool:
    """Whether a sentence-long answer holds ``gold``: after SQuAD normalisation its words appear together in the
    answer (English); after CMRC normalisation its characters appear in order (Chinese: "1927年3月12日" is held
    by "在1927年的3月12日")."""
    pred, ref = normalize_answer(prediction, language), normalize_answer(gold, language)
    if not ref:
        return False
    if language == "zh":
        rest = iter(pred)
        return all(ch in rest for ch in ref)
    return f" {ref} " in f" {pred} "


def _is_punctuation(ch: str) -> bool:
    return ch in string.punctuation or unicodedata.category(ch).startswith("P")
