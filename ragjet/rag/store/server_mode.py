"""How an embedded database serves several processes: the server mode a store class declares (`StoreServer`:
command, readiness probe, default port) and the probes it is declared with. A leaf of the store layer (`serve`
starts and stops such servers, and store classes declare theirs here), so the store base can name the type
without importing what starts servers."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...http_client import http_ok
from ...procs import tcp_open


@dataclass(frozen=True)
class StoreServer:
    """The server mode of an embedded database, declared by its store class (`StoreBase.server`)."""

    label: str
    """What the embedded database is, for messages: "Chroma directory", "Milvus Lite database"."""
    port: int
    """The port it listens on unless told otherwise (the database's own default)."""
    command: Callable[[Path, str, int], list[str]]
    """The command that serves the database at a path on a host and port."""
    ready: Callable[[str, int], bool]
    """Whether the server on a host and port accepts requests yet."""
    path_is_dir: bool = False
    """The database is a directory, created before the server starts."""


def grpc_ready(host: str, port: int) -> bool:
    """A gRPC server's channel is ready."""
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=0.5)
        return True
    except grpc.FutureTimeoutError:
        return False
    finally:
        channel.close()


def http_ready(path: str) -> Callable[[str, int], bool]:
    """A probe: GET ``path`` answers 200."""
    return lambda host, port: tcp_open(host, port) and http_ok(host, port, path)
