"""`MarkdownSplitter`: chunks that follow a Markdown file's headings, as LazyLLM 1.4's MarkdownSplitter makes
them, with the heading path as metadata and fenced code, tables and lists optionally kept as chunks of their
own (cut by lines, never mid-line, when one is larger than a chunk)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from ragjet.rag.doc_node import DocNode
from ragjet.rag.transforms.base import register_transform
from ragjet.rag.transforms.section_splitter import LINES, PROSE, Section, SectionSplitter
from ragjet.text.token_count import TokenCounter

_HEADING = re.compile(r"^(#{1,6})[ \t]+(\S.*?)[ \t]*$")
_CLOSING_HASHES = re.compile(r"[ \t]+#+$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)")
_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+\S")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]+\)")
_LINK = re.compile(r"(?<!!)\[[^\]\n]+\]\([^)\n]+\)")


@dataclass
class _Block:
    """A run of a section's lines: prose (``content``), or a code block (its language), table or list."""

    type: str
    lines: list[str]


def heading_of(line: str) -> Optional[tuple[int, str]]:
    """The level and text of an ATX heading line (``## Setup ##`` is level 2, ``Setup``), else None."""
    m = _HEADING.match(line.rstrip("\n"))
    if not m:
        return None
    title = _CLOSING_HASHES.sub("", m.group(2)).strip() or m.group(2).strip()
    return len(m.group(1)), title


@dataclass
class _Fence:
    """A fenced code block: its first line, the line after its end, its language, whether it was closed."""

    start: int
    end: int
    language: str
    closed: bool


def _fences(lines: list[str]) -> list[_Fence]:
    """The fenced code blocks among ``lines``; one left open runs to the end, as CommonMark reads it."""
    found: list[_Fence] = []
    opening: Optional[re.Match] = None
    start = 0
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if opening is None:
            if m:
                opening, start = m, i
        elif m and m.group(1)[0] == opening.group(1)[0] and len(m.group(1)) >= len(opening.group(1)) \
                and not m.group(2):
            found.append(_Fence(start, i + 1, opening.group(2), True))
            opening = None
    if opening is not None:
        found.append(_Fence(start, len(lines), opening.group(2), False))
    return found


def _fenced(lines: list[str], fences: list[_Fence]) -> list[bool]:
    inside = [False] * len(lines)
    for fence in fences:
        inside[fence.start:fence.end] = [True] * (fence.end - fence.start)
    return inside


def _keep_whole(pieces: list[str], spans: list[tuple[int, int]]) -> list[str]:
    """``pieces`` with every cut that falls inside one of ``spans`` (character offsets) undone."""
    if not spans:
        return pieces
    inside = set()
    for start, end in spans:
        inside.update(range(start + 1, end))
    joined: list[str] = []
    offset = 0
    for piece in pieces:
        if joined and offset in inside:
            joined[-1] += piece
        else:
            joined.append(piece)
        offset += len(piece)
    return joined


@register_transform("MarkdownSplitter")
class MarkdownSplitter(SectionSplitter):
    """Splits Markdown at its headings: each chunk holds text of one section, and (with ``keep_trace``) its
    ``path``, the headings above it, or (with ``keep_headers``) its ``header``, in metadata.

    ``keep_code_blocks``, ``keep_tables`` and ``keep_lists`` make each fenced code block (its code, the
    language in ``type``), table or list a chunk of its own; ``keep_images`` and ``keep_links`` keep every
    image and link whole inside its chunk. A heading that no metadata records stays in its section's text,
    so no heading is lost."""

    hidden_keys = ("level", "type", "token_size")

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, keep_trace: bool = False, keep_headers: bool = False,
                 keep_lists: bool = False, keep_code_blocks: bool = False, keep_tables: bool = False,
                 keep_images: bool = False, keep_links: bool = False) -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.keep_trace = keep_trace
        self.keep_headers = keep_headers
        self.keep_lists = keep_lists
        self.keep_code_blocks = keep_code_blocks
        self.keep_tables = keep_tables
        self.keep_images = keep_images
        self.keep_links = keep_links

    def sections(self, text: str, size: int) -> list[Section]:
        found: list[Section] = []
        for path, level, body in self._heading_sections(text):
            meta: dict[str, Any] = {}
            if self.keep_trace:
                meta["path"] = list(path)
            meta["level"] = level
            if self.keep_headers:
                meta["header"] = path[-1] if path else None
            for block in self._blocks(body):
                kind = PROSE if block.type == "content" else LINES
                found.append(Section("".join(block.lines).strip("\n"), {**meta, "type": block.type}, kind))
        return found

    def _heading_sections(self, text: str) -> Iterator[tuple[list[str], int, list[str]]]:
        """(heading path, level, body lines) of the text before the first heading and of each heading."""
        lines = text.splitlines(keepends=True)
        fenced = _fenced(lines, _fences(lines))
        in_metadata = self.keep_trace or self.keep_headers
        path: list[str] = []
        levels: list[int] = []
        level = 0
        body: list[str] = []
        for line, code in zip(lines, fenced):
            heading = None if code else heading_of(line)
            if heading is None:
                body.append(line)
                continue
            yield list(path), level, body
            level, title = heading
            while levels and levels[-1] >= level:
                levels.pop()
                path.pop()
            levels.append(level)
            path.append(title)
            body = [] if in_metadata else [line]
        yield list(path), level, body

    def _blocks(self, lines: list[str]) -> list[_Block]:
        """The body cut into prose and the code blocks, tables and lists that are kept whole."""
        fences = _fences(lines)
        fenced = _fenced(lines, fences)
        opens = {f.start: f for f in fences} if self.keep_code_blocks else {}
        blocks: list[_Block] = []
        i = 0
        while i < len(lines):
            if i in opens:
                fence = opens[i]
                blocks.append(_Block(fence.language or "code", lines[i + 1:fence.end - fence.closed]))
                i = fence.end
                continue
            kind, end = ("content", i + 1) if fenced[i] else self._element_at(lines, i)
            if kind == "content" and blocks and blocks[-1].type == "content":
                blocks[-1].lines.extend(lines[i:end])
            else:
                blocks.append(_Block(kind, lines[i:end]))
            i = end
        return blocks

    def _element_at(self, lines: list[str], i: int) -> tuple[str, int]:
        """The kind of block (a table or list kept whole, else content) at line ``i``, and the line after it."""
        if self.keep_tables and _TABLE_ROW.match(lines[i]):
            end = i
            while end < len(lines) and _TABLE_ROW.match(lines[end]):
                end += 1
            if end - i >= 2:
                return "table", end
        if self.keep_lists and _LIST_ITEM.match(lines[i]):
            end = i + 1
            while end < len(lines) and (_LIST_ITEM.match(lines[end])
                                        or (lines[end][:1] in (" ", "\t") and lines[end].strip())):
                end += 1
            return "list", end
        return "content", i + 1

    def _cut(self, section: Section) -> list[str]:
        pieces = super()._cut(section)
        patterns = [p for keep, p in ((self.keep_images, _IMAGE), (self.keep_links, _LINK)) if keep]
        spans = [m.span() for p in patterns for m in p.finditer(section.text)]
        return _keep_whole(pieces, spans)

    def _finish(self, chunks: list[list[DocNode]]) -> list[list[DocNode]]:
        flat = [node for nodes in chunks for node in nodes]
        for node, count in zip(flat, self._count([n.text for n in flat])):
            node.metadata["token_size"] = count
        return chunks

