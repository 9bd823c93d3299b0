"""How llama.cpp's threads run here, in this process and in an engine's: how many, and how they wait.

Threads, measured on this project's 2-core machine (tokens/s generating / evaluating a prompt; best of 3):

    model                                   machine state            n_threads=1     n_threads=2
    SmolLM2-135M-Instruct Q4_1              idle                     62 / 100        107 / 217
                                            other core busy          53-57 / 78-98   6-15 / 40-44
    Qwen2.5-Coder-0.5B-Instruct Q4_K_M      idle                     12.6 / 58       24.8 / 84
                                            other core busy          14.9 / 56       9.5 / 46

Two threads win only on an idle machine; as soon as anything else runs (the embedder, a retriever, the web
server, another process) they wait on each other at every token and collapse, while one thread stays steady.
Generation therefore uses half the cores (llama.cpp's own choice), one thread here. A prompt is evaluated in
one burst, while the rest of the pipeline waits for it, so ``n_threads_batch`` defaults to every core.
"""
from __future__ import annotations

import os

from ...settings import environment, environment_default

DEFAULT_THREADS = max(1, (os.cpu_count() or 2) // 2)
PROMPT_THREADS = os.cpu_count() or 1
# OpenMP's default lets a waiting llama.cpp thread spin on its core; beside any other busy process (an indexer,
# the web server, a test run) the spinning threads steal the cores the work needs: generation fell from 13-14 to
# 2.9 tokens/s here. Passive waiting costs nothing measurable on an idle machine. A value the user set wins.
OPENMP_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE"}


def use_openmp_defaults() -> None:
    """Set `OPENMP_DEFAULTS` in this process where the user set nothing (before llama.cpp's library loads:
    OpenMP reads them once)."""
    for name, value in OPENMP_DEFAULTS.items():
        environment_default(name, value)


def engine_env() -> dict[str, str]:
    """The environment of an engine process: this one's, with `OPENMP_DEFAULTS` where the user set nothing."""
    return {**OPENMP_DEFAULTS, **environment()}
