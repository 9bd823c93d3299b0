"""The `milvus` store: one Milvus collection per node group, in Milvus Lite (a ``.db`` path) or on a server.

Schema of group ``g`` (collection ``{prefix}_g``, created at the group's first write, strong consistency):
``uid`` VARCHAR(64) primary key; ``content``, ``parent``, ``doc_id``, ``metadata``, ``global_metadata``,
``excluded`` VARCHAR (the codec's fields, JSON as strings); per embed key a FLOAT_VECTOR ``vec_{key}`` (a
SPARSE_FLOAT_VECTOR for a sparse key) and a BOOL ``has_{key}``: a node without a vector for the key stores a
placeholder with ``has_{key}`` false, and while a key has such rows (collection property ``ragjet.partial``)
its searches filter on the flag (nullable vector fields would be neater, but Milvus Lite ranks null vectors
as zeros and refuses a batch whose vectors are all null); and, with the dynamic field on, the node's scalar
metadata under its own names, so ``filters={'subject': 'biology'}`` is the native expression
``subject == "biology"``. Milvus refuses an empty sparse vector (a text with no terms, which matches no
query anyway): it is stored as absent, and read back so.

Milvus Lite searches rows not yet flushed by brute force (~0.4 s for 5,000 384-dim rows), so on Lite the
first search after writes flushes the collection, which builds its index.

Milvus needs a vector field in every collection: a group whose nodes carry no vector gets a constant 2-dim
field ``vec__none``. When a group's nodes gain an embed key the collection lacks (a new retriever), the
collection is recreated with the added field and its rows written back (logged). Collection properties
record the group and its keys (``ragjet.group``, ``ragjet.keys``), so both are found again after a restart.

Text fields hold at most 65,535 bytes (Milvus's VARCHAR limit); a longer node fails with its uid and size.

Indexes (``index_kwargs``: one dict for every dense embed key, or a list of dicts each naming its
``embed_key``, which can set a sparse key's index too). Dense keys: HNSW (M=16, efConstruction=200) by
default, IVF_FLAT (nlist=128), FLAT, AUTOINDEX, ...; the metric is always COSINE (Milvus returns the
similarity itself). Milvus Lite 3.2 builds AUTOINDEX, FLAT, BRUTE_FORCE, HNSW, HNSW_SQ, IVF_FLAT and IVF_SQ8
(the last four through faiss-cpu, one of its dependencies); another type requested of a Lite server logs one
warning and uses AUTOINDEX. Sparse keys (``{index: weight}`` vectors, e.g. `ragjet.BM25SparseEmbedding`):
SPARSE_INVERTED_INDEX with metric IP, the only pair Milvus Lite 3.2 accepts for a sparse field (it refuses
SPARSE_WAND, AUTOINDEX, and COSINE), so a search ranks by inner product, best first, and returns only rows
sharing a term with the query; sparse weights must be non-negative, as Milvus requires. A Milvus server may
build other sparse index types (a list item with that ``embed_key`` asks for one).

A Lite database serves one process: a second process fails at once (`StoreLockedError`) with the
server-mode fix (``ragjet serve-store milvus --path FILE --port N``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence, Union

import numpy as np

from ...log import LOG
from ..doc_node import DocNode
from ..sparse_vector import SPARSE_DIM, SparseVector, as_sparse, is_sparse, vector_dim
from .base import STORES, StoreBase
from .codec import NodeDecoder
from .external import (FILTER_RESERVED, RECORD_FIELDS, Deferred, batches, check_dimension, check_prefix,
                       collection_name, connected, delete_existing, fetch_by_uid, fetch_in_batches, filter_items,
                       remote_ledger_path, require_extra, safe_part, scalar_fields, store_records, vector_dims)
from .locks import ProcessLock

if TYPE_CHECKING:
    from pymilvus import MilvusClient

_REMOTE_SCHEMES = ("http://", "https://", "tcp://", "unix:")
_TEXT_FIELDS = ("content", "parent", "doc_id", "metadata", "global_metadata", "excluded")
_MAX_VARCHAR = 65535
_DUMMY = "vec__none"
_DUMMY_VECTOR = [0.0, 1.0]
_QUERY_WINDOW = 16384  # Milvus caps offset + limit of one query at this
DEFAULT_INDEX_PARAMS = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_FLAT": {"nlist": 128}}
IndexKwargs = Optional[Union[dict[str, Any], list[dict[str, Any]]]]
LITE_INDEX_TYPES = frozenset({"AUTOINDEX", "FLAT", "BRUTE_FORCE", "HNSW", "HNSW_SQ", "IVF_FLAT", "IVF_SQ8"})


@dataclass(frozen=True)
class VectorKind:
    """How Milvus indexes one kind of vector field: the index it gets by default, the one metric the store
    ranks it by, and what Milvus Lite builds of it (another requested type becomes ``lite_fallback``)."""

    name: str
    default_type: str
    metric: str
    lite_types: frozenset[str]
    lite_fallback: str


DENSE = VectorKind("dense", "HNSW", "COSINE", LITE_INDEX_TYPES, "AUTOINDEX")
SPARSE = VectorKind("sparse", "SPARSE_INVERTED_INDEX", "IP", frozenset({"SPARSE_INVERTED_INDEX"}),
                    "SPARSE_INVERTED_INDEX")
_SPARSE_PLACEHOLDER = {0: 1.0}  # Milvus refuses an empty sparse vector; ``has_`` false hides this one


@dataclass
class _Collection:
    """One group's collection: its name and, per embed key, the suffix of its ``vec_`` / ``has_`` fields."""

    name: str
    keys: dict[str, str]
    dims: dict[str, int]
    partial: set[str] = field(default_factory=set)

    def key_fields(self) -> list[str]:
        return [f"{kind}_{suffix}" for suffix in self.keys.values() for kind in ("vec", "has")]

    def schema_fields(self) -> set[str]:
        return {"uid", *_TEXT_FIELDS, _DUMMY, *self.key_fields()}

    def output_fields(self) -> list[str]:
        return ["uid", *_TEXT_FIELDS, *self.key_fields()]

    def kind(self, key: str) -> VectorKind:
        return SPARSE if self.dims[key] == SPARSE_DIM else DENSE

    def placeholder(self, key: str) -> np.ndarray | SparseVector:
        """What a node without a vector for ``key`` stores in its field (``has_`` false hides it)."""
        if self.kind(key) is SPARSE:
            return _SPARSE_PLACEHOLDER
        vec = np.zeros(self.dims[key], dtype=np.float32)
        vec[0] = 1.0
        return vec

    def decode_vector(self, key: str, value: Any) -> np.ndarray | SparseVector:
        """A vector field's value as ragjet holds it: a float32 array, or a canonical sparse dict."""
        return as_sparse(value) if self.kind(key) is SPARSE else np.asarray(value, dtype=np.float32)


@STORES.register("milvus")
class MilvusStore(StoreBase):
    """Nodes and vectors in Milvus; cosine (dense) and inner-product (sparse) search with native metadata
    filters runs inside Milvus."""

    persistent = True
    supports_vector_search = True

    def __init__(self, uri: str, token: Optional[str] = None, db_name: Optional[str] = None,
                 collection_prefix: str = "ragjet", index_kwargs: IndexKwargs = None, batch_size: int = 1000) -> None:
        super().__init__()
        require_extra("pymilvus", "milvus")
        self.prefix = check_prefix(collection_prefix)
        self.batch_size = max(1, batch_size)
        self._plan = IndexPlan(index_kwargs)
        self._uri = str(uri)
        self._db_name = db_name
        self._lite_path: Optional[Path] = None
        self._lock: Optional[ProcessLock] = None
        if self._uri.startswith(_REMOTE_SCHEMES):
            client_uri = self._uri
        else:
            require_extra("milvus_lite", "milvus", package="milvus-lite")
            self._lite_path = Path(self._uri).expanduser().resolve()
            if self._lite_path.suffix != ".db":
                raise ValueError(f"a Milvus Lite uri is a path ending in .db, got {uri!r} (or use 'http://host:port' "
                                 f"for a Milvus server)")
            self._lite_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock = ProcessLock("milvus", self._lite_path)
            client_uri = str(self._lite_path)
        self._connection: Optional[Deferred["MilvusClient"]] = Deferred(
            lambda: _connect(client_uri, token, db_name), "ragjet milvus connect", on_error=self._release_lite)
        self._cols: dict[str, _Collection] = {}
        self._unflushed: set[str] = set()

    @property
    def _client(self) -> "MilvusClient":
        """The Milvus client, once the background connection is made (its error, if any, raised here)."""
        return connected(self._connection, "milvus")

    @cached_property
    def _lite(self) -> bool:
        return self._lite_path is not None or self._client.get_server_version().startswith("milvus_lite")

    @property
    def ledger_path(self) -> Path:
        if self._lite_path is not None:
            return Path(f"{self._lite_path}.ragjet-ledger.sqlite")
        return remote_ledger_path("milvus", self._uri, self._db_name, self.prefix)

    # -- collections ------------------------------------------------------------------------------------
    def _collection(self, group: str) -> Optional[_Collection]:
        """The collection of ``group``, described once; None while it does not exist (asked again each time,
        as another process may create it)."""
        col = self._cols.get(group)
        if col is not None:
            return col
        name = collection_name(self.prefix, group)
        if not self._client.has_collection(name):
            return None
        desc = self._client.describe_collection(name)
        dims = {f["name"]: int(f["params"]["dim"]) for f in desc["fields"] if "dim" in f.get("params", {})}
        props = desc.get("properties", {})
        keys = json.loads(props.get("ragjet.keys") or "{}")
        col = _Collection(name, keys, {k: dims.get(f"vec_{s}", SPARSE_DIM) for k, s in keys.items()},
                          set(json.loads(props.get("ragjet.partial") or "[]")))
        self._client.load_collection(name)
        self._cols[group] = col
        return col

    def _create(self, group: str, dims: dict[str, int]) -> _Collection:
        from pymilvus import DataType, MilvusClient

        name = collection_name(self.prefix, group)
        keys = {key: safe_part(key) for key in sorted(dims)}
        col = _Collection(name, keys, dict(dims))
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("uid", DataType.VARCHAR, is_primary=True, max_length=64)
        for text in _TEXT_FIELDS:
            schema.add_field(text, DataType.VARCHAR, max_length=_MAX_VARCHAR)
        params = self._client.prepare_index_params()
        for key, suffix in keys.items():
            kind = col.kind(key)
            if kind is SPARSE:
                schema.add_field(f"vec_{suffix}", DataType.SPARSE_FLOAT_VECTOR)
            else:
                schema.add_field(f"vec_{suffix}", DataType.FLOAT_VECTOR, dim=dims[key])
            schema.add_field(f"has_{suffix}", DataType.BOOL)
            params.add_index(field_name=f"vec_{suffix}", index_type=self._plan.index_type(key, kind, self._lite),
                             metric_type=self._plan.metric(key, kind), params=self._plan.params(key, kind, self._lite))
        if not keys:
            schema.add_field(_DUMMY, DataType.FLOAT_VECTOR, dim=len(_DUMMY_VECTOR))
            params.add_index(field_name=_DUMMY, index_type="AUTOINDEX", metric_type="L2")
        self._client.create_collection(name, schema=schema, consistency_level="Strong",
                                       properties={"ragjet.group": group, "ragjet.keys": json.dumps(keys)})
        self._client.create_index(name, params, sync=False)  # pymilvus's wait polls every 0.5 s; it is empty
        self._client.load_collection(name)
        self._cols[group] = col
        return col

    def _widen(self, group: str, col: _Collection, dims: dict[str, int]) -> _Collection:
        """Recreate ``group``'s collection with vector fields for the new embed keys in ``dims``."""
        rows = self.get_nodes(group)
        LOG.info("milvus collection %s gains embed key(s) %s: recreating it and rewriting its %d rows", col.name,
                 ", ".join(sorted(set(dims) - set(col.keys))), len(rows))
        self._client.drop_collection(col.name)
        wider = self._create(group, {**col.dims, **dims})
        self._write(wider, store_records(rows, "milvus", sparse=True), rows)
        return wider

    # -- writes -----------------------------------------------------------------------------------------
    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        records = store_records(nodes, "milvus", sparse=True)
        dims = vector_dims(records, "milvus", group)
        col = self._collection(group)
        if col is None:
            col = self._create(group, dims)
        else:
            for key, dim in dims.items():
                if key in col.dims:
                    check_dimension("milvus", group, key, col.dims[key], dim)
            if set(dims) - set(col.keys):
                col = self._widen(group, col, dims)
        self._write(col, records, nodes)

    def _write(self, col: _Collection, records: list[dict[str, Any]], nodes: Sequence[DocNode]) -> None:
        reserved = RECORD_FIELDS | col.schema_fields()
        rows = []
        for rec, node in zip(records, nodes):
            row = scalar_fields(node, reserved)
            for name in ("uid", *_TEXT_FIELDS):
                value = rec[name]
                size = len(value.encode("utf-8", "surrogatepass"))
                if size > (64 if name == "uid" else _MAX_VARCHAR):
                    raise ValueError(f"node {rec['uid']!r}: its {name} is {size} bytes, more than the {_MAX_VARCHAR} "
                                     f"bytes a Milvus VARCHAR holds (uids at most 64); split such texts into smaller "
                                     f"chunks or use another store for this group")
                row[name] = value
            for key, suffix in col.keys.items():
                vec = rec["embedding"].get(key)
                stored = _stored(vec)
                if stored and is_sparse(vec) and min(vec.values()) < 0:
                    raise ValueError(f"node {rec['uid']!r} has a negative weight in its sparse vector for embed key "
                                     f"{key!r}; Milvus keeps non-negative sparse weights only (use the map store "
                                     f"for signed sparse vectors)")
                row[f"vec_{suffix}"] = vec if stored else col.placeholder(key)
                row[f"has_{suffix}"] = stored
            if not col.keys:
                row[_DUMMY] = _DUMMY_VECTOR
            rows.append(row)
        for chunk in batches(rows, self.batch_size):
            self._client.upsert(col.name, list(chunk))
        self._unflushed.add(col.name)
        self._track_gaps(col, records)

    def _track_gaps(self, col: _Collection, records: list[dict[str, Any]]) -> None:
        """Keep ``col.partial`` (the keys some rows lack) right after a write, in memory and in the collection."""
        gaps = {key for key in col.keys if any(not _stored(rec["embedding"].get(key)) for rec in records)}
        healed = {key for key in col.partial - gaps
                  if not self._client.query(col.name, filter=f"has_{col.keys[key]} == false", output_fields=["uid"],
                                            limit=1)}
        partial = (col.partial | gaps) - healed
        if partial != col.partial:
            col.partial = partial
            self._client.alter_collection_properties(col.name, {"ragjet.partial": json.dumps(sorted(partial))})

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        col = self._collection(group)
        if col is None:
            return []
        if uids is None:
            removed = [row["uid"] for row in self._query(col, "", ["uid"])]
            self._client.drop_collection(col.name)
            self._cols.pop(group, None)
            return removed
        def existing(ids: list[str]) -> list[str]:
            hits = self._client.query(col.name, filter=f"uid in {_literal(ids)}", output_fields=["uid"])
            return [row["uid"] for row in hits]

        return delete_existing(uids, existing, lambda found: self._client.delete(
            col.name, filter=f"uid in {_literal(found)}"), self.batch_size)

    # -- reads ------------------------------------------------------------------------------------------
    def get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                  doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        col = self._collection(group_name)
        if col is None:
            return []
        if uids is not None:
            return fetch_by_uid(uids, lambda ids: self._decode(
                group_name, col, self._client.get(col.name, ids=ids, output_fields=col.output_fields())),
                self.batch_size)
        if doc_ids is not None:
            return self._where(group_name, col, "doc_id", list(doc_ids))
        return self._decode(group_name, col, self._query(col, "", col.output_fields()))

    def doc_uids(self, group_name: str, doc_ids: list[str]) -> list[str]:
        col = self._collection(group_name)
        if col is None:
            return []
        return [row["uid"] for row in self._rows_where(col, "doc_id", doc_ids, ["uid"])]

    def get_children(self, group_name: str, parent_uids: Iterable[str]) -> list[DocNode]:
        col = self._collection(group_name)
        return self._where(group_name, col, "parent", list(parent_uids)) if col is not None else []

    def _where(self, group_name: str, col: _Collection, field: str, values: list[str]) -> list[DocNode]:
        return self._decode(group_name, col, self._rows_where(col, field, values, col.output_fields()))

    def _rows_where(self, col: _Collection, field: str, values: list[str], fields: list[str]) -> list[dict[str, Any]]:
        """``fields`` of the rows whose ``field`` is one of ``values``."""
        return fetch_in_batches(values, lambda chunk: self._query(col, f"{field} in {_literal(chunk)}", fields),
                                self.batch_size)

    def _query(self, col: _Collection, expr: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching ``expr``: one query when the collection fits Milvus's query window, else an
        iterator (which pages by primary key)."""
        if self._count(col) <= _QUERY_WINDOW:
            return list(self._client.query(col.name, filter=expr, output_fields=fields, limit=_QUERY_WINDOW))
        rows: list[dict[str, Any]] = []
        it = self._client.query_iterator(col.name, batch_size=self.batch_size, filter=expr, output_fields=fields)
        try:
            while batch := it.next():
                rows.extend(batch)
        finally:
            it.close()
        return rows

    def _decode(self, group_name: str, col: _Collection, rows: Iterable[dict[str, Any]]) -> list[DocNode]:
        decode = NodeDecoder()
        nodes = []
        for row in rows:
            embedding = {key: col.decode_vector(key, row[f"vec_{s}"])
                         for key, s in col.keys.items() if row.get(f"has_{s}")}
            nodes.append(decode({**{k: row.get(k) for k in ("uid", *_TEXT_FIELDS)}, "group": group_name,
                                 "embedding": embedding}))
        return nodes

    def _count(self, col: _Collection) -> int:
        rows = self._client.query(col.name, filter="", output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def count(self, group_name: str) -> int:
        col = self._collection(group_name)
        return self._count(col) if col is not None else 0

    def groups(self) -> list[str]:
        out = []
        for name in self._client.list_collections():
            if not name.startswith(f"{self.prefix}_"):
                continue
            group = self._client.describe_collection(name).get("properties", {}).get("ragjet.group")
            if group is not None and collection_name(self.prefix, group) == name and self.count(group):
                out.append(group)
        return out

    # -- search -----------------------------------------------------------------------------------------
    def vector_search(self, group_name: str, embed_key: str, query: np.ndarray | SparseVector, topk: int,
                      filters: Optional[dict[str, Any]] = None) -> list[tuple[DocNode, float]]:
        """Best ``topk`` nodes by cosine with ``query`` (by inner product for a sparse key) through Milvus's index,
        after native metadata ``filters``; the node fields come back with the hits (vectors left out), as a raw
        ``client.search`` would fetch them."""
        expr = milvus_filter(filters)
        col = self._collection(group_name)
        if col is None or embed_key not in col.keys or topk <= 0:
            return []
        query = as_sparse(query) if is_sparse(query) else np.asarray(query, dtype=np.float32).reshape(-1)
        check_dimension("milvus", group_name, embed_key, col.dims[embed_key], vector_dim(query))
        if is_sparse(query) and not query:
            return []  # no query term: nothing shares one (and Milvus refuses an empty sparse vector)
        kind = col.kind(embed_key)
        suffix = col.keys[embed_key]
        if embed_key in col.partial:
            expr = f"has_{suffix} == true" + (f" and ({expr})" if expr else "")
        if self._lite and col.name in self._unflushed:
            self._client.flush(col.name)
            self._unflushed.discard(col.name)
        hits = self._client.search(col.name, data=[query], anns_field=f"vec_{suffix}", filter=expr, limit=topk,
                                   output_fields=["uid", *_TEXT_FIELDS],
                                   search_params=self._plan.search_params(embed_key, kind, self._lite, topk))[0]
        decode = NodeDecoder()
        return [(decode({**{k: hit["entity"].get(k) for k in ("uid", *_TEXT_FIELDS)}, "group": group_name}),
                 float(hit["distance"])) for hit in hits]

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.dispose(lambda client: client.close())
        self._release_lite()

    def _release_lite(self) -> None:
        """Release the lock; the last store of this process on a Lite file also stops its in-process server."""
        if self._lock is not None and self._lock.release():
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self._lite_path))


def _stored(vec: Any) -> bool:
    """Whether a node's vector is written as itself: not when absent, nor when it is an empty sparse vector."""
    return vec is not None and not (is_sparse(vec) and not vec)


def _connect(uri: str, token: Optional[str], db_name: Optional[str]) -> "MilvusClient":
    from pymilvus import MilvusClient

    return MilvusClient(uri=uri, token=token or "", db_name=db_name or "")


class IndexPlan:
    """Which index each embed key's vector field gets, from ``index_kwargs`` with ragjet's defaults.

    A list item names its ``embed_key``; a single dict applies to every dense key (a sparse key needs another
    index type and metric, so it takes its own list item or the sparse defaults)."""

    def __init__(self, index_kwargs: IndexKwargs) -> None:
        if isinstance(index_kwargs, dict):
            self._default, self._per_key = dict(index_kwargs), {}
        else:
            self._default = {}
            self._per_key = {}
            for item in index_kwargs or []:
                if "embed_key" not in item:
                    raise ValueError(f"each index_kwargs item of a list names its embed_key, got {item!r}")
                self._per_key[item["embed_key"]] = {k: v for k, v in item.items() if k != "embed_key"}
        metrics = {kind.metric for kind in (DENSE, SPARSE)}
        for conf in (self._default, *self._per_key.values()):
            metric = str(conf.get("metric_type", DENSE.metric)).upper()
            if metric not in metrics or (conf is self._default and metric != DENSE.metric):
                raise ValueError(f"the milvus store ranks dense vectors by cosine (COSINE) and sparse vectors by "
                                 f"inner product (IP, in a list item naming the sparse embed_key); "
                                 f"metric_type={conf['metric_type']!r} is not supported there")
        self._warned = False

    def _conf(self, key: str, kind: VectorKind) -> dict[str, Any]:
        return self._per_key.get(key, self._default if kind is DENSE else {})

    def _requested(self, key: str, kind: VectorKind) -> str:
        return str(self._conf(key, kind).get("index_type", kind.default_type)).upper()

    def metric(self, key: str, kind: VectorKind) -> str:
        """The metric of ``key``'s field: COSINE for a dense key, IP for a sparse one (another is an error)."""
        metric = str(self._conf(key, kind).get("metric_type", kind.metric)).upper()
        if metric != kind.metric:
            raise ValueError(f"embed key {key!r} holds {kind.name} vectors, which the milvus store ranks by "
                             f"{kind.metric}; its index_kwargs item asks for metric_type={metric!r}")
        return metric

    def index_type(self, key: str, kind: VectorKind, lite: bool) -> str:
        """The index type of ``key``'s vector field; on Milvus Lite a type it cannot build for this kind of
        vector becomes the kind's fallback, with one warning per store."""
        index_type = self._requested(key, kind)
        if lite and index_type not in kind.lite_types:
            if not self._warned:
                LOG.warning("Milvus Lite cannot build index type %s for %s vectors (it builds %s); using %s",
                            index_type, kind.name, ", ".join(sorted(kind.lite_types)), kind.lite_fallback)
                self._warned = True
            return kind.lite_fallback
        return index_type

    def params(self, key: str, kind: VectorKind, lite: bool) -> dict[str, Any]:
        """Build parameters: ragjet's defaults for the type, overridden by the user's ``params`` (dropped when
        Lite replaced the type)."""
        index_type = self.index_type(key, kind, lite)
        user = self._conf(key, kind).get("params", {}) if index_type == self._requested(key, kind) else {}
        return {**DEFAULT_INDEX_PARAMS.get(index_type, {}), **user}

    def search_params(self, key: str, kind: VectorKind, lite: bool, topk: int) -> dict[str, Any]:
        index_type = self.index_type(key, kind, lite)
        if index_type.startswith("HNSW"):
            params = {"ef": max(64, topk)}
        elif index_type.startswith("IVF"):
            params = {"nprobe": min(16, int(self.params(key, kind, lite).get("nlist", 16)))}
        else:
            params = {}
        return {"params": {**params, **self._conf(key, kind).get("search_params", {})}}


def _literal(value: Any) -> str:
    """A Python value as a Milvus expression literal (strings quoted and escaped, lists as ``[...]``)."""
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def milvus_filter(filters: Optional[dict[str, Any]]) -> str:
    """ragjet filters (``{key: value}`` or ``{key: [values]}``, all must hold) as a Milvus boolean expression."""
    return " and ".join(f"{key} in {_literal(wanted)}" if isinstance(wanted, list) else f"{key} == {_literal(wanted)}"
                        for key, wanted in filter_items(filters, FILTER_RESERVED))
