"""Where a sentence ends, in English and Chinese: one rule for the sentence splitter's chunks and for the
sentence an answer is quoted from (`ragjet.text.evidence`)."""
from __future__ import annotations

import re

# Each match (with the whitespace that follows it) closes a sentence.
SENTENCE_END = re.compile(
    # English: . ! ? (and closing quotes) before whitespace or the end, unless a lowercase word follows
    # (so "e.g. this" and "etc. and" stay whole)
    r"[.!?]+[\"'”’)\]]*(?:\s+(?=[^\sa-z])|\s*$)"
    r"|[。！？；…．｡]+[\"'”’」』）》〉\]]*\s*"  # Chinese/Japanese fullwidth marks: no whitespace needed
    r"|\s*\n\s*"                               # a line break; a paragraph break is just a longer one
)


def sentences(text: str) -> list[str]:
    """``text`` cut after each sentence end; every piece keeps its trailing whitespace, none is blank."""
    pieces = []
    start = 0
    for m in SENTENCE_END.finditer(text):
        pieces.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return [p for p in pieces if p and not p.isspace()]
