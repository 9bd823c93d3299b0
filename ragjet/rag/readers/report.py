"""What a directory read did: how many files and parts it loaded, which files it skipped and why."""
from __future__ import annotations

from dataclasses import dataclass, field

# The order categories are listed in by `ReadReport.summary`.
SKIP_CATEGORIES = ("unsupported", "binary", "unreadable", "missing-extra", "error")


@dataclass
class ReadReport:
    """Counts of one `SimpleDirectoryReader` call; ``skipped`` maps a reason category to the skipped paths."""

    loaded: int = 0
    nodes: int = 0
    skipped: dict[str, list[str]] = field(default_factory=dict)

    def add_skipped(self, category: str, path: str) -> None:
        self.skipped.setdefault(category, []).append(path)

    def merge(self, other: "ReadReport") -> None:
        """Add the counts of another read (the ingestion engine reads a folder in batches)."""
        self.loaded += other.loaded
        self.nodes += other.nodes
        for category, paths in other.skipped.items():
            self.skipped.setdefault(category, []).extend(paths)

    @property
    def total_skipped(self) -> int:
        return sum(len(paths) for paths in self.skipped.values())

    def summary(self) -> str:
        """One line, e.g. "read 12 files (30 parts); skipped 3: 1 unsupported, 1 binary, 1 unreadable"."""
        text = f"read {_count(self.loaded, 'file')} ({_count(self.nodes, 'part')})"
        if not self.total_skipped:
            return text
        order = [c for c in SKIP_CATEGORIES if c in self.skipped]
        order += sorted(c for c in self.skipped if c not in SKIP_CATEGORIES)
        counts = ", ".join(f"{len(self.skipped[c])} {c}" for c in order if self.skipped[c])
        return f"{text}; skipped {self.total_skipped}: {counts}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
