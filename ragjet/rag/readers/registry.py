"""Where file readers live: one function per file extension.

A reader turns a file into its text parts (one for a text file, one per page for a PDF). Format modules register
themselves here by extension, so supporting a new format is one decorated function, not an edit to the directory
reader.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Union

from ragjet.registry import Registry

ReaderResult = Union[list[str], list[tuple[str, dict[str, Any]]]]
Reader = Callable[[Path], ReaderResult]

READERS: Registry[Reader] = Registry(
    "reader",
    hint="Register one with @ragjet.rag.readers.register_reader('.ext'), or pass "
         "SimpleDirectoryReader(file_extractor={'*.ext': my_reader}).")


class UnreadableFile(Exception):
    """Raised by a reader for a file it cannot decode; the directory reader skips the file and says why.

    ``reason`` is "binary" for files that are not text at all, else a short explanation; ``category`` names the
    `ReadReport` count a reader wants it under (a scanned PDF: "scanned")."""

    def __init__(self, reason: str, category: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self._category = category

    @property
    def category(self) -> str:
        """The `ReadReport` category the file is counted under: the reader's, else "binary" or "unreadable"."""
        return self._category or ("binary" if self.reason == "binary" else "unreadable")


def normalize_ext(ext: str) -> str:
    """".TXT", "txt" and ".txt" all name the same extension: lowercase, with the dot."""
    ext = ext.lower()
    return ext if ext.startswith(".") else f".{ext}"


def register_reader(*exts: str) -> Callable[[Reader], Reader]:
    """Decorator registering a reader for each extension in ``exts`` (e.g. ``@register_reader(".txt", ".md")``)."""
    if not exts:
        raise ValueError("register_reader needs at least one extension, e.g. register_reader('.txt')")

    def _do(reader: Reader) -> Reader:
        for ext in exts:
            READERS.register(normalize_ext(ext), reader)
        return reader
    return _do
