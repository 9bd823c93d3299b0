"""`JSONSplitter`, `JSONLSplitter` and `YAMLSplitter`: chunks that are themselves valid JSON, as LazyLLM 1.4
makes them: a value that fits is one chunk; a larger object or array is packed into consecutive members that
fit, and a member too large alone is split the same way one level down, its ``path`` (``users/[3]/name``) in
metadata. Only a string too long for a chunk is cut as text.

Members are counted once each (one counter call per level of nesting), not once per packing attempt.
"""
from __future__ import annotations

import json
from typing import Any, Iterator, Optional

from ragjet.rag.transforms.base import register_transform
from ragjet.rag.transforms.section_splitter import LINES, PROSE, Section, SectionSplitter
from ragjet.registry import missing_extra
from ragjet.text.token_count import TokenCounter

MAX_DEPTH = 20  # deeper values are chunked as text, as LazyLLM does past this depth
_PACKED = 3  # tokens a packed object or array adds to its members: brackets, and slack for the separators


def _line_col(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1


class _JSONChunker(SectionSplitter):
    """Sections of parsed JSON-like data: the packing shared by the JSON, JSONL and YAML splitters."""

    hidden_keys = ("filetype", "type", "depth", "is_complete", "keys", "length", "line")
    default_filetype = "json"  # what ``filetype`` is when not given: each splitter names its format

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, filetype: Optional[str] = None, compact_output: bool = True) -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.filetype = filetype or self.default_filetype
        self.compact_output = compact_output

    def documents(self, text: str) -> Iterator[tuple[Any, dict[str, Any]]]:
        """The values in ``text``, each with metadata of its own (a JSONL record's line)."""
        raise NotImplementedError(f"{type(self).__name__} must implement documents(text)")

    def sections(self, text: str, size: int) -> list[Section]:
        found: list[Section] = []
        for value, extra in self.documents(text):
            found.extend(self._value_sections(value, [], extra, size))
        return found

    def _dump(self, value: Any) -> str:
        # default=str: YAML dates and timestamps have no JSON form; their YAML text stands in for them
        return json.dumps(value, ensure_ascii=False, indent=None if self.compact_output else 2, default=str)

    def _meta(self, path: list[str], extra: dict[str, Any], **given: Any) -> dict[str, Any]:
        return {"filetype": self.filetype, "path": "/".join(path) if path else "root", "depth": len(path),
                **given, **extra}

    def _value_sections(self, value: Any, path: list[str], extra: dict[str, Any], size: int) -> list[Section]:
        text = self._dump(value)
        kind = PROSE if self.compact_output else LINES
        count = self._count([text])[0]
        if count <= size or len(path) >= MAX_DEPTH or not isinstance(value, (dict, list)):
            if count > size and isinstance(value, str):  # a long text: cut as prose, without JSON's quoting
                return [Section(value, self._meta(path, extra, type="string", is_complete=False))]
            return [Section(text, self._meta(path, extra, type=type(value).__name__, is_complete=count <= size),
                            kind)]
        if isinstance(value, dict):
            members = [(str(k), {k: v}) for k, v in value.items()]
            label = "dict"
        else:
            members = [(f"[{i}]", [v]) for i, v in enumerate(value)]
            label = "list"
        counts = self._count([self._dump(m)[1:-1] for _, m in members])
        found: list[Section] = []
        group: list[tuple[str, Any]] = []
        tokens = 0

        def close() -> None:
            if group:
                packed: Any = {k: v for _, m in group for k, v in m.items()} if label == "dict" else \
                    [m[0] for _, m in group]
                size = {"keys": [k for k, _ in group]} if label == "dict" else {"length": len(group)}
                found.append(Section(self._dump(packed), self._meta(path, extra, type=label, is_complete=False,
                                                                   **size), kind))
                group.clear()

        for (key, member), count in zip(members, counts):
            if count + _PACKED > size:
                close()
                tokens = 0
                inner = member[key] if label == "dict" else member[0]
                found.extend(self._value_sections(inner, path + [key], extra, size))
                continue
            if group and tokens + count + _PACKED > size:
                close()
                tokens = 0
            group.append((key, member))
            tokens += count + 1
        close()
        return found


@register_transform("JSONSplitter")
class JSONSplitter(_JSONChunker):
    """Splits one JSON document into chunks that are valid JSON (``compact_output=False``: indented)."""

    def documents(self, text: str) -> Iterator[tuple[Any, dict[str, Any]]]:
        if not text.strip():
            return
        try:
            yield json.loads(text), {}
        except json.JSONDecodeError as e:
            hint = ("several JSON values, one after another: use JSONLSplitter" if e.msg == "Extra data"
                    else "fix the file, or split it as text with SentenceSplitter")
            raise ValueError(f"invalid JSON at line {e.lineno}, column {e.colno}: {e.msg} ({hint})") from e


@register_transform("JSONLSplitter")
class JSONLSplitter(_JSONChunker):
    """Splits JSON Lines (one JSON value per line, or values spanning lines one after another): each
    record is chunked like a JSON document, its first ``line`` in metadata."""

    default_filetype = "jsonl"

    def documents(self, text: str) -> Iterator[tuple[Any, dict[str, Any]]]:
        decoder = json.JSONDecoder()
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos >= len(text):
                return
            try:
                value, end = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as e:
                line, col = _line_col(text, e.pos)
                raise ValueError(f"invalid JSON Lines record at line {line}, column {col}: {e.msg} (fix the "
                                 f"record, or split the file as text with SentenceSplitter)") from e
            yield value, {"line": _line_col(text, pos)[0]}
            pos = end


@register_transform("YAMLSplitter")
class YAMLSplitter(_JSONChunker):
    """Splits YAML (every ``---`` document of it) like JSON; chunks are the data as JSON, as LazyLLM's.
    Needs PyYAML (``pip install 'ragjet[readers]'``)."""

    default_filetype = "yaml"

    def documents(self, text: str) -> Iterator[tuple[Any, dict[str, Any]]]:
        try:
            import yaml
        except ImportError:
            raise missing_extra("pyyaml", "readers") from None
        try:
            values = [v for v in yaml.safe_load_all(text) if v is not None]
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e)
            raise ValueError(f"invalid YAML{where}: {problem} (fix the file, or split it as text with "
                             f"SentenceSplitter)") from e
        for value in values:
            yield value, {}
