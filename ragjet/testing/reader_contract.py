"""The reader contract as a pytest mixin: `ReaderContract`, what a `Document` relies on in a file reader, for
ragjet's built-in formats and a reader of your own (``register_reader`` or ``Document.add_reader``).

A test class inherits the mixin, sets ``ext`` and writes a sample file in `write`; the checks read it the way a
`Document` does (`SimpleDirectoryReader`, its `ReadReport`):

- every paragraph of the sample comes back, in order (spaces aside: a PDF breaks lines where it likes);
- each node names its file and type, and its metadata is JSON (databases store it);
- reading again gives the same nodes (their ids derive from the text: a restart must find them unchanged);
- a file of random bytes, and an empty one, are skipped under a reason a user can act on (binary, unreadable,
  empty), never as a reader's crash (an "error" in the report).
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Optional

from ..rag.doc_node import DocNode
from ..rag.readers import ReadReport, SimpleDirectoryReader
from ..rag.readers.registry import Reader
from ..rag.readers.report import SKIP_CATEGORIES

__all__ = ["CHINESE", "ENGLISH", "ReaderContract"]

ENGLISH = ["The first paragraph names the river that runs through the old town.",
           "A second paragraph follows it, with a number: 1927."]
CHINESE = ["牛车水是新加坡的唐人街。", "这个名字来自当年用牛车运水的历史。"]
# what a user can act on; "error" is a reader's crash, and the others are not about the file's content
SKIP_REASONS = frozenset(SKIP_CATEGORIES) - {"error", "unsupported", "missing-extra"}


class ReaderContract:
    """Inherit it, set ``ext`` (".pdf") and implement `write`; ``chinese = False`` when the sample writer cannot
    hold Chinese; ``reader`` a reader of your own (default: the one registered for ``ext``)."""

    ext: str = ""
    chinese: bool = True

    def reader(self) -> Optional[Reader]:
        """The reader under test; None reads with the one registered for ``ext``."""
        return None

    def write(self, path: Path, paragraphs: list[str]) -> None:
        raise NotImplementedError("write(path, paragraphs): save a file of this format holding the paragraphs")

    def read(self, path: Path) -> tuple[list[DocNode], ReadReport]:
        own = self.reader()
        loader = SimpleDirectoryReader(input_files=[path], file_extractor={f"*{self.ext}": own} if own else None)
        return loader(), loader.report

    def sample(self, folder: Path) -> tuple[Path, list[str]]:
        paragraphs = ENGLISH + (CHINESE if self.chinese else [])
        path = folder / f"sample{self.ext}"
        self.write(path, paragraphs)
        return path, paragraphs

    def test_every_paragraph_comes_back_in_order(self, tmp_path: Path) -> None:
        path, paragraphs = self.sample(tmp_path)
        nodes, report = self.read(path)
        assert nodes and report.total_skipped == 0, report.summary()
        text = _squeezed("\n".join(node.text for node in nodes))
        at = -1
        for paragraph in paragraphs:
            found = text.find(_squeezed(paragraph), at + 1)
            assert found > at, f"{paragraph!r} missing, or out of order, in what {path.name} read to"
            at = found

    def test_each_node_names_its_file_and_its_metadata_is_json(self, tmp_path: Path) -> None:
        path, _ = self.sample(tmp_path)
        nodes, _ = self.read(path)
        for node in nodes:
            assert node.global_metadata["file_name"] == path.name
            assert node.global_metadata["file_type"] == self.ext.lstrip(".").lower()
            json.dumps(node.metadata)

    def test_reading_again_gives_the_same_nodes(self, tmp_path: Path) -> None:
        path, _ = self.sample(tmp_path)
        first, _ = self.read(path)
        again, _ = self.read(path)
        assert [(n.uid, n.text, n.metadata) for n in first] == [(n.uid, n.text, n.metadata) for n in again]

    def test_random_bytes_and_an_empty_file_are_skipped_with_a_reason(self, tmp_path: Path) -> None:
        noise = tmp_path / f"noise{self.ext}"
        noise.write_bytes(random.Random(0).randbytes(4096))
        empty = tmp_path / f"empty{self.ext}"
        empty.write_bytes(b"")
        for path in (noise, empty):
            nodes, report = self.read(path)
            if nodes:  # a lenient format may read noise as text; then it is text, named as the file
                assert all(node.global_metadata["file_name"] == path.name for node in nodes)
                continue
            assert set(report.skipped) <= SKIP_REASONS and report.skipped, (
                f"{path.name}: skipped as {sorted(report.skipped)}, not as binary, unreadable or empty")


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)
