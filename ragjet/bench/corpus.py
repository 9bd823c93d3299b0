"""The shared SQuAD and CMRC data sets, read once here for every benchmark, never copied into the repo.

A SQuAD- or CMRC-format JSON file (``data → paragraphs → context, qas``) is read as its distinct paragraphs
and their answerable questions (`load_dataset`); benchmarks write paragraphs as a folder of ``.txt`` files
under ragjet's home (`paragraph_folder`), all of them (bench quality) or cut at a byte budget
(`build_corpus`: a realistic corpus of a chosen size).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Optional

from ..home import ragjet_home
from ..rag.language import LEXICAL_FOR
from ..text.lang import language_of

SHARED_DATA = Path("../shared/data")
DEFAULT_SOURCES = ("squad_train_subset.json", "cmrc2018_trial.json")
SENTENCE_END = {"en": ".", "zh": "。"}  # the lecture's sentence group splits on the full stop of the language


@dataclass(frozen=True)
class Question:
    """A question with its accepted answers and the paragraph that holds them."""

    text: str
    answers: tuple[str, ...]
    paragraph: int


@dataclass
class Dataset:
    """Paragraphs (distinct contexts, file order) and the questions about them."""

    name: str
    paragraphs: list[str]
    questions: list[Question]

    @property
    def language(self) -> str:
        """``zh`` when CJK characters make up most of the text's letters, else ``en``."""
        return language_of("".join(self.paragraphs))

    @property
    def lexical(self) -> str:
        """The BM25 variant for the language."""
        return LEXICAL_FOR[self.language]


def load_dataset(path: Path, max_paragraphs: Optional[int] = None) -> Dataset:
    """A SQuAD/CMRC JSON file as distinct paragraphs and their answerable questions."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    index: dict[str, int] = {}
    questions: list[Question] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            context = para["context"].strip()
            if context not in index:
                if max_paragraphs is not None and len(index) >= max_paragraphs:
                    continue
                index[context] = len(index)
            for qa in para.get("qas", []):
                answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", []) if a["text"].strip()))
                if answers:
                    questions.append(Question(qa["question"].strip(), answers, index[context]))
    return Dataset(Path(path).stem, list(index), questions)


def paragraph_folder(folder: Path, files: Iterable[tuple[str, str]]) -> Path:
    """``folder`` holding ``(name, text)`` files, written once: a marker beside the folder (where a Document
    reading the folder does not see it) says the writing finished, so a killed run is redone, not reused."""
    done = folder.with_name(folder.name + ".complete")
    if not done.exists():
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files:
            (folder / name).write_text(text, encoding="utf-8")
        done.touch()
    return folder


def build_corpus(max_bytes: int, sources: tuple[str, ...] = DEFAULT_SOURCES, data_dir: Path = SHARED_DATA) -> Path:
    """A folder of paragraph files from ``sources`` totalling at most ``max_bytes`` (made once, then reused)."""
    missing = [data_dir / s for s in sources if not (data_dir / s).exists()]
    if missing:
        raise FileNotFoundError(f"bench data not found: {', '.join(map(str, missing))}; run from the repository "
                                f"root with ../shared/data present, or pass --docs DIR")
    folder = ragjet_home() / "bench-corpus" / f"{'+'.join(Path(s).stem for s in sources)}-{max_bytes}"
    return paragraph_folder(folder, _within(max_bytes, sources, data_dir))


def _within(max_bytes: int, sources: tuple[str, ...], data_dir: Path) -> Iterator[tuple[str, str]]:
    """The sources' paragraphs as ``(file name, text)``, in order, until the next would pass ``max_bytes``."""
    total = 0
    for source in sources:
        for i, text in enumerate(load_dataset(data_dir / source).paragraphs):
            total += len(text.encode("utf-8"))
            if total > max_bytes:
                return
            yield f"{Path(source).stem}-{i:04}.txt", text
