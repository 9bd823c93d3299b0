"""Serve an embedded database (a Chroma directory, a Milvus Lite ``.db``) to several processes.

An embedded database belongs to one process. To share it, its own server mode runs it once, here on
127.0.0.1, and every process connects by uri: ``ragjet serve-store chroma --path DIR --port 8000`` (``chroma
run``) or ``ragjet serve-store milvus --path FILE.db --port 19530`` (Milvus Lite's gRPC server), then
``store_conf={'type': 'chroma' | 'milvus', 'kwargs': {'uri': 'http://127.0.0.1:PORT'}}``.
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable, Optional

from ...procs import wait_until_ready
from .external import require_extra

_CHROMA_MAIN = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"


def _chroma_command(path: Path, host: str, port: int) -> list[str]:
    require_extra("chromadb", "chroma")
    return [sys.executable, "-c", _CHROMA_MAIN, "run", "--path", str(path), "--host", host, "--port", str(port)]


def _milvus_command(path: Path, host: str, port: int) -> list[str]:
    require_extra("milvus_lite", "milvus", package="milvus-lite")
    return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(path), "--host", host,
            "--port", str(port)]


def _tcp_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _grpc_ready(host: str, port: int) -> bool:
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=0.5)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def _chroma_ready(host: str, port: int) -> bool:
    if not _tcp_open(host, port):
        return False
    conn = http.client.HTTPConnection(host, port, timeout=2)
    try:
        conn.request("GET", "/api/v2/heartbeat")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


SERVERS: dict[str, tuple[Callable[[Path, str, int], list[str]], Callable[[str, int], bool]]] = {
    "chroma": (_chroma_command, _chroma_ready),
    "milvus": (_milvus_command, _grpc_ready),
}
"""Per database: the command running its server, and the probe telling that it accepts requests."""


def serve_store(kind: str, path: str, port: int, host: str = "127.0.0.1", timeout: float = 60.0,
                log_file: Optional[str] = None) -> subprocess.Popen:
    """Start the server of the embedded database at ``path`` and return once it answers on ``host:port``.

    Its output goes to ``log_file`` (a temporary file by default; ``proc.log_path`` names it). A server that
    exits or stays silent for ``timeout`` seconds raises RuntimeError with the end of that log.
    """
    if kind not in SERVERS:
        raise ValueError(f"unknown store server {kind!r}; choose one of: {', '.join(SERVERS)}")
    command, probe = SERVERS[kind]
    if _tcp_open(host, port):
        raise RuntimeError(f"{host}:{port} is already in use; choose another port")
    target = Path(path).expanduser().resolve()
    if kind == "chroma":
        target.mkdir(parents=True, exist_ok=True)
    if log_file is None:
        fd, log_file = tempfile.mkstemp(prefix=f"ragjet-{kind}-", suffix=".log")
        os.close(fd)
    log_path = Path(log_file)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(command(target, host, port), stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    proc.log_path = log_path  # type: ignore[attr-defined]
    try:
        wait_until_ready(proc, lambda: probe(host, port), timeout, log_path, f"{kind} server on {host}:{port}")
    except BaseException:
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """Stop a server started by `serve_store` (SIGTERM, then SIGKILL after ``grace`` seconds)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
