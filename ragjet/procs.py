"""Waiting for a server subprocess (a database in server mode, an inference engine) to answer.

Readiness is what the server answers, never what it logs; a server that exits or stays silent past the
timeout fails with the tail of its log, so the error shows why.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Callable


def wait_until_ready(proc: subprocess.Popen, ready: Callable[[], bool], timeout: float, log_path: Path,
                     what: str) -> None:
    """Poll ``ready`` until it holds; fail with the log's tail if ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while not ready():
        code = proc.poll()
        if code is not None or time.monotonic() > deadline:
            reason = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f} s"
            raise RuntimeError(f"the {what} {reason}; end of its log ({log_path}):\n{tail(log_path)}")
        time.sleep(0.1)


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
