"""Which script a text is written in: CJK or not. A leaf module, so splitters, prompts and benchmarks agree.

ragjet needs one decision in several places: a token counter treats each CJK character as a token, the RAG
prompt answers in the question's language, and the quality bench scores Chinese by characters. All three read
the character class defined here.
"""
from __future__ import annotations

import re
from typing import Iterable

# CJK ideographs (with radicals, extensions and compatibility forms), CJK symbols and punctuation, kana,
# bopomofo, hangul (jamo and syllables) and the halfwidth/fullwidth forms block.
CJK_CHARS = ("\u1100-\u11ff\u2e80-\u9fff\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
             "\U00020000-\U0003134f")
# A unit of text for repetition and overlap checks: one CJK character (Chinese has no spaces), or a run of
# other non-space characters (a word with its punctuation).
UNIT = re.compile(f"(?P<cjk>[{CJK_CHARS}])|[^\\s{CJK_CHARS}]+")
# CJK ideographs alone (unified, extension A, compatibility, the supplementary planes' extensions), as a
# character-class body
IDEOGRAPHS = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_IDEOGRAPH = re.compile(f"[{IDEOGRAPHS}]")
# A text is Chinese when at least this share of its letters are ideographs: Chinese prose quotes Latin names
# and numbers freely, so a strict majority would misjudge a question such as "Milvus 的索引是什么？".
CJK_SHARE = 0.3


def cjk_share(texts: Iterable[str]) -> float:
    """Share of CJK ideographs among the letters and ideographs of ``texts`` (0.0 for no letters)."""
    cjk = letters = 0
    for text in texts:
        cjk += len(_IDEOGRAPH.findall(text))
        letters += sum(ch.isalpha() for ch in text)
    return cjk / letters if letters else 0.0


def language_of(text: str) -> str:
    """``"zh"`` for a text written mostly in Chinese characters, else ``"en"`` (the languages ragjet's
    prompts and scores know)."""
    return "zh" if cjk_share([text]) >= CJK_SHARE else "en"


def units(text: str) -> list[str]:
    """``text`` as `UNIT` matches: its words and CJK characters, in order."""
    return [m.group() for m in UNIT.finditer(text)]
