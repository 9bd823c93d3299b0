"""The `chroma` store: node groups in Chroma collections, embedded (``dir``) or on a Chroma server (``uri``);
a group whose nodes carry no vector (the root group: whole files) lies beside it (`segments.SegmentsBeside`).

Layout. Chroma gives every collection one vector space and, without an embedding function, refuses records
without a vector. ragjet embeds itself (``embedding_function=None``; every write passes vectors), so a group
``g`` lives in:

* ``{prefix}_g``: one record per node: the text as the Chroma document, the codec's fields (parent, doc_id,
  metadata, global_metadata, excluded; JSON as strings) as Chroma metadata, and a 1-dim dummy vector
  ``[1.0]`` (the record collection searches nothing);
* ``{prefix}_g__{key}``: one per embed key: the node's vector for that key (cosine HNSW by default) and the
  node's scalar metadata (its file's, overlaid with its own) flattened as Chroma metadata, so a filtered
  vector search is one Chroma query.

Chroma itself spends about 0.7 ms per 384-dim vector with metadata and 0.5 ms per record with text (2 cores),
so a group with one embed key writes some 700 nodes/s, in batches of ``batch_size`` per call.

A node without a vector for a key is simply absent from that key's collection. Collection metadata records
the prefix, group, embed key and dimension, so groups and keys are found again after a restart and a
vector of another dimension fails with both dimensions named. Vectors are dense: a node with a sparse
vector (``{index: weight}``, a sparse embed key) fails before anything is written, naming the embed key and
the stores that keep sparse vectors (milvus, map).

An embedded directory serves one process: a second process fails at once (`StoreLockedError`) with the
server-mode fix (``ragjet serve-store chroma --path DIR --port N``).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Optional
from urllib.parse import urlparse

import numpy as np

from ...http_client import direct_to
from ..doc_node import DocNode
from .base import STORES, StoreBase
from .batching import batches, delete_existing, fetch_by_uid, fetch_in_batches
from .codec import NodeDecoder, check_dimension, store_records, vector_dims
from .connection import ConnectsInBackground, Deferred, connected, require_extra
from .filters import FILTER_RESERVED, allows_nothing, chroma_where, scalar_fields
from .locks import ProcessLock
from .naming import check_prefix, collection_name, remote_ledger_path
from .segments import SegmentsBeside
from .server_mode import StoreServer, http_ready

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

_RECORD_META = ("parent", "doc_id", "metadata", "global_metadata", "excluded")
_INCLUDE = ["documents", "metadatas"]
_PAGE = 5000
_CHROMA_MAIN = "import sys; from chromadb.cli.cli import app; sys.argv[0] = 'chroma'; app()"


def _serve_command(path: Path, host: str, port: int) -> list[str]:
    """``chroma run`` on the directory, through this interpreter's chromadb."""
    require_extra("chromadb", "chroma")
    return [sys.executable, "-c", _CHROMA_MAIN, "run", "--path", str(path), "--host", host, "--port", str(port)]


@dataclass
class _Group:
    """The collections of one node group."""

    nodes: "Collection"
    vectors: dict[str, "Collection"] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)


class ChromaDatabase(ConnectsInBackground, StoreBase):
    """Nodes and vectors in Chroma; cosine search with metadata filters runs inside Chroma."""

    persistent = True
    supports_vector_search = True
    server = StoreServer("Chroma directory", 8000, _serve_command, http_ready("/api/v2/heartbeat"),
                         path_is_dir=True)

    @classmethod
    def location_kwargs(cls, where: str) -> dict[str, Any]:
        """``chroma:DIR`` embeds the database in a directory; ``chroma:http://HOST:PORT`` connects to a server."""
        kwargs = super().location_kwargs(where)
        return kwargs if where.startswith(("http://", "https://", "tcp://")) else {"dir": where}

    @classmethod
    def lock_file(cls, path: str | Path) -> Path:
        return Path(path).expanduser().resolve() / "ragjet.lock"

    def __init__(self, dir: Optional[str] = None, uri: Optional[str] = None, collection_prefix: str = "ragjet",
                 index_kwargs: Optional[dict[str, Any]] = None, batch_size: int = 1000) -> None:
        super().__init__()
        if (dir is None) == (uri is None):
            raise ValueError("the chroma store needs exactly one of dir=... (embedded database) or "
                             "uri='http://host:port' (a Chroma server)")
        if (index_kwargs or {}).get("space", "cosine") != "cosine":
            raise ValueError(f"the chroma store ranks by cosine; index_kwargs space={index_kwargs['space']!r} "
                             f"is not supported")
        require_extra("chromadb", "chroma")
        self.prefix = check_prefix(collection_prefix)
        self._hnsw = {"space": "cosine", **(index_kwargs or {})}
        self._uri = uri
        self._dir = Path(dir).expanduser().resolve() if dir is not None else None
        self._lock: Optional[ProcessLock] = None
        if self._dir is not None and self._dir.exists() and not self._dir.is_dir():
            raise ValueError(f"the chroma dir {self._dir} is a file: Chroma keeps its database in a folder; give "
                             f"a folder path (it is created if missing)")
        if self._dir is not None:
            self._lock = ProcessLock(type(self), self._dir)
        else:
            parsed = urlparse(uri)
            if parsed.scheme not in ("http", "https") or not parsed.hostname:
                raise ValueError(f"uri must look like 'http://127.0.0.1:8000', got {uri!r}")
        self._max_batch = max(1, batch_size)
        self._connection: Optional[Deferred["ClientAPI"]] = Deferred(
            self._connect, "ragjet chroma connect", on_error=self._lock.release if self._lock else None)
        self._groups: Optional[dict[str, _Group]] = None

    def _connect(self) -> "ClientAPI":
        import chromadb
        from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self._dir is not None:
            return chromadb.PersistentClient(path=str(self._dir), settings=settings)
        parsed = urlparse(self._uri)
        direct_to(self._uri)
        return chromadb.HttpClient(host=parsed.hostname, port=parsed.port or 8000, ssl=parsed.scheme == "https",
                                   settings=settings)

    @property
    def _client(self) -> "ClientAPI":
        """The Chroma client, once the background connection is made (its error, if any, raised here)."""
        return connected(self._connection, "chroma")

    @cached_property
    def batch_size(self) -> int:
        return min(self._max_batch, self._client.get_max_batch_size())

    @property
    def ledger_path(self) -> Path:
        if self._dir is not None:
            return self._dir / "ragjet_ledger.sqlite"
        return remote_ledger_path("chroma", self._uri, self.prefix)

    # -- collections ------------------------------------------------------------------------------------
    def _known(self, refresh: bool = False) -> dict[str, _Group]:
        """This prefix's groups and their vector collections, found from the collections' metadata (once, or
        again on ``refresh``: another process may have added some)."""
        if self._groups is None or refresh:
            groups: dict[str, _Group] = {}
            vectors = []
            for col in self._client.list_collections():
                meta = col.metadata or {}
                if meta.get("ragjet_prefix") != self.prefix:
                    continue
                if "ragjet_key" in meta:
                    vectors.append(col)
                else:
                    groups[meta["ragjet_group"]] = _Group(col)
            for col in vectors:
                meta = col.metadata
                group = groups.get(meta["ragjet_group"])
                if group is not None:
                    group.vectors[meta["ragjet_key"]] = col
                    group.dims[meta["ragjet_key"]] = int(meta["ragjet_dim"])
            self._groups = groups
            return groups
        return self._groups

    def _in_database(self, group: str) -> bool:
        return self._group(group) is not None

    def _group(self, name: str, create: bool = False) -> Optional[_Group]:
        group = self._known().get(name)
        if group is None:
            known = self._known(refresh=True)
            group = known.get(name)
        if group is None and create:
            col = self._client.get_or_create_collection(
                collection_name(self.prefix, name), embedding_function=None,
                metadata={"ragjet_prefix": self.prefix, "ragjet_group": name})
            group = known[name] = _Group(col)
        return group

    def _vectors(self, group_name: str, group: _Group, key: str, dim: int) -> "Collection":
        col = group.vectors.get(key)
        if col is None:
            col = self._client.get_or_create_collection(
                collection_name(self.prefix, group_name, key), embedding_function=None,
                configuration={"hnsw": self._hnsw},
                metadata={"ragjet_prefix": self.prefix, "ragjet_group": group_name, "ragjet_key": key,
                          "ragjet_dim": dim})
            group.vectors[key] = col
            group.dims[key] = int(col.metadata["ragjet_dim"])
        check_dimension("chroma", group_name, key, group.dims[key], dim)
        return col

    # -- writes -----------------------------------------------------------------------------------------
    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        records = store_records(nodes, "chroma")
        dims = vector_dims(records, "chroma", group)
        state = self._group(group, create=True)
        for key, dim in dims.items():
            check_dimension("chroma", group, key, state.dims.get(key, dim), dim)
        fields = [scalar_fields(n, FILTER_RESERVED) for n in nodes]
        for chunk in batches(range(len(records)), self.batch_size):
            state.nodes.upsert(ids=[records[i]["uid"] for i in chunk],
                               embeddings=np.ones((len(chunk), 1), dtype=np.float32),
                               documents=[records[i]["content"] for i in chunk],
                               metadatas=[{k: records[i][k] for k in _RECORD_META} for i in chunk])
        for key, dim in dims.items():
            col = self._vectors(group, state, key, dim)
            rows = [i for i, rec in enumerate(records) if key in rec["embedding"]]
            for chunk in batches(rows, self.batch_size):
                col.upsert(ids=[records[i]["uid"] for i in chunk],
                           embeddings=np.stack([records[i]["embedding"][key] for i in chunk]),
                           metadatas=[fields[i] or None for i in chunk])
        for key, col in state.vectors.items():  # a node rewritten without a key loses its old vector
            lacking = [r["uid"] for r in records if key not in r["embedding"]]
            for chunk in batches(lacking, self.batch_size):
                col.delete(ids=list(chunk))

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        state = self._group(group)
        if state is None:
            return []
        if uids is None:
            removed = self._all_ids(state.nodes)
            for col in (state.nodes, *state.vectors.values()):
                self._client.delete_collection(col.name)
            self._known().pop(group, None)
            return removed
        def delete(found: list[str]) -> None:
            for col in (state.nodes, *state.vectors.values()):
                col.delete(ids=found)

        return delete_existing(uids, lambda ids: state.nodes.get(ids=ids, include=[])["ids"], delete,
                               self.batch_size)

    # -- reads ------------------------------------------------------------------------------------------
    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                   doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        state = self._group(group_name)
        if state is None:
            return []
        if uids is not None:
            return fetch_by_uid(uids, lambda ids: self._decode(group_name, state,
                                                               state.nodes.get(ids=ids, include=_INCLUDE)),
                                self.batch_size)
        if doc_ids is not None:
            return self._where(group_name, state, "doc_id", list(doc_ids))
        nodes: list[DocNode] = []
        offset = 0
        while True:
            page = state.nodes.get(limit=_PAGE, offset=offset, include=_INCLUDE)
            nodes.extend(self._decode(group_name, state, page))
            if len(page["ids"]) < _PAGE:
                return nodes
            offset += _PAGE

    def doc_uids(self, group_name: str, doc_ids: list[str]) -> list[str]:
        state = self._group(group_name)
        if state is None:
            return []
        return fetch_in_batches(doc_ids, lambda chunk: state.nodes.get(
            where={"doc_id": {"$in": chunk}}, include=[])["ids"], self.batch_size)

    def get_children(self, group_name: str, parent_uids: Iterable[str]) -> list[DocNode]:
        state = self._group(group_name)
        return self._where(group_name, state, "parent", list(parent_uids)) if state is not None else []

    def _where(self, group_name: str, state: _Group, key: str, values: list[str]) -> list[DocNode]:
        return fetch_in_batches(values, lambda chunk: self._decode(
            group_name, state, state.nodes.get(where={key: {"$in": chunk}}, include=_INCLUDE)), self.batch_size)

    def _decode(self, group_name: str, state: _Group, got: dict[str, Any],
                with_vectors: bool = True) -> list[DocNode]:
        """Nodes from a ``get`` of the nodes collection; their vectors come from one more ``get`` per embed key,
        which search hits skip (like Milvus's, they carry no vectors: one round trip less per key)."""
        ids = got["ids"]
        if not ids:
            return []
        vectors: dict[str, dict[str, np.ndarray]] = {}
        for key, col in state.vectors.items() if with_vectors else ():
            have = col.get(ids=ids, include=["embeddings"])
            for uid, vec in zip(have["ids"], have["embeddings"]):
                vectors.setdefault(uid, {})[key] = np.asarray(vec, dtype=np.float32)
        decode = NodeDecoder()
        return [decode({"uid": uid, "group": group_name, "content": text or "", "embedding": vectors.get(uid),
                        **{k: meta.get(k) for k in _RECORD_META}})
                for uid, text, meta in zip(ids, got["documents"], got["metadatas"])]

    def _all_ids(self, col: "Collection") -> list[str]:
        ids: list[str] = []
        while True:
            page = col.get(limit=_PAGE, offset=len(ids), include=[])["ids"]
            ids.extend(page)
            if len(page) < _PAGE:
                return ids

    def count(self, group_name: str) -> int:
        state = self._group(group_name)
        return state.nodes.count() if state is not None else 0

    def groups(self) -> list[str]:
        return [name for name, state in self._known(refresh=True).items() if state.nodes.count()]

    # -- search -----------------------------------------------------------------------------------------
    def vector_search(self, group_name: str, embed_key: str, query: np.ndarray, topk: int,
                      filters: Optional[dict[str, Any]] = None) -> list[tuple[DocNode, float]]:
        """Best ``topk`` nodes by cosine with ``query`` (Chroma's HNSW), after metadata ``filters``."""
        if allows_nothing(filters):  # Chroma refuses an empty $in; no node can match it anyway
            return []
        where = chroma_where(filters)
        state = self._group(group_name)
        col = state.vectors.get(embed_key) if state is not None else None
        if col is None or topk <= 0:
            return []
        query = np.asarray(query, dtype=np.float32).reshape(-1)
        check_dimension("chroma", group_name, embed_key, state.dims[embed_key], query.shape[0])
        got = col.query(query_embeddings=query[None, :], n_results=topk, where=where, include=["distances"])
        if not got["ids"][0]:
            return []
        hits = state.nodes.get(ids=got["ids"][0], include=_INCLUDE)
        nodes = {n.uid: n for n in self._decode(group_name, state, hits, with_vectors=False)}
        return [(nodes[uid], 1.0 - float(dist)) for uid, dist in zip(got["ids"][0], got["distances"][0])
                if uid in nodes]

    def raw_search(self, group_name: str, embed_key: str, query: np.ndarray, topk: int) -> list[str]:
        state = self._group(group_name)
        ids = state.vectors[embed_key].query(query_embeddings=query[None, :], n_results=topk,
                                             include=["distances"])["ids"][0]
        state.nodes.get(ids=ids, include=["documents"])
        return ids

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.dispose(lambda client: client.close())
        if self._lock is not None:
            self._lock.release()


@STORES.register("chroma")
class ChromaStore(SegmentsBeside, ChromaDatabase):
    """The ``chroma`` store: the groups with vectors in Chroma, those without beside it (`SegmentsBeside`)."""
