"""Engine processes on this machine: a free port, a probe, and children that never outlive ragjet.

Each engine runs in its own process group (``start_new_session``), so stopping it also stops the workers it
spawned (vLLM's, LightLLM's). Every live group is remembered; on interpreter exit (atexit) and on SIGTERM or
SIGINT (after which the handler that was installed before runs, so Ctrl-C still raises KeyboardInterrupt)
the groups are terminated, then killed. A SIGKILL of ragjet itself cannot be caught: then the engine stays.
"""
from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any, Optional, Sequence

from ..models.llama_threads import engine_env

STOP_GRACE_S = 10.0
EXIT_GRACE_S = 3.0

_live: dict[int, subprocess.Popen] = {}
_live_lock = threading.RLock()  # re-entrant: a signal may arrive in the main thread while it holds the lock
_owner_pid = os.getpid()
_previous_handlers: dict[int, Any] = {}
_atexit_registered = False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS picks it; the engine binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(host: str, port: int, path: str, timeout: float = 2.0) -> bool:
    """Whether ``GET path`` answers 200: an engine's health or models endpoint says it can serve."""
    import http.client  # here, not at import: it pulls in the email package (~40 ms of `import ragjet`)

    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def spawn(command: Sequence[str], name: str) -> tuple[subprocess.Popen, Path]:
    """Start ``command`` in a new process group, its output in a temporary log file; return both."""
    fd, log_name = tempfile.mkstemp(prefix=f"ragjet-{name}-", suffix=".log")
    log_path = Path(log_name)
    with os.fdopen(fd, "ab") as log:
        proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=engine_env())
    _remember(proc)
    return proc, log_path


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE_S) -> None:
    """SIGTERM the process group of ``proc``; SIGKILL it after ``grace`` seconds or once its leader is gone
    (workers left behind by the leader die with it)."""
    if proc.poll() is None:
        _signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
    _signal_group(proc.pid, signal.SIGKILL)
    with _live_lock:
        _live.pop(proc.pid, None)


def stop_all(grace: float = EXIT_GRACE_S) -> None:
    """Stop every engine this process started (only in that process: a forked child owns none of them)."""
    if os.getpid() != _owner_pid:
        return
    with _live_lock:
        procs = list(_live.values())
    for proc in procs:
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        stop_group(proc, grace=0)


def live_pids() -> list[int]:
    """Process ids of the engines running now (for tests and diagnostics)."""
    with _live_lock:
        return [pid for pid, proc in _live.items() if proc.poll() is None]


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _remember(proc: subprocess.Popen) -> None:
    global _atexit_registered
    with _live_lock:
        _live[proc.pid] = proc
        if not _atexit_registered:
            atexit.register(stop_all)
            _atexit_registered = True
    if threading.current_thread() is threading.main_thread():  # Python sets signal handlers there only
        for sig in (signal.SIGTERM, signal.SIGINT):
            if sig not in _previous_handlers:
                _previous_handlers[sig] = signal.signal(sig, _on_signal)


def _on_signal(signum: int, frame: Optional[FrameType]) -> None:
    """Stop the engines, then do what the signal did before ragjet installed this handler."""
    stop_all()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
