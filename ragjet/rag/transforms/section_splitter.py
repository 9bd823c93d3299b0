"""`SectionSplitter`: the base of the splitters that read a text's structure (Markdown headings, code
definitions, JSON values, XML elements, HTML sections) before sizing it.

A subclass cuts a text into `Section` s, each with the metadata its chunks carry (a heading path, a JSON path,
a tag). Every section is then chunked by `SentenceSplitter`'s machinery: a section that fits is one chunk, a
larger one is cut at its sentences (prose) or its lines (code, tables) and merged back into chunks of at most
the chunk size, with overlap. So no chunk exceeds the size, no text is lost, and the token counter (the
embedding model's, injected by the Document) is called once per batch of nodes, not once per section.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Optional

from ragjet.rag.doc_node import DocNode, make_uid
from ragjet.rag.transforms.character_splitter import _overlap_args
from ragjet.rag.transforms.sentence_splitter import SentenceSplitter
from ragjet.text.sentences import sentences
from ragjet.text.token_count import TokenCounter

PROSE = "prose"  # a section cut at sentence ends when it is too long
LINES = "lines"  # a section cut at line ends (code, a table, a list)
_LINE = re.compile(r"[^\n]*\n|[^\n]+")


def lines(text: str) -> list[str]:
    """``text`` cut after each line break; the pieces join back to ``text``."""
    return _LINE.findall(text)


@dataclass
class Section:
    """A part of a text that is chunked on its own: its ``text``, how it may be cut (`PROSE` or `LINES`), and
    the ``metadata`` every chunk of it carries."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    kind: str = PROSE


class SectionSplitter(SentenceSplitter):
    """Chunks of at most ``chunk_size`` tokens that never cross a section of the text; subclasses say what a
    section is (`sections`). ``chunk_overlap`` (LazyLLM's name: ``overlap``) applies inside a section.

    ``hidden_keys`` are metadata keys that describe a chunk for programs (its type, depth, token count) rather
    than its meaning; they are kept out of what the embedding model and the LLM read."""

    hidden_keys: tuple[str, ...] = ()

    def __init__(self, chunk_size: int = 1024, chunk_overlap: Optional[int] = None,
                 token_counter: Optional[TokenCounter] = None, *, overlap: Optional[int] = None,
                 num_workers: int = 0) -> None:
        super().__init__(chunk_size, _overlap_args(chunk_overlap, overlap, 200), token_counter)

    def _identity_params(self) -> dict[str, Any]:
        """The sizing (`SentenceSplitter`'s) and every public option of the subclass."""
        options = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return {**options, **super()._identity_params()}

    def sections(self, text: str, size: int) -> list[Section]:
        """The sections of ``text``, in order; together they hold all of its text. ``size`` is the chunk size
        in effect, for splitters whose sections depend on it."""
        raise NotImplementedError(f"{type(self).__name__} must implement sections(text)")

    # -- splitting ------------------------------------------------------------------------------------
    def split_text(self, text: str, metadata_size: int = 0) -> list[DocNode]:  # type: ignore[override]
        """The chunks of ``text`` as DocNodes with their section's metadata, never empty, each at most
        ``chunk_size - metadata_size`` tokens."""
        return self._split_sectioned([text], self._budget(metadata_size))[0]

    def split_texts(self, texts: list[str]) -> list[list[DocNode]]:  # type: ignore[override]
        return self._split_sectioned(texts, self.size)

    def _split_sectioned(self, texts: list[str], size: int,
                         sources: Optional[list[Optional[str]]] = None) -> list[list[DocNode]]:
        """Chunks of every text; ``sources`` (the texts' file paths) name the file in a parse error."""
        owners: list[int] = []
        sections: list[Section] = []
        for owner, text in enumerate(texts):
            try:
                found = self.sections(text, size)
            except ValueError as e:
                source = sources[owner] if sources else None
                if source is None:
                    raise
                raise ValueError(f"{source}: {e}") from e
            for section in found:
                if section.text.strip():
                    owners.append(owner)
                    sections.append(section)
        cuts = [self._cut(s) for s in sections]
        result: list[list[DocNode]] = [[] for _ in texts]
        for owner, section, chunks in zip(owners, sections, self._split_pieces(cuts, size)):
            result[owner].extend(self._node(chunk, section.metadata) for chunk in chunks)
        return self._finish(result)

    def _cut(self, section: Section) -> list[str]:
        """Where a section may be cut: after its lines (`LINES`) or its sentences (`PROSE`)."""
        return lines(section.text) if section.kind == LINES else sentences(section.text)

    def _node(self, text: str, metadata: dict[str, Any]) -> DocNode:
        hidden = list(self.hidden_keys)
        return DocNode(text=text, metadata=dict(metadata), excluded_embed_metadata_keys=hidden or None,
                       excluded_llm_metadata_keys=list(hidden) or None)

    def _finish(self, chunks: list[list[DocNode]]) -> list[list[DocNode]]:
        """A last pass over each text's chunks (e.g. recording their token counts); by default none."""
        return chunks

    # -- NodeTransform --------------------------------------------------------------------------------
    def transform(self, node: DocNode) -> list[DocNode]:  # type: ignore[override]
        return self._split_sectioned([node.get_text()], self.size, [node.docpath])[0]

    def batch_forward(self, nodes: list[DocNode]) -> list[list[str | DocNode]]:
        return self._split_sectioned([n.get_text() for n in nodes], self.size,  # type: ignore[return-value]
                                     [n.docpath for n in nodes])

    def __call__(self, node: DocNode) -> list[DocNode]:
        """The chunks of ``node`` as its child DocNodes (no group), with their metadata."""
        chunks = self.transform(node)
        for i, chunk in enumerate(chunks):
            chunk._uid = make_uid("split", node.uid, i, chunk.text)
            chunk._parent = node
        return chunks
