"""Helpers shared by the stores backed by a vector database (chroma, milvus).

They keep the two backends alike where they can be: the optional import that names the extra to install,
the one-process lock that turns a second process into a clear error pointing at ``ragjet serve-store``,
collection names, the flat scalar fields that make node metadata filterable, the dimension check and where
the ingestion ledger of a remote database lives.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import math
import os
import re
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar

from ...home import ragjet_home
from ...registry import missing_extra
from .codec import node_record

if TYPE_CHECKING:
    from ..doc_node import DocNode

T = TypeVar("T")

# Codec fields every backend stores next to the node's own metadata; a metadata key with one of these names is
# kept in the node (its JSON) but cannot be filtered on, except doc_id, which is the file's doc_id anyway.
RECORD_FIELDS = frozenset({"uid", "group", "content", "parent", "doc_id", "metadata", "global_metadata", "excluded"})
FILTER_RESERVED = RECORD_FIELDS - {"doc_id"}
SERVER_PORTS = {"chroma": 8000, "milvus": 19530}
_NAME_OK = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PART_OK = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*\Z")
_INT64 = 1 << 63


def import_extra(module: str, extra: str, package: Optional[str] = None) -> ModuleType:
    """Import an optional dependency, or raise the ImportError that names ``ragjet[extra]``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing_extra(package or module, extra) from None


def require_extra(module: str, extra: str, package: Optional[str] = None) -> None:
    """Check that an optional dependency is installed without importing it (it runs in another process)."""
    if importlib.util.find_spec(module) is None:
        raise missing_extra(package or module, extra)


# -- one process per embedded database ------------------------------------------------------------------------
class StoreLockedError(RuntimeError):
    """An embedded database is already open in another process."""


class _Held:
    __slots__ = ("fd", "users")

    def __init__(self, fd: int) -> None:
        self.fd, self.users = fd, 1


_held: dict[Path, _Held] = {}
_held_lock = threading.Lock()


def lock_path(kind: str, path: str | os.PathLike) -> Path:
    """The advisory lock file of an embedded database (a Chroma dir or a Milvus Lite ``.db``)."""
    resolved = Path(path).expanduser().resolve()
    return resolved / "ragjet.lock" if kind == "chroma" else Path(f"{resolved}.ragjet.lock")


class ProcessLock:
    """An exclusive ``flock`` on a database's lock file for as long as any store of this process uses it.

    Stores of the same process share the lock (a restart test, two documents on one store); another process
    fails at once with `StoreLockedError`, naming the path and the server-mode fix, instead of corrupting
    the files or hanging.
    """

    def __init__(self, kind: str, path: str | os.PathLike) -> None:
        self.path = lock_path(kind, path)
        self._released = False
        with _held_lock:
            held = _held.get(self.path)
            if held is not None:
                held.users += 1
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            try:
                _lock_now(fd)
            except OSError:
                os.close(fd)
                raise StoreLockedError(locked_message(kind, Path(path).expanduser().resolve())) from None
            _held[self.path] = _Held(fd)

    def release(self) -> bool:
        """Drop this user of the lock; return True when it was the last one (the lock is then released)."""
        if self._released:
            return False
        self._released = True
        with _held_lock:
            held = _held.get(self.path)
            if held is None:
                return False
            held.users -= 1
            if held.users:
                return False
            del _held[self.path]
            os.close(held.fd)
            return True


def _lock_now(fd: int) -> None:
    """Take an exclusive lock on ``fd`` or raise OSError at once (never wait)."""
    if sys.platform == "win32":
        import msvcrt
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def locked_message(kind: str, path: Path) -> str:
    port = SERVER_PORTS[kind]
    what = "Chroma directory" if kind == "chroma" else "Milvus Lite database"
    return (f"the {what} {path} is already open in another process (an embedded database serves one process "
            f"at a time). To share it, serve it once: `ragjet serve-store {kind} --path {path} --port {port}`, "
            f"then use store_conf={{'type': '{kind}', 'kwargs': {{'uri': 'http://127.0.0.1:{port}'}}}} "
            f"in every process (if that other process is such a server already, connect to its port)")


# -- names, records and fields --------------------------------------------------------------------------------
def check_prefix(prefix: str) -> str:
    if not _NAME_OK.match(prefix or ""):
        raise ValueError(f"collection_prefix must start with a letter and hold only letters, digits and '_', "
                         f"got {prefix!r}")
    return prefix


def safe_part(text: str, max_len: int = 100) -> str:
    """``text`` as part of a collection or field name both Chroma and Milvus accept: kept when it is letters
    and digits joined by single ``_``, else cleaned and given a hash suffix, so distinct texts stay distinct."""
    if _PART_OK.match(text) and len(text) <= max_len:
        return text
    digest = hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{re.sub(r'[^A-Za-z0-9]', '_', text)[: max_len - 11]}_{digest}"


def collection_name(prefix: str, group: str, key: Optional[str] = None) -> str:
    """``{prefix}_{group}``, or ``{prefix}_{group}__{key}`` for a group's vectors of one embed key."""
    name = f"{prefix}_{safe_part(group)}"
    return name if key is None else f"{name}__{safe_part(key)}"


def dense_records(nodes: Sequence["DocNode"], store: str) -> list[dict[str, Any]]:
    """Codec records of ``nodes``; sparse vectors ({index: weight}) are refused with a clear message."""
    for node in nodes:
        for key, vec in (node.embedding or {}).items():
            if isinstance(vec, Mapping):
                raise NotImplementedError(
                    f"node {node.uid} has a sparse vector for embed key {key!r}; the {store} store keeps dense "
                    f"vectors only (ragjet embedders return dense float vectors)")
    return [node_record(n) for n in nodes]


def scalar_fields(node: "DocNode", reserved: frozenset[str] | set[str]) -> dict[str, Any]:
    """The node's file metadata overlaid with its own metadata, keeping the scalar values a database can
    filter on (str, bool, int64, finite float) under plain names, minus ``reserved`` names."""
    out: dict[str, Any] = {}
    for source in (node.global_metadata, node._metadata or {}):
        for key, value in source.items():
            if key in reserved or not isinstance(key, str) or not _NAME_OK.match(key):
                continue
            if _filterable(value):
                out[key] = value
            else:
                out.pop(key, None)
    return out


def _filterable(value: Any) -> bool:
    if isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, float) and math.isfinite(value)


def filter_items(filters: Optional[Mapping[str, Any]], reserved: frozenset[str] | set[str]) -> list[tuple[str, Any]]:
    """``filters`` as (key, value or list of values) pairs, after checking every key can be filtered on."""
    items = []
    for key, wanted in (filters or {}).items():
        if key in reserved or not _NAME_OK.match(str(key)):
            raise ValueError(f"cannot filter on metadata key {key!r}: filterable keys start with a letter and hold "
                             f"only letters, digits and '_', and may not be one of {sorted(reserved)}")
        if isinstance(wanted, (list, tuple, set, frozenset)):
            wanted = list(wanted)
        items.append((key, wanted))
    return items


def check_dimension(store: str, group: str, key: str, stored: int, got: int) -> None:
    if stored != got:
        raise ValueError(f"the {store} store holds {stored}-dim vectors for group {group!r}, embed key {key!r}, "
                         f"but got {got}-dim vectors; use the same embed model, or a new collection_prefix or "
                         f"store location for the new one")


def vector_dims(records: Sequence[dict[str, Any]], store: str, group: str) -> dict[str, int]:
    """The dimension of each embed key in a batch of records (one per key, else a ValueError)."""
    dims: dict[str, int] = {}
    for rec in records:
        for key, vec in rec["embedding"].items():
            dim = int(vec.shape[-1])
            check_dimension(store, group, key, dims.setdefault(key, dim), dim)
    return dims


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for begin in range(0, len(items), size):
        yield items[begin:begin + size]


def fetch_by_uid(uids: Iterable[str], fetch: Callable[[list[str]], list["DocNode"]],
                 batch_size: int) -> list["DocNode"]:
    """Nodes for ``uids`` in the order asked (unknown uids skipped), each distinct uid fetched once, in calls
    of at most ``batch_size`` ids: what both databases' ``get_nodes(uids=...)`` need."""
    uids = list(uids)
    found: dict[str, "DocNode"] = {}
    for chunk in batches(list(dict.fromkeys(uids)), batch_size):
        for node in fetch(list(chunk)):
            found[node.uid] = node
    return [found[u] for u in uids if u in found]


def remote_ledger_path(kind: str, *identity: Optional[str]) -> Path:
    """Where the ingestion ledger of a database server lives: in ragjet's home, one file per server and prefix."""
    digest = hashlib.sha1("".join(p or "" for p in identity).encode()).hexdigest()[:12]
    return ragjet_home() / "ledgers" / f"{kind}-{digest}.sqlite"
