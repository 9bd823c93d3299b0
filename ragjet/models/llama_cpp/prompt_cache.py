"""`PromptCache`: the llama.cpp key-value state of evaluated prompts, kept on disk across restarts.

Reading a prompt is most of a CPU model's time to first token: Qwen2.5-0.5B evaluates 60-130 prompt tokens
per second on two cores, so a RAG prompt of two or three passages costs seconds before the first word. A
restarted process that is asked what it was asked before (or anything over the same passages) need not pay
that again: after an answer, the engine saves its slot (the prompt's KV cells, about 12 KB per token for this
model) to a file, and before the next prompt the saved entry sharing the longest token prefix with it is
loaded back into the slot. llama.cpp's server then evaluates only the tokens after the prefix it shares with
the slot, so a stale or partial entry can cost time but never change an answer.

Entries live in ``$RAGJET_HOME/prompt-cache/slots/<model>/`` (the engine's slot folder), one state file and one
token file per prompt, named by the hash of the tokens; the least recently used go once the folder passes
``max_bytes``. The cache is an optimisation: any failure to read or write it is logged once and the prompt is
evaluated as usual.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ...home import ragjet_home
from ...log import LOG
from .engine import LlamaEngine

DEFAULT_MAX_BYTES = 256 << 20
MIN_REUSE_TOKENS = 32  # a shorter shared prefix is cheaper to evaluate than to load


class PromptCache:
    """Saved prompt states of one model file (``model_path``) in ``folder`` (default under ragjet's home), which
    is the slot folder of the engine given to `restore` and `store`."""

    def __init__(self, model_path: Path, folder: Optional[Path] = None, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        stat = model_path.stat()
        identity = f"{model_path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()
        name = f"{model_path.stem}-{hashlib.blake2b(identity, digest_size=6).hexdigest()}"
        self.folder = folder or ragjet_home() / "prompt-cache" / "slots" / name
        self.max_bytes = max_bytes
        self._warned = False

    def restore(self, engine: LlamaEngine, slot: int, tokens: Sequence[int], held: Sequence[int]) -> int:
        """Load the saved state sharing the longest prefix with ``tokens`` into ``slot``, when that beats what
        the slot already holds (``held``: the tokens of its last prompt); returns the prefix now held."""
        have = _common_prefix(held, tokens)
        best, best_len = None, max(have, MIN_REUSE_TOKENS - 1)
        for token_file in self._token_files():
            length = _common_prefix(_read_tokens(token_file), tokens)
            if length > best_len:
                best, best_len = token_file, length
        if best is None:
            return have
        try:
            engine.restore_slot(slot, best.with_suffix(".kv").name)
            os.utime(best.with_suffix(".kv"))
            return best_len
        except Exception as exc:  # an optimisation only: whatever failed, the prompt is evaluated as usual
            # A state this engine refuses (saved by another llama.cpp build or layout, or damaged) would be
            # refused on every later start, since `store` keeps an entry that exists: it goes, and the state
            # of the prompt evaluated now takes its place.
            self._warn("read", exc, dropped=best.with_suffix(".kv").name)
            _remove_entry(best)
            return 0

    def store(self, engine: LlamaEngine, slot: int, tokens: Sequence[int]) -> None:
        """Save ``slot``'s state, which holds ``tokens`` (a prompt just evaluated), unless it is saved already."""
        key = hashlib.blake2b(np.asarray(tokens, dtype=np.int32).tobytes(), digest_size=12).hexdigest()
        state = self.folder / f"{key}.kv"
        if state.exists():
            os.utime(state)
            return
        partial = state.with_suffix(".part")
        try:
            engine.save_slot(slot, partial.name)
            _write_tokens(state.with_suffix(".tok"), tokens)
            os.replace(partial, state)
            self._evict()
        except Exception as exc:  # an optimisation only: the answer is given whatever happens here
            partial.unlink(missing_ok=True)
            self._warn("write", exc)

    def _token_files(self) -> list[Path]:
        try:
            return [p for p in self.folder.iterdir() if p.suffix == ".tok" and p.with_suffix(".kv").exists()]
        except OSError:
            return []

    def _evict(self) -> None:
        """Remove the least recently used entries while the folder holds more than ``max_bytes``."""
        states = sorted(self.folder.glob("*.kv"), key=lambda p: p.stat().st_mtime_ns)
        total = sum(p.stat().st_size for p in states)
        while states and total > self.max_bytes:
            oldest = states.pop(0)
            total -= oldest.stat().st_size
            _remove_entry(oldest)

    def _warn(self, what: str, exc: Exception, dropped: str = "") -> None:
        if not self._warned:
            removed = f" (removed the entry {dropped}: this answer's state replaces it)" if dropped else ""
            LOG.warning("prompt cache %s: could not %s it (%s); prompts are evaluated as usual%s", self.folder,
                        what, exc, removed)
            self._warned = True


def _remove_entry(path: Path) -> None:
    """Remove one saved prompt: its state file and its token file (``path``: either)."""
    for suffix in (".kv", ".tok"):
        path.with_suffix(suffix).unlink(missing_ok=True)


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:n], dtype=np.int64) != np.asarray(b[:n], dtype=np.int64))
    return int(differ[0]) if differ.size else n


def _read_tokens(path: Path) -> np.ndarray:
    try:
        return np.fromfile(path, dtype=np.int32)
    except OSError:
        return np.zeros(0, dtype=np.int32)


def _write_tokens(path: Path, tokens: Sequence[int]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    np.asarray(tokens, dtype=np.int32).tofile(tmp)
    os.replace(tmp, path)
