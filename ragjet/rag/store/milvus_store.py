"""The `milvus` store: one Milvus collection per node group, in Milvus Lite (a ``.db`` path) or on a server.

The layout of a group's collection is `milvus_schema`'s; texts longer than a VARCHAR holds lie beside it in
`milvus_long`'s collection. A group whose nodes carry no vector (the root group: whole files) has no collection:
it lies beside the database (`segments.SegmentsBeside`).

Milvus Lite searches rows not yet flushed by brute force (~0.4 s for 5,000 384-dim rows), so on Lite the
first search after writes flushes the collection, which builds its index.

Indexes: ``index_kwargs`` (one dict for every dense embed key, or a list of dicts each naming its
``embed_key``), resolved by `milvus_index.IndexPlan`, whose module says what each kind of vector gets.

A Lite database serves one process: a second process fails at once (`StoreLockedError`) with the
server-mode fix (``ragjet serve-store milvus --path FILE --port N``).
"""
from __future__ import annotations

import json
import sys
from functools import cached_property
from pathlib import Path
from urllib.parse import urlparse
from typing import TYPE_CHECKING, Any, Iterable, Optional, Sequence

import numpy as np

from ...log import LOG
from ...http_client import direct_to
from ...procs import tcp_open
from ...settings import environ
from ..doc_node import DocNode
from ..sparse_vector import SparseVector, as_sparse, is_sparse, vector_dim
from .base import STORES, StoreBase
from .batching import batches, delete_existing, fetch_by_uid, fetch_in_batches
from .codec import NodeDecoder, check_dimension, store_records, vector_dims
from .connection import ConnectsInBackground, Deferred, connected, require_extra
from .filters import milvus_filter, milvus_literal
from .locks import ProcessLock
from .milvus_index import IndexKwargs, IndexPlan
from .milvus_long import LongTexts, query_pages
from .milvus_schema import TEXT_FIELDS, GroupCollection, stored_vector
from .naming import check_prefix, collection_name, remote_ledger_path, safe_part
from .segments import SegmentsBeside
from .server_mode import StoreServer, grpc_ready

if TYPE_CHECKING:
    from pymilvus import MilvusClient

_REMOTE_SCHEMES = ("http://", "https://", "tcp://", "unix:")
DEFAULT_MILVUS_PORT = 19530
_QUERY_WINDOW = 16384  # Milvus caps offset + limit of one query at this


def _serve_command(path: Path, host: str, port: int) -> list[str]:
    """Milvus Lite's gRPC server on the ``.db`` file."""
    require_extra("milvus_lite", "milvus", package="milvus-lite")
    return [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(path), "--host", host,
            "--port", str(port)]


class MilvusDatabase(ConnectsInBackground, StoreBase):
    """Nodes and vectors in Milvus; cosine (dense) and inner-product (sparse) search with native metadata
    filters runs inside Milvus. `MilvusStore` is what ``store_conf`` builds."""

    persistent = True
    supports_vector_search = True
    server = StoreServer("Milvus Lite database", DEFAULT_MILVUS_PORT, _serve_command, grpc_ready)

    @classmethod
    def location_kwargs(cls, where: str) -> dict[str, Any]:
        """``milvus:FILE.db`` (Milvus Lite) or ``milvus:http://HOST:PORT``, whose token comes from
        ``MILVUS_TOKEN``."""
        kwargs = super().location_kwargs(where)
        token = environ("MILVUS_TOKEN")
        if where.startswith(_REMOTE_SCHEMES) and token:
            kwargs["token"] = token
        return kwargs

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
            self._lock = ProcessLock(type(self), self._lite_path)
            client_uri = str(self._lite_path)
        self._connection: Optional[Deferred["MilvusClient"]] = Deferred(
            lambda: _connect(client_uri, token, db_name), "ragjet milvus connect", on_error=self._release_lite)
        self._cols: dict[str, GroupCollection] = {}
        self._long: dict[str, LongTexts] = {}
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
    def _in_database(self, group: str) -> bool:
        return self._collection(group) is not None

    def _collection(self, group: str) -> Optional[GroupCollection]:
        """The collection of ``group``, described once; None while it does not exist (asked again each time,
        as another process may create it)."""
        col = self._cols.get(group)
        if col is not None:
            return col
        name = collection_name(self.prefix, group)
        if not self._client.has_collection(name):
            return None
        col = GroupCollection.described(name, self._client.describe_collection(name))
        self._client.load_collection(name)
        self._cols[group] = col
        return col

    def _long_texts(self, col: GroupCollection) -> LongTexts:
        """Where the texts of ``col``'s rows that are over the VARCHAR limit lie (`milvus_long`)."""
        long = self._long.get(col.name)
        if long is None:
            long = self._long[col.name] = LongTexts(self._client, col.name, self.batch_size)
        return long

    def _create(self, group: str, dims: dict[str, int]) -> GroupCollection:
        col = GroupCollection(collection_name(self.prefix, group), {key: safe_part(key) for key in sorted(dims)},
                              dict(dims))
        schema, params = col.schema(self._client.prepare_index_params(), self._plan, self._lite)
        self._client.create_collection(col.name, schema=schema, consistency_level="Strong",
                                       properties={"ragjet.group": group, "ragjet.keys": json.dumps(col.keys)})
        self._client.create_index(col.name, params, sync=False)  # pymilvus's wait polls every 0.5 s; it is empty
        self._client.load_collection(col.name)
        self._cols[group] = col
        return col

    def _widen(self, group: str, col: GroupCollection, dims: dict[str, int]) -> GroupCollection:
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

    def _write(self, col: GroupCollection, records: list[dict[str, Any]], nodes: Sequence[DocNode]) -> None:
        rows = [col.row(rec, node) for rec, node in zip(records, nodes)]
        self._long_texts(col).put(rows)
        for chunk in batches(rows, self.batch_size):
            self._client.upsert(col.name, list(chunk))
        self._unflushed.add(col.name)
        self._track_gaps(col, records)

    def _track_gaps(self, col: GroupCollection, records: list[dict[str, Any]]) -> None:
        """Keep ``col.partial`` (the keys some rows lack) right after a write, in memory and in the collection."""
        gaps = {key for key in col.keys if any(not stored_vector(rec["embedding"].get(key)) for rec in records)}
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
            self._long_texts(col).drop_all()
            self._cols.pop(group, None)
            return removed
        def existing(ids: list[str]) -> list[str]:
            hits = self._client.query(col.name, filter=f"uid in {milvus_literal(ids)}", output_fields=["uid"])
            return [row["uid"] for row in hits]

        def delete(found: list[str]) -> None:
            self._client.delete(col.name, filter=f"uid in {milvus_literal(found)}")
            self._long_texts(col).drop(found)

        return delete_existing(uids, existing, delete, self.batch_size)

    # -- reads ------------------------------------------------------------------------------------------
    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
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

    def _where(self, group_name: str, col: GroupCollection, field: str, values: list[str]) -> list[DocNode]:
        return self._decode(group_name, col, self._rows_where(col, field, values, col.output_fields()))

    def _rows_where(self, col: GroupCollection, field: str, values: list[str],
                    fields: list[str]) -> list[dict[str, Any]]:
        """``fields`` of the rows whose ``field`` is one of ``values``."""
        return fetch_in_batches(values, lambda chunk: self._query(col, f"{field} in {milvus_literal(chunk)}", fields),
                                self.batch_size)

    def _query(self, col: GroupCollection, expr: str, fields: list[str]) -> list[dict[str, Any]]:
        """Every row matching ``expr``: one query when the collection fits Milvus's query window, else an
        iterator (which pages by primary key)."""
        if self._count(col) <= _QUERY_WINDOW:
            return list(self._client.query(col.name, filter=expr, output_fields=fields, limit=_QUERY_WINDOW))
        return query_pages(self._client, col.name, expr, fields, self.batch_size)

    def _decode(self, group_name: str, col: GroupCollection, rows: Iterable[dict[str, Any]]) -> list[DocNode]:
        rows = list(rows)
        self._long_texts(col).fill(rows)
        decode = NodeDecoder()
        nodes = []
        for row in rows:
            embedding = {key: col.decode_vector(key, row[f"vec_{s}"])
                         for key, s in col.keys.items() if row.get(f"has_{s}")}
            nodes.append(decode({**{k: row.get(k) for k in ("uid", *TEXT_FIELDS)}, "group": group_name,
                                 "embedding": embedding}))
        return nodes

    def _count(self, col: GroupCollection) -> int:
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
                                   output_fields=["uid", *TEXT_FIELDS],
                                   search_params=self._plan.search_params(embed_key, kind, self._lite, topk))[0]
        entities = [{**{k: hit["entity"].get(k) for k in ("uid", *TEXT_FIELDS)}, "group": group_name} for hit in hits]
        self._long_texts(col).fill(entities)
        decode = NodeDecoder()
        return [(decode(entity), float(hit["distance"])) for entity, hit in zip(entities, hits)]

    def raw_search(self, group_name: str, embed_key: str, query: np.ndarray, topk: int) -> list[str]:
        col = self._collection(group_name)
        hits = self._client.search(col.name, data=[query], anns_field=f"vec_{col.keys[embed_key]}", limit=topk,
                                   output_fields=["uid", "content"])[0]
        return [h["uid"] for h in hits]

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.dispose(lambda client: client.close())
        self._release_lite()

    def _release_lite(self) -> None:
        """Release the lock; the last store of this process on a Lite file also stops its in-process server."""
        if self._lock is not None and self._lock.release():
            from milvus_lite.server_manager import server_manager_instance

            server_manager_instance.release_server(str(self._lite_path))


@STORES.register("milvus")
class MilvusStore(SegmentsBeside, MilvusDatabase):
    """The ``milvus`` store: the groups with vectors in Milvus, those without beside it (`SegmentsBeside`)."""


MILVUS_LITE_HOST = "http://127.0.0.1"


def _connect(uri: str, token: Optional[str], db_name: Optional[str]) -> "MilvusClient":
    """A client of ``uri``; a server whose port is closed is reported at once, by name (pymilvus retries for
    seconds and then speaks of channels)."""
    from pymilvus import MilvusClient

    if uri.startswith(_REMOTE_SCHEMES):
        parsed = urlparse(uri)
        port = parsed.port or DEFAULT_MILVUS_PORT
        direct_to(uri)
        if parsed.hostname and not tcp_open(parsed.hostname, port):
            raise ConnectionError(f"no Milvus server answers at {uri} (nothing listens on {parsed.hostname}:{port}):"
                                  f" start one (ragjet serve-store milvus) or fix the uri")
        # pymilvus pings an idle connection every 10 s; a server on gRPC's defaults (Milvus Lite's) takes pings
        # without calls as abuse and closes the connection ("too_many_pings") after ~30 s of idling, which a
        # long first start leaves a client. Pinging only during calls keeps it.
        return MilvusClient(uri=uri, token=token or "", db_name=db_name or "",
                            grpc_options={"grpc.keepalive_permit_without_calls": False})
    direct_to(MILVUS_LITE_HOST)  # Milvus Lite serves the file on a port of 127.0.0.1, over gRPC
    return MilvusClient(uri=uri, token=token or "", db_name=db_name or "")
