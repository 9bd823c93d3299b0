"""The `map` store: dicts of nodes per group, with O(1) uid lookups and a per-file uid set.

It serves from memory. With ``uri`` it mirrors every write into a SQLite file and reloads from it on start,
so a restart parses and embeds nothing; the ingestion ledger shares that file. Dense vectors are float32
blobs in ``vectors``; sparse ones are uint32 indices and float32 weights in ``sparse_vectors``.

``snapshot`` is the same mirror used as a cache: `Document` gives the in-memory map of a document with an
embedding model one in ragjet's home (unless ``cache=False``), so even the lecture's plain ``map`` store
restarts without parsing or embedding.
A snapshot serves one process at a time; a second process finds it locked and stays in memory only.
Without either the store forgets everything on exit.
"""
from __future__ import annotations

import operator
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from ...log import LOG
from ...sqlite_util import SqliteFile
from ..doc_node import DocNode
from ..sparse_vector import SparseVector, is_sparse, pack, unpack
from .base import STORES, StoreBase, group_by_name
from .codec import NodeDecoder, node_records
from .locks import ProcessLock, StoreLockedError

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (uid TEXT PRIMARY KEY, grp TEXT, doc_id TEXT, parent TEXT, content TEXT,
    metadata TEXT, global_metadata TEXT, excluded TEXT);
CREATE INDEX IF NOT EXISTS nodes_grp ON nodes (grp);
CREATE TABLE IF NOT EXISTS vectors (uid TEXT, key TEXT, vector BLOB, PRIMARY KEY (uid, key)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sparse_vectors (uid TEXT, key TEXT, indices BLOB, weights BLOB,
    PRIMARY KEY (uid, key)) WITHOUT ROWID;
"""
_COLUMNS = ("uid", "group", "doc_id", "parent", "content", "metadata", "global_metadata", "excluded")
_ROW = operator.itemgetter(*_COLUMNS)


@STORES.register("map")
class MapStore(StoreBase):
    """Nodes in dicts: ``group → uid → node`` and ``group → doc_id → uids``; optionally mirrored to SQLite."""

    def __init__(self, uri: Optional[str] = None, snapshot: Optional[str] = None) -> None:
        super().__init__()
        self._nodes: dict[str, dict[str, DocNode]] = {}
        self._by_doc: dict[str, dict[str, set[str]]] = {}
        self._db: Optional[SqliteFile] = None
        self._lock: Optional[ProcessLock] = None
        if uri is None and snapshot is not None:
            try:
                self._lock = ProcessLock(MapStore, snapshot)
                uri = snapshot
            except StoreLockedError:
                LOG.info("the restart snapshot %s is in use by another process: this store lives in memory only",
                         snapshot)
        if uri is not None:
            self._db = SqliteFile(Path(uri).expanduser(), SCHEMA)
            self.persistent = True
            self._load()

    @classmethod
    def location_kwargs(cls, where: str) -> dict[str, Any]:
        """``map`` alone lives in memory; ``map:FILE.sqlite`` mirrors the nodes to that file."""
        return {"uri": where} if where else {}

    @classmethod
    def snapshot_kwargs(cls, kwargs: dict[str, Any], snapshot: Path) -> Optional[dict[str, Any]]:
        """An in-memory map (no ``uri``, no ``snapshot`` of its own) mirrors itself to ``snapshot``."""
        if "uri" in kwargs or "snapshot" in kwargs:
            return None
        return {**kwargs, "snapshot": str(snapshot)}

    def _close(self) -> None:
        if self._lock is not None:
            self._lock.release()

    @property
    def ledger_path(self) -> Optional[Path]:
        return self._db.path if self._db is not None else None

    def _load(self) -> None:
        conn = self._db.conn
        vectors: dict[str, dict[str, np.ndarray | SparseVector]] = {}
        for uid, key, blob in conn.execute("SELECT uid, key, vector FROM vectors"):
            vectors.setdefault(uid, {})[key] = np.frombuffer(blob, dtype=np.float32)
        for uid, key, indices, weights in conn.execute("SELECT uid, key, indices, weights FROM sparse_vectors"):
            vectors.setdefault(uid, {})[key] = unpack(indices, weights)
        decode = NodeDecoder()
        nodes = []
        for row in conn.execute(f"SELECT {', '.join(c if c != 'group' else 'grp' for c in _COLUMNS)} FROM nodes"):
            rec = dict(zip(_COLUMNS, row))
            rec["embedding"] = vectors.get(rec["uid"])
            nodes.append(decode(rec))
        for group, batch in group_by_name(nodes).items():
            self._remember(group, batch)
        for group in self._nodes:  # restore parent/children links between loaded nodes
            for node in self._nodes[group].values():
                parent_uid = node.parent_uid
                if parent_uid:
                    parent = self._find(parent_uid)
                    if parent is not None:
                        node.parent = parent
                        parent.children.setdefault(group, []).append(node)

    def _find(self, uid: str) -> Optional[DocNode]:
        for table in self._nodes.values():
            node = table.get(uid)
            if node is not None:
                return node
        return None

    def _remember(self, group: str, nodes: list[DocNode]) -> None:
        table = self._nodes.setdefault(group, {})
        by_doc = self._by_doc.setdefault(group, {})
        for n in nodes:
            uid = n.uid
            table[uid] = n
            doc = n.global_metadata.get("doc_id")
            if doc is not None:
                by_doc.setdefault(doc, set()).add(uid)

    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        self._remember(group, nodes)
        if self._db is None:
            return
        records = node_records(nodes)
        with self._db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             list(map(_ROW, records)))
            vectors = [(r["uid"], k, v) for r in records for k, v in r["embedding"].items()]
            conn.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                             [(uid, k, v.tobytes()) for uid, k, v in vectors if not is_sparse(v)])
            conn.executemany("INSERT OR REPLACE INTO sparse_vectors VALUES (?, ?, ?, ?)",
                             [(uid, k, *pack(v)) for uid, k, v in vectors if is_sparse(v)])

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        table = self._nodes.get(group)
        if not table:
            return []
        if uids is None:
            gone = list(table.values())
            self._nodes.pop(group)
            self._by_doc.pop(group, None)
        else:
            gone = []
            by_doc = self._by_doc.get(group, {})
            for uid in uids:
                node = table.pop(uid, None)
                if node is None:
                    continue
                gone.append(node)
                members = by_doc.get(node.global_metadata.get("doc_id"))
                if members is not None:
                    members.discard(uid)
        removed = [n.uid for n in gone]
        if self._db is not None and removed:
            # Only nodes with vectors have vector rows: a group of 370k words that nothing embeds deletes its
            # nodes alone (a third of the statements a blind delete from all three tables ran).
            dense = [(n.uid,) for n in gone if n.embedding and any(not is_sparse(v) for v in n.embedding.values())]
            sparse = [(n.uid,) for n in gone if n.embedding and any(is_sparse(v) for v in n.embedding.values())]
            with self._db.transaction() as conn:
                conn.executemany("DELETE FROM nodes WHERE uid = ?", [(u,) for u in removed])
                conn.executemany("DELETE FROM vectors WHERE uid = ?", dense)
                conn.executemany("DELETE FROM sparse_vectors WHERE uid = ?", sparse)
        return removed

    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                   doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        table = self._nodes.get(group_name)
        if not table:
            return []
        if uids is not None:
            get = table.get
            return [n for n in map(get, uids) if n is not None]
        if doc_ids is not None:
            by_doc = self._by_doc.get(group_name, {})
            return [table[u] for d in doc_ids for u in by_doc.get(d, ())]
        return list(table.values())

    def get_children(self, group_name: str, parent_uids: Iterable[str]) -> list[DocNode]:
        out = []
        for uid in parent_uids:
            parent = self._find(uid)
            if parent is not None:
                out.extend(parent.children.get(group_name, ()))
        return out

    def count(self, group_name: str) -> int:
        return len(self._nodes.get(group_name, ()))

    def groups(self) -> list[str]:
        return [g for g, t in self._nodes.items() if t]

