"""`XMLSplitter` and `HTMLSplitter`: chunks of a markup file's text, one element (XML) or one section under a
heading (HTML) at a time, with where it sits in the document as metadata, as LazyLLM 1.4 makes them. Both use
the standard library's parsers (xml.etree, html.parser): no extra dependency."""
from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any, Optional
from xml.etree import ElementTree

from ragjet.rag.transforms.base import register_transform
from ragjet.rag.transforms.section_splitter import Section, SectionSplitter
from ragjet.text.token_count import TokenCounter


def _tag_with_attributes(tag: str, attributes: dict[str, str]) -> str:
    return " ".join([tag, *(f'{k}="{v}"' for k, v in attributes.items())])


@register_transform("XMLSplitter")
class XMLSplitter(SectionSplitter):
    """Splits XML into the text of each element (its own text and the text between its children), with
    ``attr_<name>`` for each attribute, ``tag`` and ``xml_tag`` (with ``keep_tags``) and ``trace``, the
    elements from the root down (with ``keep_trace``), in metadata."""

    hidden_keys = ("xml_tag", "attributes")

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, filetype: str = "xml", keep_trace: bool = False,
                 keep_tags: bool = False) -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.filetype = filetype
        self.keep_trace = keep_trace
        self.keep_tags = keep_tags

    def sections(self, text: str, size: int) -> list[Section]:
        if not text.strip():
            return []
        try:
            root = ElementTree.fromstring(text.strip())
        except ElementTree.ParseError as e:
            line, column = e.position
            raise ValueError(f"invalid XML at line {line}, column {column + 1}: {e} (for HTML use HTMLSplitter; "
                             f"to split the file as text use SentenceSplitter)") from e
        found: list[Section] = []
        self._walk(root, [], found)
        return found

    def _walk(self, element: ElementTree.Element, trace: list[str], found: list[Section]) -> None:
        attributes = dict(element.attrib)
        trace = trace + [_tag_with_attributes(element.tag, attributes)]
        own = [element.text] + [child.tail for child in element]
        text = " ".join(part.strip() for part in own if part and part.strip())
        if text:
            meta: dict[str, Any] = {}
            if self.keep_tags:
                meta.update(tag=element.tag, xml_tag=element.tag)
            if self.keep_trace:
                meta["trace"] = trace
            meta.update({f"attr_{k}": v for k, v in attributes.items()})
            if attributes:
                meta["attributes"] = attributes
            found.append(Section(text, meta))
        for child in element:
            self._walk(child, trace, found)


_SEMANTIC = ("section", "article", "main", "header", "footer", "aside", "nav")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_SKIPPED = ("script", "style", "template")
_VOID = ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr")
_BLOCK = {"address", "blockquote", "body", "br", "dd", "details", "dialog", "div", "dl", "dt", "fieldset",
          "figcaption", "figure", "form", "head", "hr", "html", "li", "ol", "p", "pre", "summary", "table", "td",
          "th", "title", "tr", "ul", *_SEMANTIC, *_HEADINGS}
_SPACES = re.compile(r"\s+")


class _HTMLSections(HTMLParser):
    """Reads HTML into blocks of text: a new block starts at every heading and wherever the innermost
    semantic element (``<section>``, ``<article>``, ``<main>``...) changes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[tuple[str, dict[str, str]]] = []
        self.blocks: list[tuple[dict[str, Any], list[str]]] = []
        self.line: list[str] = []
        self.heading: Optional[list[str]] = None
        self._new_block(None)

    def _container(self) -> tuple[str, dict[str, str]]:
        for tag, attrs in reversed(self.open):
            if tag in _SEMANTIC:
                return tag, attrs
        inside_body = any(tag == "body" for tag, _ in self.open)
        return ("body" if inside_body else "document"), next((a for t, a in self.open if t == "body"), {})

    def _new_block(self, heading: Optional[str]) -> None:
        self._flush()
        tag, attrs = self._container()
        meta = {"section_type": tag, "section_id": attrs.get("id") or "", "section_class": attrs.get("class") or "",
                "has_heading": heading is not None, "heading_level": int(heading[1]) if heading else 0,
                "heading_text": ""}
        if self.blocks and not any(line.strip() for line in self.blocks[-1][1]):
            self.blocks.pop()
        self.blocks.append((meta, []))

    def _flush(self) -> None:
        line = _SPACES.sub(" ", "".join(self.line)).strip()
        if line and self.blocks:
            self.blocks[-1][1].append(line)
        self.line = []

    def _skipping(self) -> bool:
        return any(tag in _SKIPPED for tag, _ in self.open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, Optional[str]]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in _VOID:
            if tag in _BLOCK:
                self._flush()
            return
        self.open.append((tag, values))
        if tag in _HEADINGS:
            self._new_block(tag)
            self.heading = []
        elif tag in _SEMANTIC:
            self._new_block(None)
        elif tag in _BLOCK:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if not any(t == tag for t, _ in self.open):
            return
        while self.open:
            closed, _ = self.open.pop()
            if closed == tag:
                break
        if tag in _HEADINGS and self.heading is not None:
            self.blocks[-1][0]["heading_text"] = _SPACES.sub(" ", "".join(self.heading)).strip()
            self.heading = None
            self._flush()
        elif tag in _SEMANTIC:
            self._new_block(None)
        elif tag in _BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skipping():
            return
        self.line.append(data)
        if self.heading is not None:
            self.heading.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


@register_transform("HTMLSplitter")
class HTMLSplitter(SectionSplitter):
    """Splits HTML into the visible text (no scripts or styles) of each section under a heading, a line per
    paragraph or other block, with ``section_type`` (``article``, ``main``..., ``body``), ``heading_text``
    and ``heading_level`` in metadata. ``keep_sections`` and ``keep_tags`` are accepted and, as in LazyLLM
    1.4, change nothing."""

    hidden_keys = ("filetype", "section_id", "section_class", "has_heading", "heading_level")

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0, filetype: str = "html", keep_sections: bool = False,
                 keep_tags: bool = False) -> None:
        super().__init__(chunk_size, chunk_overlap, token_counter, overlap=overlap, num_workers=num_workers)
        self.filetype = filetype
        self.keep_sections = keep_sections
        self.keep_tags = keep_tags

    def sections(self, text: str, size: int) -> list[Section]:
        parser = _HTMLSections()
        parser.feed(text)
        parser.close()
        return [Section("\n".join(block), {**meta, "filetype": "html"}) for meta, block in parser.blocks if block]
