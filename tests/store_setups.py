"""The six store set-ups every store contract test runs on, as pytest fixtures.

``map`` in memory and with a SQLite ``uri``; ``chroma`` embedded (``dir``) and over HTTP; ``milvus`` Lite (a
``.db`` path) and remote (Milvus Lite's server). The two servers start once per test module, on free ports
of 127.0.0.1, and stop after it; each test gets its own collection prefix on them, so tests stay apart.
Import the fixtures into a test module: ``from store_setups import store_setup, chroma_server, milvus_server``.
"""
from __future__ import annotations

import importlib.util
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest

from ragjet.rag.store import StoreBase, create_store
from ragjet.procs import stop_group
from ragjet.rag.store.serve import serve_store

SETUPS = ("map", "map-sqlite", "chroma-dir", "chroma-http", "milvus-lite", "milvus-remote")
EXTRAS = {"chroma": ("chromadb",), "milvus": ("pymilvus", "milvus_lite")}


@dataclass
class StoreSetup:
    """One way to configure a store: its name and its ``store_conf``."""

    name: str
    conf: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.conf["type"]

    def open(self) -> StoreBase:
        return create_store(self.conf)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def skip_without(kind: str) -> None:
    missing = [m for m in EXTRAS.get(kind, ()) if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"{kind} set-ups need {', '.join(missing)}: pip install 'ragjet[{kind}]'")


def _server(kind: str, folder: Path) -> Iterator[str]:
    skip_without(kind)
    port = free_port()
    data = folder / ("chroma" if kind == "chroma" else "server.db")
    proc = serve_store(kind, str(data), port, log_file=str(folder / "server.log"))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory) -> Iterator[str]:
    """The uri of a Chroma server (``chroma run``) for this module's tests."""
    yield from _server("chroma", tmp_path_factory.mktemp("chroma-server"))


@pytest.fixture(scope="module")
def milvus_server(tmp_path_factory) -> Iterator[str]:
    """The uri of a Milvus Lite server for this module's tests."""
    yield from _server("milvus", tmp_path_factory.mktemp("milvus-server"))


def make_setup(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreSetup:
    prefix = f"t{uuid.uuid4().hex[:12]}"
    confs = {
        "map": lambda: {"type": "map"},
        "map-sqlite": lambda: {"type": "map", "kwargs": {"uri": str(tmp_path / "store.sqlite")}},
        "chroma-dir": lambda: {"type": "chroma", "kwargs": {"dir": str(tmp_path / "chroma")}},
        "chroma-http": lambda: {"type": "chroma", "kwargs": {"uri": request.getfixturevalue("chroma_server"),
                                                             "collection_prefix": prefix}},
        "milvus-lite": lambda: {"type": "milvus", "kwargs": {"uri": str(tmp_path / "milvus.db")}},
        "milvus-remote": lambda: {"type": "milvus", "kwargs": {"uri": request.getfixturevalue("milvus_server"),
                                                               "collection_prefix": prefix}},
    }
    skip_without(name.split("-")[0])
    return StoreSetup(name, confs[name]())


@pytest.fixture(params=SETUPS)
def store_setup(request: pytest.FixtureRequest, tmp_path: Path) -> StoreSetup:
    """Each of the six set-ups in turn (servers shared by the module, everything else per test)."""
    return make_setup(request.param, request, tmp_path)
