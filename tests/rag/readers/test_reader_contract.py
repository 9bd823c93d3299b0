"""Every built-in reader, and one of a user's own, through `ragjet.testing.reader_contract`."""
from __future__ import annotations

from html import escape
from pathlib import Path

import pytest

from ragjet.testing.reader_contract import ReaderContract
from sample_pdf import one_page_pdf


class TestText(ReaderContract):
    ext = ".txt"

    def write(self, path: Path, paragraphs: list[str]) -> None:
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")


class TestGB18030Text(TestText):
    """A Chinese text file saved by an older Windows tool: decoded, not skipped."""

    def write(self, path: Path, paragraphs: list[str]) -> None:
        path.write_bytes("\n\n".join(paragraphs).encode("gb18030"))


class TestMarkdown(ReaderContract):
    ext = ".md"

    def write(self, path: Path, paragraphs: list[str]) -> None:
        path.write_text("# A title\n\n" + "\n\n".join(paragraphs), encoding="utf-8")


class TestHTML(ReaderContract):
    ext = ".html"

    def write(self, path: Path, paragraphs: list[str]) -> None:
        body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
        path.write_text(f"<html><head><meta charset='utf-8'><style>p {{}}</style></head><body>{body}</body></html>",
                        encoding="utf-8")


class TestPDF(ReaderContract):
    """One page, a line per paragraph, in the standard Helvetica font (which holds no Chinese)."""

    ext = ".pdf"
    chinese = False

    @pytest.fixture(autouse=True)
    def _pypdf(self):
        pytest.importorskip("pypdf", reason="PDF needs ragjet[readers]")

    def write(self, path: Path, paragraphs: list[str]) -> None:
        lines = "".join(f"({p}) Tj 0 -16 Td " for p in paragraphs)
        path.write_bytes(one_page_pdf(f"BT /F1 11 Tf 40 760 Td {lines}ET".encode("latin-1")))


class TestDocx(ReaderContract):
    ext = ".docx"

    @pytest.fixture(autouse=True)
    def _docx(self):
        pytest.importorskip("docx", reason="Word needs ragjet[readers]")

    def write(self, path: Path, paragraphs: list[str]) -> None:
        import docx

        document = docx.Document()
        for paragraph in paragraphs:
            document.add_paragraph(paragraph)
        document.save(path)


class TestAUserReader(ReaderContract):
    """A reader of one's own for a format ragjet does not read: one part per blank-line block, with its number."""

    ext = ".notes"

    def reader(self):
        def read_notes(path: Path) -> list[tuple[str, dict]]:
            from ragjet.rag.readers import UnreadableFile, decode_bytes

            data = path.read_bytes()
            if b"\x00" in data or not data.strip():
                raise UnreadableFile("binary" if data.strip() else "no text in it",
                                     None if data.strip() else "empty")
            blocks = [b for b in decode_bytes(data).split("\n\n") if b.strip()]
            return [(block, {"block": i}) for i, block in enumerate(blocks)]
        return read_notes

    def write(self, path: Path, paragraphs: list[str]) -> None:
        path.write_text("\n\n".join(paragraphs), encoding="utf-8")


def test_the_contract_catches_a_reader_that_crashes_on_a_bad_file(tmp_path):
    """A reader that lets a decoding error escape is a crash ("error" in the report), which the contract
    refuses: it asks for `UnreadableFile` and a reason."""
    class Crashing(TestAUserReader):
        def reader(self):
            return lambda path: path.read_bytes().decode("utf-8").split("\n\n")

    with pytest.raises(AssertionError, match="not as binary, unreadable or empty"):
        Crashing().test_random_bytes_and_an_empty_file_are_skipped_with_a_reason(tmp_path)

