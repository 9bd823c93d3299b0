"""Helpers shared by the stores backed by a vector database (chroma, milvus).

They keep the two backends alike where they can be: the optional import that names the extra to install,
connecting in the background,
collection names, the flat scalar fields that make node metadata filterable, which vectors a backend keeps
(Milvus keeps sparse ones, Chroma dense ones only), the dimension check and where the ingestion ledger of a
remote database lives.
"""
from __future__ import annotations

import hashlib
import importlib.util
import math
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Iterator, Mapping, Optional, Sequence, TypeVar

from ...home import ragjet_home
from ...registry import missing_extra
from ..sparse_vector import describe_dim, is_sparse, vector_dim
from .codec import node_records

if TYPE_CHECKING:
    from ..doc_node import DocNode

T = TypeVar("T")

# Codec fields every backend stores next to the node's own metadata; a metadata key with one of these names is
# kept in the node (its JSON) but cannot be filtered on, except doc_id, which is the file's doc_id anyway.
RECORD_FIELDS = frozenset({"uid", "group", "content", "parent", "doc_id", "metadata", "global_metadata", "excluded"})
FILTER_RESERVED = RECORD_FIELDS - {"doc_id"}
_NAME_OK = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_PART_OK = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*\Z")
_INT64 = 1 << 63
_VALUE_LISTS = (list, tuple, set, frozenset)  # a filter value of these types lists the values allowed


def require_extra(module: str, extra: str, package: Optional[str] = None) -> None:
    """Check that an optional dependency is installed without importing it (it is imported later, on a
    connecting thread or in a server process), or raise the ImportError that names ``ragjet[extra]``."""
    if importlib.util.find_spec(module) is None:
        raise missing_extra(package or module, extra)


# -- connecting in the background ---------------------------------------------------------------------------
class Deferred(Generic[T]):
    """A value made on a background thread, started at once and waited for at its first use.

    Why: importing a database client and opening it (chromadb ~0.9 s, pymilvus + Milvus Lite ~1 s here) is
    most of a restart, and a restart with nothing changed needs no database until the first query. The
    store checks what it can at once (arguments, extras installed, the process lock) and connects meanwhile;
    an error while connecting is raised by ``get`` (every later use), and ``on_error`` runs once first.
    """

    def __init__(self, make: Callable[[], T], name: str, on_error: Optional[Callable[[], None]] = None) -> None:
        self._make, self._on_error = make, on_error
        self._value: Optional[T] = None
        self._error: Optional[BaseException] = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = self._make()
        except BaseException as exc:  # re-raised in the caller's thread by get()
            self._error = exc
            if self._on_error is not None:
                self._on_error()

    def get(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def dispose(self, release: Callable[[T], Any]) -> None:
        """Wait for the value and ``release`` it (nothing to release when making it failed)."""
        self._thread.join()
        if self._error is None:
            release(self._value)


def connected(connection: Optional[Deferred[T]], store: str) -> T:
    """A store's client once connected; a closed store (``connection`` None) says so."""
    if connection is None:
        raise RuntimeError(f"this {store} store is closed")
    return connection.get()


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


def store_records(nodes: Sequence["DocNode"], store: str, sparse: bool = False) -> list[dict[str, Any]]:
    """Codec records of ``nodes``. A backend that keeps dense vectors only (``sparse`` False) refuses a sparse
    vector ({index: weight}) before writing anything, naming the embed key and the stores that keep them."""
    if not sparse:
        for node in nodes:
            for key, vec in (node.embedding or {}).items():
                if is_sparse(vec):
                    raise NotImplementedError(
                        f"node {node.uid} has a sparse vector for embed key {key!r}, and the {store} store keeps "
                        f"dense vectors only; use the milvus or map store for a document with a sparse embed key "
                        f"(or a smart_embedding_index with the milvus backend)")
    return node_records(nodes)


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
        if isinstance(wanted, _VALUE_LISTS):
            wanted = list(wanted)
        items.append((key, wanted))
    return items


def allows_nothing(filters: Optional[Mapping[str, Any]]) -> bool:
    """Whether a filter key allows no value at all (an empty list): such a query matches no node."""
    return any(isinstance(wanted, _VALUE_LISTS) and not wanted for wanted in (filters or {}).values())


def check_dimension(store: str, group: str, key: str, stored: int, got: int) -> None:
    """Refuse vectors of another dimension, or another kind (dense / sparse), than the stored ones."""
    if stored != got:
        raise ValueError(f"the {store} store holds {describe_dim(stored)} vectors for group {group!r}, embed key "
                         f"{key!r}, but got {describe_dim(got)} vectors; use the same embed model, or a new "
                         f"collection_prefix or store location for the new one")


def vector_dims(records: Sequence[dict[str, Any]], store: str, group: str) -> dict[str, int]:
    """The dimension of each embed key in a batch of records (`SPARSE_DIM` for a sparse key; one per key, else
    a ValueError)."""
    dims: dict[str, int] = {}
    for rec in records:
        for key, vec in rec["embedding"].items():
            dim = vector_dim(vec)
            check_dimension(store, group, key, dims.setdefault(key, dim), dim)
    return dims


def batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for begin in range(0, len(items), size):
        yield items[begin:begin + size]


def fetch_in_batches(values: Iterable[str], fetch: Callable[[list[str]], list[T]], batch_size: int) -> list[T]:
    """``fetch`` over the distinct ``values`` in calls of at most ``batch_size`` of them, results in call order:
    how both databases look nodes (or their uids) up by uid, file or parent without a query too long for them."""
    found: list[T] = []
    for chunk in batches(list(dict.fromkeys(values)), batch_size):
        found.extend(fetch(list(chunk)))
    return found


def fetch_by_uid(uids: Iterable[str], fetch: Callable[[list[str]], list["DocNode"]],
                 batch_size: int) -> list["DocNode"]:
    """Nodes for ``uids`` in the order asked (unknown uids skipped), each distinct uid fetched once, in calls
    of at most ``batch_size`` ids: what both databases' ``get_nodes(uids=...)`` need."""
    uids = list(uids)
    found = {node.uid: node for node in fetch_in_batches(uids, fetch, batch_size)}
    return [found[u] for u in uids if u in found]


def delete_existing(uids: Iterable[str], find: Callable[[list[str]], list[str]],
                    delete: Callable[[list[str]], None], batch_size: int) -> list[str]:
    """Delete those of ``uids`` that exist (``find`` names them), in calls of at most ``batch_size`` ids, and
    return them: what both databases' ``_delete`` of some uids needs."""
    removed: list[str] = []
    for chunk in batches(list(dict.fromkeys(uids)), batch_size):
        found = find(list(chunk))
        if found:
            delete(found)
            removed.extend(found)
    return removed


def remote_ledger_path(kind: str, *identity: Optional[str]) -> Path:
    """Where the ingestion ledger of a database server lives: in ragjet's home, one file per server and prefix."""
    digest = hashlib.sha1("".join(p or "" for p in identity).encode()).hexdigest()[:12]
    return ragjet_home() / "ledgers" / f"{kind}-{digest}.sqlite"
