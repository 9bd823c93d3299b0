"""`CharacterSplitter` and `RecursiveSplitter`: chunks cut where the user says (a separator, or a list of
separators tried in order), as LazyLLM 1.4 and LangChain offer them.

Both are `SentenceSplitter` with other cut points, so they share its sizing: chunks of at most ``chunk_size``
tokens (the embedding model's, injected by the Document), overlap by whole pieces, batched counting, and the
same bounds on a huge line.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence

from ragjet.rag.transforms.base import register_transform
from ragjet.rag.transforms.sentence_splitter import SentenceSplitter, _refine
from ragjet.text.token_count import TokenCounter

DEFAULT_SEPARATORS = ("\n\n", "\n", " ", "")


def _cut(text: str, separator: str, is_regex: bool = False) -> list[str]:
    """``text`` cut after each ``separator`` (kept at the end of its piece, so the pieces join back to the
    text); ``""`` cuts between characters."""
    if separator == "":
        return list(text)
    pattern = separator if is_regex else re.escape(separator)
    pieces, start = [], 0
    for m in re.finditer(pattern, text):
        if m.end() > start:
            pieces.append(text[start:m.end()])
            start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return [p for p in pieces if p]


def _overlap_args(chunk_overlap: Optional[int], overlap: Optional[int], default: int) -> int:
    if chunk_overlap is not None and overlap is not None and chunk_overlap != overlap:
        raise TypeError("give chunk_overlap or its LazyLLM name overlap, not both")
    return next((v for v in (chunk_overlap, overlap) if v is not None), default)


@register_transform("CharacterSplitter")
class CharacterSplitter(SentenceSplitter):
    """Chunks of whole pieces between ``separator`` s (a string, or a regex with ``is_separator_regex``); a
    piece longer than a chunk is cut into words, then characters."""

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None, separator: str = " ",
                 is_separator_regex: bool = False, token_counter: Optional[TokenCounter] = None, *,
                 overlap: Optional[int] = None, keep_separator: bool = True, num_workers: int = 0) -> None:
        if not keep_separator:
            raise ValueError("keep_separator=False would drop text from the chunks: ragjet keeps every character "
                             "of the file")
        super().__init__(chunk_size, _overlap_args(chunk_overlap, overlap, 200), token_counter)
        self.separator = separator
        self.is_separator_regex = is_separator_regex

    def _identity_params(self) -> dict:
        return {**super()._identity_params(), "separator": self.separator, "regex": self.is_separator_regex}

    def pieces(self, text: str) -> list[str]:
        return _cut(text, self.separator, self.is_separator_regex)


@register_transform("RecursiveSplitter")
class RecursiveSplitter(SentenceSplitter):
    """Chunks cut at the first of ``separators`` (paragraphs, then lines, then words, then characters by
    default) and, where a piece is still longer than a chunk, at the next one."""

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 separators: Sequence[str] = DEFAULT_SEPARATORS, token_counter: Optional[TokenCounter] = None, *,
                 overlap: Optional[int] = None, keep_separator: bool = True, is_separator_regex: bool = False,
                 num_workers: int = 0) -> None:
        if not keep_separator:
            raise ValueError("keep_separator=False would drop text from the chunks: ragjet keeps every character "
                             "of the file")
        if not separators:
            raise ValueError("RecursiveSplitter needs at least one separator")
        super().__init__(chunk_size, _overlap_args(chunk_overlap, overlap, 200), token_counter)
        self.separators = list(separators)
        self.is_separator_regex = is_separator_regex

    def _identity_params(self) -> dict:
        return {**super()._identity_params(), "separators": self.separators, "regex": self.is_separator_regex}

    def pieces(self, text: str) -> list[str]:
        return _cut(text, self.separators[0], self.is_separator_regex)

    def refine(self, piece: str, count: int, size: int) -> list[str]:
        for separator in self.separators[1:]:
            finer = _cut(piece, separator, self.is_separator_regex)
            if len(finer) > 1:
                return finer
        return _refine(piece, count, size)
