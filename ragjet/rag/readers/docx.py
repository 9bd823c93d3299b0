"""Word (.docx): the paragraphs in order, then the tables row by row."""
from __future__ import annotations

import zipfile
from pathlib import Path

from ragjet.rag.readers.registry import UnreadableFile, register_reader
from ragjet.registry import missing_extra


@register_reader(".docx")
def read_docx(path: Path) -> list[str]:
    """One part: every paragraph, then every table row as its cells joined by " | ", one per line. A merged
    cell is written once, not once per grid column it spans."""
    try:
        import docx
        from docx.opc.exceptions import PackageNotFoundError
    except ImportError:
        raise missing_extra("python-docx", "readers") from None
    try:
        document = docx.Document(str(path))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError) as exc:
        raise UnreadableFile(f"not a valid .docx file: {exc}") from None
    lines = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            cells, previous = [], None
            for cell in row.cells:
                if cell._tc is not previous:
                    cells.append(cell.text)
                previous = cell._tc
            lines.append(" | ".join(cells))
    return ["\n".join(lines)]
