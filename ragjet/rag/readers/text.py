"""Plain text and Markdown: the whole file is one part, character for character."""
from __future__ import annotations

from pathlib import Path

from ragjet.rag.readers.encoding import decode_bytes
from ragjet.rag.readers.registry import register_reader


@register_reader(".txt", ".md", ".markdown")
def read_text(path: Path) -> list[str]:
    """The file's text exactly as stored (line endings included), decoded by `decode_bytes`."""
    return [decode_bytes(path.read_bytes())]
