"""ragjet's kept copy of the loaded multilingual USE encoder, laid out so that a start reads almost nothing.

Loading the package's own resources takes ~4 s (a pure-Python SentencePiece parse and compressed weights), so
the loaded encoder is kept in ragjet's models folder. A single pickle of it took 0.21 s to read back, 0.10 s of
it rebuilding the tokenizer's 250,952-entry prefix dict and 0.04 s copying the 65 MB embedding table, all on
the one interpreter where a second start imports its database client and runs its search. A new question then
answered 1.2× slower than the client's own cold query (`ragjet bench startup`, row "second, new q").

So the copy is a folder: the big tables are ``.npy`` files mapped into memory (a question touches only the
embedding rows of its own tokens), and the rest of the encoder (its small weights, the normaliser) is a pickle
of a few MB. The tokenizer's prefix table comes back as `SortedPrefixes`: a binary search in the mapped,
sorted keys, ~2 µs a lookup, 0.4 ms to tokenize a question. `use_dict_prefixes` swaps in the dict (0.08 s to
build) before the work that would pay more than that in lookups: a batch of documents, or a model that is
started to serve.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ...log import LOG

FORMAT = 1  # the folder's layout; a copy of another layout is made again


class SortedPrefixes:
    """The tokenizer's prefix table (``prefix -> piece id + 1``, 0 for a prefix that only leads on to longer
    pieces) as two arrays sorted by prefix. It answers the one call the tokenizer makes, ``get``, with what
    the dict answers."""

    def __init__(self, keys: np.ndarray, ids: np.ndarray) -> None:
        self._keys = keys
        self._ids = ids
        self._width = keys.dtype.itemsize // 4  # characters per key in the fixed-width array

    @classmethod
    def of(cls, prefixes: dict[str, int]) -> "SortedPrefixes":
        keys = sorted(prefixes)
        width = max(1, max(map(len, keys), default=1))
        return cls(np.array(keys, dtype=f"<U{width}"), np.array([prefixes[k] for k in keys], dtype=np.int32))

    def get(self, key: str, default: Optional[int] = None) -> Optional[int]:
        # a fixed-width array cannot hold a longer key or tell a trailing NUL from padding: neither is a prefix
        if len(key) > self._width or "\x00" in key:
            return default
        i = int(np.searchsorted(self._keys, key))
        if i < len(self._keys) and self._keys[i] == key:
            return int(self._ids[i])
        return default

    def as_dict(self) -> dict[str, int]:
        return dict(zip(self._keys.tolist(), self._ids.tolist()))

    def save(self, folder: Path) -> None:
        np.save(folder / "prefix_keys.npy", self._keys)
        np.save(folder / "prefix_ids.npy", self._ids)

    @classmethod
    def load(cls, folder: Path) -> "SortedPrefixes":
        return cls(np.load(folder / "prefix_keys.npy", mmap_mode="r"),
                   np.load(folder / "prefix_ids.npy", mmap_mode="r"))


def use_dict_prefixes(encoder: Any) -> None:
    """Give the encoder's tokenizer its prefix dict (once): lookups ~20× faster than `SortedPrefixes`'."""
    tokenizer = encoder._sp
    if isinstance(tokenizer._prefixes, SortedPrefixes):
        tokenizer._prefixes = tokenizer._prefixes.as_dict()


def read_copy(folder: Path, stamp: dict[str, Any]) -> Optional[Any]:
    """The encoder kept in ``folder``, if it was kept from resources with this ``stamp`` in this layout; else
    None. Its tables are mapped and its tokenizer looks prefixes up in `SortedPrefixes`."""
    try:
        meta = json.loads((folder / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    if meta.get("stamp") != stamp or meta.get("format") != FORMAT:
        return None
    try:
        with open(folder / "encoder.pickle", "rb") as f:
            encoder = pickle.load(f)
        encoder._backend.table = np.load(folder / "table.npy", mmap_mode="r")
        encoder._sp._prefixes = SortedPrefixes.load(folder)
        encoder._sp._pieces = np.load(folder / "pieces.npy", mmap_mode="r")
    except (OSError, ValueError, EOFError, AttributeError, pickle.UnpicklingError) as exc:
        LOG.warning("the kept copy of the multilingual encoder in %s cannot be read (%s): loading it from the "
                    "package again", folder, exc)
        return None
    encoder._backend.sp = encoder._sp
    return encoder


def keep_copy(encoder: Any, folder: Path, stamp: dict[str, Any]) -> None:
    """Write ``encoder`` (loaded from resources with ``stamp``) to ``folder`` for `read_copy`; the folder
    appears whole or not at all (written beside it, then renamed), and the one-pickle copy of the earlier
    layout beside it (84 MB) goes. A failure to write is logged: every start then loads from the package."""
    tokenizer, backend = encoder._sp, encoder._backend
    tmp = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    # what the pickle leaves out: the tables written beside it, the tokenizer it holds twice, and the package's
    # thread limiter (which a loaded copy gets anew)
    detached = [(backend, "table"), (backend, "sp"), (backend, "_threadpool"), (tokenizer, "_prefixes"),
                (tokenizer, "_pieces")]
    kept = {key: getattr(*key) for key in detached}
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "table.npy", backend.table)
        prefixes = tokenizer._prefixes
        (prefixes if isinstance(prefixes, SortedPrefixes) else SortedPrefixes.of(prefixes)).save(tmp)
        np.save(tmp / "pieces.npy", np.asarray(tokenizer._pieces, dtype=f"<U{max(1, tokenizer._max_len)}"))
        for obj, name in detached:
            setattr(obj, name, None)
        with open(tmp / "encoder.pickle", "wb") as f:
            pickle.dump(encoder, f, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / "meta.json").write_text(json.dumps({"stamp": stamp, "format": FORMAT}))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
        for suffix in (".pickle", ".json"):
            folder.with_name(folder.name + suffix).unlink(missing_ok=True)
    except OSError as exc:
        LOG.warning("could not keep a copy of the multilingual encoder in %s (%s): every start loads it from the "
                    "package", folder, exc)
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        for (obj, name), value in kept.items():
            setattr(obj, name, value)
