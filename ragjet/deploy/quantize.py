"""GGUF quantisation levels made locally with llama.cpp's quantize (``llama_cpp.llama_model_quantize``).

Only one level of a model may ship (SmolLM2's Q4_1). Requantising it (``allow_requantize``) to another level
works, with a caveat: the weights keep Q4_1's information, so Q4_0 is Q4_1 rounded further (slightly worse)
and Q8_0 is Q4_1 stored in 8 bits (no better, only larger). Good for comparing an engine's speed per level,
not for comparing quality. The work runs in a child process, which keeps llama.cpp's per-tensor log out of
this one.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Optional

from ..home import models_home
from ..log import LOG
from ..registry import missing_extra

_LEVEL_SUFFIX = re.compile(r"\.(I?Q\d\w*|[BF]F?16|F32)$", re.IGNORECASE)
_QUANTIZE = """
import sys, llama_cpp
src, dst, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
params = llama_cpp.llama_model_quantize_default_params()
params.ftype, params.allow_requantize = ftype, True
sys.exit(llama_cpp.llama_model_quantize(src.encode(), dst.encode(), params))
"""


def gguf_level(source: str | os.PathLike[str], level: str, target: Optional[Path] = None) -> Path:
    """``source`` requantised to ``level`` (``Q4_0``, ``Q8_0``, ``Q5_1``...), made once and kept in
    ``target`` (default: ``<models home>/gguf/<stem>.<level>.gguf``, the level replacing one in the stem).
    Needs llama-cpp-python (``ragjet[llama-cpp-python]``): the prebuilt engine has no quantiser."""
    try:
        import llama_cpp
    except ImportError:
        raise missing_extra("llama-cpp-python", "llama-cpp-python") from None

    ftype = getattr(llama_cpp, f"LLAMA_FTYPE_MOSTLY_{level.upper()}", None)
    if ftype is None:
        known = sorted(n[len("LLAMA_FTYPE_MOSTLY_"):] for n in dir(llama_cpp) if n.startswith("LLAMA_FTYPE_MOSTLY_"))
        raise ValueError(f"unknown GGUF level {level!r}; llama.cpp knows: {', '.join(known)}")
    source = Path(source)
    stem = _LEVEL_SUFFIX.sub("", source.stem)
    target = target or models_home() / "gguf" / f"{stem}.{level.upper()}.gguf"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    LOG.info("quantising %s to %s", source.name, target.name)
    done = subprocess.run([sys.executable, "-c", _QUANTIZE, str(source), str(partial), str(ftype)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-20:])
        raise RuntimeError(f"llama.cpp could not quantise {source} to {level} (exit {done.returncode}):\n{tail}")
    partial.replace(target)
    return target
