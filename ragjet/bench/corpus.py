"""Bench corpora made from the shared data sets: one text file per paragraph, never copied into the repo.

SQuAD- and CMRC-format JSON files (``data → paragraphs → context``) become a folder of ``.txt`` files under
ragjet's home, cut at a byte budget, so a benchmark has a realistic corpus of a chosen size.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..home import ragjet_home

SHARED_DATA = Path("../shared/data")
DEFAULT_SOURCES = ("squad_train_subset.json", "cmrc2018_trial.json")


def paragraphs(path: Path) -> list[str]:
    """The distinct paragraph texts of a SQuAD-format file, in file order."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    seen: dict[str, None] = {}
    for article in data["data"]:
        for para in article["paragraphs"]:
            seen.setdefault(para["context"].strip(), None)
    return list(seen)


def build_corpus(max_bytes: int, sources: tuple[str, ...] = DEFAULT_SOURCES, data_dir: Path = SHARED_DATA) -> Path:
    """A folder of paragraph files from ``sources`` totalling at most ``max_bytes`` (made once, then reused)."""
    missing = [data_dir / s for s in sources if not (data_dir / s).exists()]
    if missing:
        raise FileNotFoundError(f"bench data not found: {', '.join(map(str, missing))}; run from the repository "
                                f"root with ../shared/data present, or pass --docs DIR")
    folder = ragjet_home() / "bench-corpus" / f"{'+'.join(Path(s).stem for s in sources)}-{max_bytes}"
    if folder.is_dir() and any(folder.iterdir()):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for source in sources:
        for i, text in enumerate(paragraphs(data_dir / source)):
            data = text.encode("utf-8")
            if total + len(data) > max_bytes:
                return folder
            (folder / f"{Path(source).stem}-{i:04}.txt").write_bytes(data)
            total += len(data)
    return folder
