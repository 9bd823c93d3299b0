"""Whether an answer says that the documents do not hold what was asked ("an abstention"), in English or Chinese.

The chat's prompt asks the model to say so when none of the passages mentions what the question asks about;
the quality bench counts such answers (right on a question the documents cannot answer, wrong on one they can),
and the grounding check leaves them alone (an abstention names nothing that could be ungrounded). Models word
it many ways, so this matches the shapes seen from the bundled models and common phrasings, not one sentence.
"""
from __future__ import annotations

import re

_ENGLISH = re.compile(
    r"\b(?:(?:does|do|did)\s*n[o']t|not|never|no(?:where)?)\b[^.!?\n]{0,60}?"
    r"\b(?:contain|mention|include|provide|say|state|specify|give|answer|cover|discuss|address|list|hold|tell)"
    r"|\bno (?:information|mention|answer|details?|data|passage|relevant)\b"
    r"|\b(?:not|n't) (?:be )?(?:found|available|provided|given|mentioned|specified|stated)\b"
    r"|\b(?:cannot|can't|unable to) (?:be )?(?:answer|determine|find|tell|say)",
    re.IGNORECASE)
_CHINESE = re.compile(r"(?:没有|并未|未|无|不)(?:[^。！？\n]{0,12}?)(?:提到|提及|答案|包含|说明|涉及|相关信息|信息|找到|给出|记载|回答)"
                      r"|无法(?:回答|确定|得知|找到|判断)|不清楚|不知道")


def says_not_found(answer: str) -> bool:
    """True when ``answer`` says the documents (passages, context) do not hold the answer."""
    return bool(_ENGLISH.search(answer) or _CHINESE.search(answer))
