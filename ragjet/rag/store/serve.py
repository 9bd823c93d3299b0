"""Serve an embedded database (a Chroma directory, a Milvus Lite ``.db``) to several processes.

Each store class declares its server mode (`server_mode.StoreServer`: command, readiness probe, default
port); this module starts and stops such a server.

An embedded database belongs to one process. To share it, its own server mode runs it once, here on
127.0.0.1, and every process connects by uri: ``ragjet serve-store chroma --path DIR --port 8000`` (``chroma
run``) or ``ragjet serve-store milvus --path FILE.db --port 19530`` (Milvus Lite's gRPC server), then
``store_conf={'type': 'chroma' | 'milvus', 'kwargs': {'uri': 'http://127.0.0.1:PORT'}}``.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Optional

from ...procs import spawn, stop_group, tcp_open, wait_until_ready
from .base import STORES
from .server_mode import StoreServer


def servers() -> dict[str, StoreServer]:
    """Store type → server mode, for every registered store that has one."""
    return {name: STORES.get(name).server for name in STORES.names() if STORES.get(name).server is not None}


def serve_store(kind: str, path: str, port: int, host: str = "127.0.0.1", timeout: float = 60.0,
                log_file: Optional[str] = None) -> subprocess.Popen:
    """Start the server of the embedded database at ``path`` and return once it answers on ``host:port``.

    Its output goes to ``log_file`` (a temporary file by default; ``proc.log_path`` names it). A server that
    exits or stays silent for ``timeout`` seconds raises RuntimeError with the end of that log.
    """
    known = servers()
    if kind not in known:
        raise ValueError(f"unknown store server {kind!r}; choose one of: {', '.join(known)}")
    server = known[kind]
    if tcp_open(host, port):
        raise RuntimeError(f"{host}:{port} is already in use; choose another port")
    target = Path(path).expanduser().resolve()
    if server.path_is_dir:
        target.mkdir(parents=True, exist_ok=True)
    proc, log_path = spawn(server.command(target, host, port), f"{kind}-server",
                           log_path=Path(log_file) if log_file is not None else None)
    proc.log_path = log_path  # type: ignore[attr-defined]
    try:
        wait_until_ready(proc, lambda: server.ready(host, port), timeout, log_path, f"{kind} server on {host}:{port}")
    except BaseException:
        stop_group(proc)
        raise
    return proc
