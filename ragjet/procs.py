"""ragjet's child processes (inference engines, database servers in server mode): started in a process group of
their own with a log, waited for until they answer, and stopped, with the workers they spawned.

Readiness is what the server answers, never what it logs; a server that exits or stays silent past the
timeout fails with the tail of its log, so the error shows why.

Every live group is remembered; on interpreter exit (atexit) and on SIGTERM or SIGINT (after which the handler
that was installed before runs, so Ctrl-C still raises KeyboardInterrupt) the groups are terminated, then
killed. A SIGKILL of ragjet itself cannot be caught: then the child stays.
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
from typing import Any, Callable, Mapping, Optional, Sequence

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


def tcp_open(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def spawn(command: Sequence[str], name: str, env: Optional[Mapping[str, str]] = None,
          log_path: Optional[Path] = None) -> tuple[subprocess.Popen, Path]:
    """Start ``command`` in a new process group (with ``env``; this process's by default), its output appended
    to ``log_path`` (a new temporary file by default); return both. It is stopped with ragjet."""
    if log_path is None:
        fd, log_name = tempfile.mkstemp(prefix=f"ragjet-{name}-", suffix=".log")
        os.close(fd)
        log_path = Path(log_name)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, env=None if env is None else dict(env))
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
    """Stop every child this process started (only in that process: a forked child owns none of them)."""
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
    """Process ids of the children running now (for tests and diagnostics)."""
    with _live_lock:
        return [pid for pid, proc in _live.items() if proc.poll() is None]


def stat_fields(pid: int) -> Optional[list[str]]:
    """The fields of Linux's ``/proc/<pid>/stat`` after the command name (state first), or None when process
    ``pid`` is gone or the file cannot be read. The name is cut at its last ``)``: it may hold spaces."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


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
    """Stop the children, then do what the signal did before ragjet installed this handler."""
    stop_all()
    previous = _previous_handlers.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_DFL:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


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
