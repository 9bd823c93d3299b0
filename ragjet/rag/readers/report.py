"""What a directory read did: how many files and parts it loaded, which files it skipped and why."""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Iterator, Optional

# The order categories are listed in by `ReadReport.summary`.
REPAIRED = "repaired"
SKIP_CATEGORIES = ("unsupported", "binary", "unreadable", "scanned", "empty", "missing-extra", "error")


@dataclass
class ReadReport:
    """Counts of one `SimpleDirectoryReader` call; ``skipped`` maps a reason category to the skipped paths,
    ``repaired`` a file read with an encoding guess or replaced bytes to what was done."""

    loaded: int = 0
    nodes: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)
    repaired: dict[str, str] = field(default_factory=dict)

    def add_skipped(self, category: str, path: str) -> None:
        self.skipped.setdefault(category, []).append(path)

    def merge(self, other: "ReadReport") -> None:
        """Add the counts of another read (the ingestion engine reads a folder in batches)."""
        self.loaded += other.loaded
        self.nodes += other.nodes
        for category, paths in other.skipped.items():
            self.skipped.setdefault(category, []).extend(paths)
        self.repaired.update(other.repaired)

    def notes(self) -> dict[str, tuple[str, str]]:
        """Each file not read plainly → (its skip category, or ``repaired``; what was done), for the ledger."""
        notes = {path: (category, "") for category, paths in self.skipped.items() for path in paths}
        return {**notes, **{path: (REPAIRED, note) for path, note in self.repaired.items()}}

    def add_note(self, path: str, category: str, note: str) -> None:
        """Take back a recorded note (`notes`)."""
        if category == REPAIRED:
            self.repaired[path] = note
        else:
            self.add_skipped(category, path)

    @property
    def total_skipped(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    def summary(self) -> str:
        """One line, e.g. "read 12 files (30 parts), 1 repaired; skipped 3: 1 unsupported, 1 binary, 1 empty"."""
        text = f"read {_count(self.loaded, 'file')} ({_count(self.nodes, 'part')})"
        if self.repaired:
            text += f", {len(self.repaired)} with an encoding guess or replaced bytes"
        if not self.total_skipped:
            return text
        order = [c for c in SKIP_CATEGORIES if c in self.skipped]
        order += sorted(c for c in self.skipped if c not in SKIP_CATEGORIES)
        counts = ", ".join(f"{len(self.skipped[c])} {c}" for c in order if self.skipped[c])
        return f"{text}; skipped {self.total_skipped}: {counts}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


_NOTES: ContextVar[Optional[list[str]]] = ContextVar("ragjet_decoding_notes", default=None)


@contextmanager
def decoding_notes() -> Iterator[list[str]]:
    """Collect what `note_decoding` says while one file is read (in this context)."""
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def note_decoding(text: str) -> None:
    """Say how the file being read was decoded when it was not plain UTF-8 (a guess, replaced bytes)."""
    notes = _NOTES.get()
    if notes is not None:
        notes.append(text)
