"""Lines that a PDF wrapped inside a Chinese or Japanese sentence, joined back.

A PDF keeps no paragraphs, only lines: its text comes out with a newline wherever the page wrapped a line.
English loses little (the newline reads as the space that was there), but Chinese and Japanese write no
spaces, so a wrap splits a word: "城市总体规划布\\n局" shows as "布 局" in a passage, the lexical route's
tokenizer reads two characters instead of "布局", and a sentence reaches the embedder and the model in pieces.
Such a newline stands between two ideographs or kana (or a comma-like mark); a line that ends a paragraph
ends with a full stop, a colon or a semicolon, or with the space a PDF writes after the last word of a
paragraph, and a heading or list item starts its line with its marker (第三条, （一）, 二、). Those stay.
Hangul is left alone: Korean wraps at the spaces it writes.
"""
from __future__ import annotations

import re

from .lang import IDEOGRAPHS

_WIDE = "\u3040-\u30ff" + IDEOGRAPHS  # kana and ideographs
_INNER = "，、（）《》〈〉“”‘’「」『』【】〔〕—…·"  # marks a sentence goes on after
_MARKER = "第[一二三四五六七八九十百千零〇\\d]+[条章节款编部]|（[一二三四五六七八九十\\d]+）|[一二三四五六七八九十]+、"
_WRAP = re.compile(f"(?<=[{_WIDE}{_INNER}])\n(?=[{_WIDE}{_INNER}])(?!{_MARKER})")


def join_wrapped_lines(text: str) -> str:
    """``text`` with the newlines a page wrap put inside a Chinese or Japanese sentence removed."""
    return _WRAP.sub("", text)
