"""PDF: one part per page that has text, tagged with its 1-based page number; lines the page wrapped inside a
Chinese or Japanese sentence are joined back (`ragjet.text.wrapped_lines`)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ragjet.rag.readers.registry import UnreadableFile, register_reader
from ragjet.registry import missing_extra
from ragjet.text.wrapped_lines import join_wrapped_lines


@register_reader(".pdf")
def read_pdf(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """``(text, {"page": n})`` for each page with text. PDFs locked with the empty password (print/copy
    restrictions only) are opened; other encrypted or broken files raise `UnreadableFile`."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import DependencyError, PyPdfError
    except ImportError:
        raise missing_extra("pypdf", "readers") from None
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableFile("encrypted PDF: a password is needed to read it")
        pages = [(join_wrapped_lines(page.extract_text() or ""), {"page": number})
                 for number, page in enumerate(reader.pages, 1)]
    except DependencyError as exc:
        raise UnreadableFile(f"encrypted PDF: {exc}") from None
    except PyPdfError as exc:
        raise UnreadableFile(f"broken PDF: {exc}") from None
    kept = [(text, meta) for text, meta in pages if text.strip()]
    if pages and not kept:  # pages, but no text layer: page images, as a scanner writes them
        raise UnreadableFile(f"scanned PDF: its {len(pages)} page(s) hold no text, only images; add a text layer with "
                             f"OCR (e.g. ocrmypdf) to search it", category="scanned")
    return kept
