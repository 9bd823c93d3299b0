"""The transform contract as a reusable test suite: what every `NodeTransform` that sizes chunks keeps.

The README promises that no chunk exceeds its size and no text is lost; this suite is that promise, run on
every built-in splitter and on yours::

    import pytest
    from ragjet.testing.transform_contract import TransformContract

    class TestMySplitter(TransformContract):
        samples = ["a text in the format it splits", "..."]

        def make(self, chunk_size, chunk_overlap):
            return MySplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)

What is checked, on each sample and at several chunk sizes: the output is texts or nodes, none empty; no
chunk is over ``chunk_size`` tokens, counted with the splitter's default counter, with a counter set through
`NodeTransform.set_token_counter`, and after `NodeTransform.fit_window` narrowed it; every word of the input
(`kept_words`: its words and CJK characters, markup left out where the format has it) is in what the chunks
give the models to read (text and shown metadata), in order unless the splitter says otherwise (`keeps_order`); an empty text gives no chunk; `identity()` is the same for the same parameters and differs when the
size does. Needs pytest.
"""
from __future__ import annotations

import re
from collections import Counter
from typing import Any, Sequence

import pytest

from ..rag.doc_node import DocNode
from ..rag.transforms.base import NodeTransform
from ..text.lang import units
from ..text.token_count import approx_token_counts

SIZES = (16, 48, 200)
_WORD = re.compile(r"\w+", re.UNICODE)
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


def kept_words(text: str) -> list[str]:
    """The words and CJK characters of ``text``, punctuation and spacing left out: what a chunking may not drop
    (a splitter may re-space, re-quote or re-indent, never lose a word)."""
    out: list[str] = []
    for unit in units(text):
        out += _CJK_CHAR.findall(unit) if _CJK_CHAR.match(unit) else _WORD.findall(unit)
    return out


def per_character(texts: list[str]) -> list[int]:
    """A counter of another measure than the default's (one token per non-space character), so the suite can
    see that a set counter is the one sizing the chunks."""
    return [sum(not ch.isspace() for ch in text) for text in texts]


def chunk_read(chunk: str | DocNode) -> str:
    """What the embedder and the LLM read of a chunk: its text with the metadata they are shown."""
    return chunk if isinstance(chunk, str) else chunk.get_content()


def chunk_text(chunk: str | DocNode) -> str:
    """A chunk's own text: what ``chunk_size`` measures (metadata such as a JSON path is kept apart)."""
    return chunk if isinstance(chunk, str) else chunk.text


class TransformContract:
    """Subclass with ``samples`` (texts in the transform's format) and ``make(chunk_size, chunk_overlap)``."""

    samples: Sequence[str] = ()
    overlap = 0.25  # chunk_overlap as a share of chunk_size
    # Whether the chunks read in the text's order. A structured splitter may not: a JSON key or an XML element's
    # name goes into each chunk's metadata, and an XML element's inline child becomes a chunk of its own.
    keeps_order = True

    def make(self, chunk_size: int, chunk_overlap: int) -> NodeTransform:
        raise NotImplementedError("give the contract make(chunk_size, chunk_overlap)")

    def node(self, text: str) -> DocNode:
        """The node a sample is given in (override to set the file a transform reads its format from)."""
        return DocNode(uid="sample", text=text)

    def words(self, text: str) -> list[str]:
        """The words of a sample that must survive the split (override to leave out a format's markup)."""
        return kept_words(text)

    # -- helpers -----------------------------------------------------------------------------------------
    def _chunks(self, transform: NodeTransform, text: str) -> list[str | DocNode]:
        chunks = transform.batch_forward([self.node(text)])[0]
        for chunk in chunks:
            assert isinstance(chunk, (str, DocNode)), f"a transform returns texts or nodes, not {type(chunk)}"
        return chunks

    def _split(self, transform: NodeTransform, text: str) -> list[str]:
        return [chunk_text(c) for c in self._chunks(transform, text)]

    def _built(self, size: int) -> NodeTransform:
        return self.make(size, int(size * self.overlap))

    @staticmethod
    def _over(chunks: list[str], size: int, counter: Any) -> list[tuple[int, str]]:
        return [(n, c[:80]) for n, c in zip(counter(chunks), chunks) if n > size]

    # -- the contract ------------------------------------------------------------------------------------
    def test_samples_are_given(self) -> None:
        assert self.samples, "give the contract samples in the transform's format"

    @pytest.mark.parametrize("size", SIZES)
    def test_no_chunk_is_empty_or_over_its_size(self, size: int) -> None:
        for text in self.samples:
            chunks = self._split(self._built(size), text)
            assert chunks and all(c.strip() for c in chunks), f"empty chunk from {text[:60]!r}"
            assert self._over(chunks, size, approx_token_counts) == [], f"chunk_size={size}"

    @pytest.mark.parametrize("size", SIZES)
    def test_no_word_is_lost(self, size: int) -> None:
        for text in self.samples:
            read = [w for c in self._chunks(self._built(size), text) for w in kept_words(chunk_read(c))]
            if self.keeps_order:
                rest = iter(read)
                missing = [w for w in self.words(text) if w not in rest]
            else:
                missing = list((Counter(self.words(text)) - Counter(read)).elements())
            assert missing == [], f"chunk_size={size}: words lost (first: {missing[:5]}) from {text[:60]!r}"

    def test_a_counter_it_is_given_sizes_the_chunks(self) -> None:
        transform = self._built(SIZES[1])
        if not transform.set_token_counter(per_character, "per-character"):
            pytest.skip(f"{type(transform).__name__} does not count tokens")
        assert "per-character" in transform.identity()
        for text in self.samples:
            assert self._over(self._split(transform, text), SIZES[1], per_character) == []

    def test_a_narrower_window_cuts_the_chunks(self) -> None:
        transform = self._built(SIZES[-1])
        if not transform.fit_window(SIZES[0]):
            pytest.skip(f"{type(transform).__name__} does not fit chunks to a window")
        for text in self.samples:
            assert self._over(self._split(transform, text), SIZES[0], approx_token_counts) == []

    def test_empty_text_gives_no_chunk(self) -> None:
        assert self._split(self._built(SIZES[1]), "") == []

    def test_identity_names_the_parameters(self) -> None:
        assert self._built(SIZES[1]).identity() == self._built(SIZES[1]).identity()
        assert self._built(SIZES[1]).identity() != self._built(SIZES[2]).identity()
