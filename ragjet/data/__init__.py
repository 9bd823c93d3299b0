"""The corpora shipped inside the package, so every command works with no arguments: the English sample
(``sample/``) and the same six topics written in Chinese (``sample-zh/``, for ``similarity='bm25_chinese'``)."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_QUESTION = "Why is the second start fast?"
SAMPLE_FOLDERS = {"en": "sample", "zh": "sample-zh"}


def sample_corpus(language: str = "en") -> Path:
    """The folder of the sample corpus in ``language`` (``en`` or ``zh``)."""
    if language not in SAMPLE_FOLDERS:
        raise ValueError(f"no sample corpus in {language!r}; languages: {', '.join(SAMPLE_FOLDERS)}")
    return Path(str(resources.files("ragjet") / "data" / SAMPLE_FOLDERS[language]))
