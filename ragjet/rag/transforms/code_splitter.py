"""`GeneralCodeSplitter` (source code cut at its top-level definitions and blocks) and `CodeSplitter` (the
splitter for a file type, LazyLLM 1.4's dispatcher: JSON, JSONL, YAML, HTML and XML have their own, any other
type is code)."""
from __future__ import annotations

import inspect
import re
from pathlib import PurePath
from typing import Any, Optional

from ragjet.log import LOG
from ragjet.rag.doc_node import DocNode
from ragjet.rag.transforms.base import NodeTransform, register_transform
from ragjet.rag.transforms.markup_splitters import HTMLSplitter, XMLSplitter
from ragjet.rag.transforms.section_splitter import LINES, Section, SectionSplitter, lines
from ragjet.rag.transforms.structured_splitters import JSONLSplitter, JSONSplitter, YAMLSplitter
from ragjet.text.token_count import TokenCounter

# A line that opens a definition or a block, in Python and the C-like languages.
_STRUCTURE = re.compile(
    r"\s*(?:@\w|(?:async\s+)?def\s|class\s|(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b|func\s|fn\s"
    r"|(?:pub\s+)?(?:struct|enum|union|trait|impl|interface|namespace|module)\b|public\s|private\s|protected\s"
    r"|(?:if|elif|for|while|with|switch)\b|else\b|try\b|except\b|finally\b)")
# A line that continues the block above it at the same indentation: a closing bracket, the next branch.
_CONTINUES = re.compile(r"\s*(?:[}\])]|else\b|elif\b|except\b|finally\b|catch\b|end\b)")
_COMMENT = re.compile(r"\s*(?:#|//|/\*|\*|--)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def code_units(code_lines: list[str]) -> list[tuple[str, list[str]]]:
    """``code_lines`` cut at the definitions and blocks that start at their outermost indentation: a
    definition keeps the comments and decorators just above it, its body (lines indented deeper) and its
    closing bracket or next branch; the statements between definitions form ``code_block`` units."""
    body = [line for line in code_lines if line.strip()]
    base = min((_indent(line) for line in body), default=0)
    units: list[tuple[str, list[str]]] = []
    for line in code_lines:
        kind, unit = units[-1] if units else ("", [])
        if not line.strip() or _indent(line) > base or (kind == "code_structure" and _CONTINUES.match(line)):
            if units:
                unit.append(line)
            else:
                units.append(("code_block", [line]))
        elif _STRUCTURE.match(line):
            if kind == "code_structure" and unit[-1].lstrip().startswith("@"):
                unit.append(line)  # the definition under its decorators
                continue
            lead: list[str] = []
            while kind == "code_block" and unit and _COMMENT.match(unit[-1]):
                lead.insert(0, unit.pop())  # the comments right above a definition describe it
            if kind == "code_block" and not unit:
                units.pop()
            units.append(("code_structure", lead + [line]))
        elif kind == "code_block":
            unit.append(line)
        else:
            units.append(("code_block", [line]))
    return units


def _code_pieces(text: str) -> list[str]:
    """Where an over-long unit is cut first: at the units of its body, its first line joined to the first
    (a definition's signature never stands alone in a chunk)."""
    all_lines = lines(text)
    pieces = ["".join(unit) for _, unit in code_units(all_lines[1:])]
    return [all_lines[0] + pieces[0], *pieces[1:]] if pieces else all_lines


@register_transform("GeneralCodeSplitter")
class GeneralCodeSplitter(SectionSplitter):
    """Splits source code at its top-level definitions (functions, classes, structs) and blocks, one unit a
    chunk (``code_type`` ``code_structure`` or ``code_block`` in metadata); a unit larger than a chunk is cut
    at its inner definitions, then at lines."""

    hidden_keys = ("code_type", "filetype")

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, filetype: str = "code") -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.filetype = filetype or "code"

    def sections(self, text: str, size: int) -> list[Section]:
        return [Section("".join(unit), {"code_type": kind, "filetype": self.filetype}, LINES)
                for kind, unit in code_units(lines(text))]

    def _cut(self, section: Section) -> list[str]:
        return _code_pieces(section.text)

    def refine(self, piece: str, count: int, size: int) -> list[str]:
        """An over-long piece cut at its inner units, else at its lines, else (one line) at words."""
        for finer in (_code_pieces(piece), lines(piece)):
            if len(finer) > 1:
                return finer
        return super().refine(piece, count, size)


@register_transform("CodeSplitter")
class CodeSplitter(SectionSplitter):
    """The splitter for a file type: ``filetype`` (``json``, ``yaml``, ``html``, ``py``...) or, when it is
    None, each file's extension. Types without a splitter of their own (see `get_supported_filetypes`) are
    cut as code by `GeneralCodeSplitter`. Options beyond the sizing go to the type's splitter."""

    _SPLITTER_REGISTRY: dict[str, type] = {
        "xml": XMLSplitter, "json": JSONSplitter, "jsonl": JSONLSplitter, "yaml": YAMLSplitter,
        "yml": YAMLSplitter, "html": HTMLSplitter, "htm": HTMLSplitter,
    }

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, filetype: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.filetype = filetype.lower().lstrip(".") if filetype else None
        self.options = kwargs
        self._splitters: dict[str, NodeTransform] = {}
        if self.filetype:
            self.from_language(self.filetype)
        else:
            unused = [k for k in kwargs if not any(_accepts(c, k) for c in self._classes())]
            if unused:
                raise TypeError(f"CodeSplitter: no splitter takes the options {unused}")

    @classmethod
    def _classes(cls) -> list[type]:
        return [GeneralCodeSplitter, *cls._SPLITTER_REGISTRY.values()]

    def from_language(self, filetype: str) -> NodeTransform:
        """The splitter this CodeSplitter uses for ``filetype``, sized and counting tokens as it does."""
        filetype = filetype.lower().lstrip(".")
        if filetype not in self._splitters:
            cls = self._SPLITTER_REGISTRY.get(filetype, GeneralCodeSplitter)
            options = {k: v for k, v in self.options.items() if _accepts(cls, k)}
            if self.filetype and len(options) < len(self.options):
                raise TypeError(f"CodeSplitter: {cls.__name__} (filetype={filetype!r}) does not take the options "
                                f"{sorted(set(self.options) - set(options))}")
            if _accepts(cls, "filetype"):
                options["filetype"] = filetype
            splitter = cls(chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap, **options)
            splitter.set_token_counter(self._counter, self._counter_name)
            if self._window:
                splitter.fit_window(self._window)
            self._splitters[filetype] = splitter
        return self._splitters[filetype]

    def set_token_counter(self, counter: TokenCounter, name: str) -> bool:
        self._splitters.clear()
        return super().set_token_counter(counter, name)

    def fit_window(self, tokens: int) -> bool:
        self._splitters.clear()
        return super().fit_window(tokens)

    def _filetype_of(self, source: Optional[str]) -> str:
        if self.filetype:
            return self.filetype
        suffix = PurePath(source).suffix.lstrip(".").lower() if source else ""
        if not suffix:
            LOG.debug("CodeSplitter: no filetype and no file extension; splitting as code")
        return suffix or "code"

    def _split_sectioned(self, texts: list[str], size: int,
                         sources: Optional[list[Optional[str]]] = None) -> list[list[DocNode]]:
        result: list[list[DocNode]] = [[] for _ in texts]
        by_type: dict[str, list[int]] = {}
        for i in range(len(texts)):
            by_type.setdefault(self._filetype_of(sources[i] if sources else None), []).append(i)
        for filetype, owners in by_type.items():
            splitter = self.from_language(filetype)
            picked = [texts[i] for i in owners]
            if isinstance(splitter, SectionSplitter):
                picked_sources = [sources[i] for i in owners] if sources else None
                chunks = splitter._split_sectioned(picked, size - (self.size - splitter.size), picked_sources)
            else:
                chunks = [[c if isinstance(c, DocNode) else DocNode(text=str(c))
                           for c in splitter.split_text(t, self.size - size)] for t in picked]
            for i, nodes in zip(owners, chunks):
                result[i] = nodes
        return result

    @classmethod
    def register_splitter(cls, filetype: str, splitter_class: type) -> None:
        """Use ``splitter_class`` (a NodeTransform class with ``split_text``) for files of ``filetype``."""
        if not isinstance(splitter_class, type):
            raise TypeError(f"splitter_class must be a class, got {type(splitter_class).__name__}")
        if not issubclass(splitter_class, NodeTransform) or not hasattr(splitter_class, "split_text"):
            raise TypeError(f"splitter_class must be a NodeTransform subclass with split_text, got "
                            f"{splitter_class.__name__}")
        key = filetype.lower().lstrip(".")
        if key in cls._SPLITTER_REGISTRY:
            raise ValueError(f"a splitter for filetype {key!r} is already registered "
                             f"({cls._SPLITTER_REGISTRY[key].__name__})")
        cls._SPLITTER_REGISTRY[key] = splitter_class

    @classmethod
    def get_supported_filetypes(cls) -> list[str]:
        """The file types with a splitter of their own; any other is split as code."""
        return list(cls._SPLITTER_REGISTRY)


def _accepts(cls: type, name: str) -> bool:
    params = inspect.signature(cls.__init__).parameters
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
