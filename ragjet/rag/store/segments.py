"""The nodes of groups that no index embeds, kept in SQLite beside a vector database (`SegmentsBeside`).

A group such as the root group (a node per file, the whole file's text) has no vectors, yet a Milvus collection
needs a vector field and a Chroma record an embedding: such a group cost a placeholder vector per row, and a
file's text met Milvus's 65,535-byte VARCHAR. LazyLLM 1.4 keeps a vector store's segments beside it (its
``HybridStore``); ragjet keeps them in a SQLite table beside the store's ingestion ledger, the file that decides
what is ingested. Processes sharing that ledger share the table (read on demand, nothing cached, so a file
another process re-ingested is read fresh); another machine has its own ledger, which makes it ingest the files
again, into its own table. Reading a long node costs one indexed SQLite read.

A group moves into the database the first time its nodes come with a vector (a retriever now embeds it): its
nodes here are written there together with the new ones, then deleted here, so a failed write loses nothing.
A group that a database already holds (written by an earlier ragjet) stays in the database.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

from ...sqlite_util import IN_LIST_MAX, SqliteFile, placeholders
from ..doc_node import DocNode
from .batching import delete_existing, fetch_by_uid, fetch_in_batches
from .codec import NodeDecoder, node_records

SCHEMA = """
CREATE TABLE IF NOT EXISTS segments (grp TEXT, uid TEXT, doc_id TEXT, parent TEXT, record TEXT,
    PRIMARY KEY (grp, uid)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS segments_doc ON segments (grp, doc_id);
CREATE INDEX IF NOT EXISTS segments_parent ON segments (grp, parent);
"""


def segments_path(ledger_path: Path) -> Path:
    """Where the segments of a store whose ledger is ``ledger_path`` lie: beside it."""
    return ledger_path.with_name(ledger_path.name.removesuffix(".sqlite") + ".segments.sqlite")


class SegmentTable:
    """Nodes by group and uid in one SQLite file; the records are the codec's, without vectors."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = SqliteFile(self.path, SCHEMA)

    def groups(self) -> list[str]:
        return [row[0] for row in self._db.conn.execute("SELECT DISTINCT grp FROM segments ORDER BY grp")]

    def has(self, group: str) -> bool:
        return self._db.conn.execute("SELECT 1 FROM segments WHERE grp = ? LIMIT 1", (group,)).fetchone() is not None

    def count(self, group: str) -> int:
        return self._db.conn.execute("SELECT COUNT(*) FROM segments WHERE grp = ?", (group,)).fetchone()[0]

    def upsert(self, group: str, nodes: Sequence[DocNode]) -> None:
        rows = []
        for rec in node_records(nodes):
            rec.pop("embedding", None)
            rows.append((group, rec["uid"], rec["doc_id"], rec["parent"], json.dumps(rec, ensure_ascii=False)))
        with self._db.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO segments VALUES (?, ?, ?, ?, ?)", rows)

    def delete(self, group: str, uids: Optional[Iterable[str]] = None) -> list[str]:
        """Delete ``uids`` of ``group`` (all of it when None); the uids that were there."""
        if uids is None:
            removed = [r[0] for r in self._db.conn.execute("SELECT uid FROM segments WHERE grp = ?", (group,))]
            with self._db.transaction() as conn:
                conn.execute("DELETE FROM segments WHERE grp = ?", (group,))
            return removed

        def delete(found: list[str]) -> None:
            with self._db.transaction() as conn:
                conn.execute(f"DELETE FROM segments WHERE grp = ? AND uid IN ({placeholders(len(found))})",
                             (group, *found))

        return delete_existing(uids, lambda chunk: self._select("uid", group, "uid", chunk), delete, IN_LIST_MAX)

    def nodes(self, group: str, uids: Optional[Iterable[str]] = None,
              doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        """All nodes of ``group``, those with ``uids`` (in that order, unknown ones skipped) or those of the files
        ``doc_ids``."""
        if uids is not None:
            return fetch_by_uid(uids, lambda chunk: self._decoded(group, "uid", chunk), IN_LIST_MAX)
        if doc_ids is not None:
            return self.nodes_where(group, "doc_id", doc_ids)
        rows = self._db.conn.execute("SELECT record FROM segments WHERE grp = ?", (group,))
        return NodeDecoder().many(json.loads(r[0]) for r in rows)

    def nodes_where(self, group: str, column: str, values: Iterable[str]) -> list[DocNode]:
        """The nodes of ``group`` whose ``column`` (doc_id or parent) is one of ``values``."""
        return fetch_in_batches(values, lambda chunk: self._decoded(group, column, chunk), IN_LIST_MAX)

    def uids_where(self, group: str, column: str, values: Iterable[str]) -> list[str]:
        """The uids of ``group``'s rows whose ``column`` (uid, doc_id or parent) is one of ``values``."""
        return fetch_in_batches(values, lambda chunk: self._select("uid", group, column, chunk), IN_LIST_MAX)

    def _decoded(self, group: str, column: str, values: list[str]) -> list[DocNode]:
        return NodeDecoder().many(json.loads(r) for r in self._select("record", group, column, values))

    def _select(self, what: str, group: str, column: str, values: list[str]) -> list[Any]:
        """``what`` of ``group``'s rows whose ``column`` is one of ``values`` (few enough for one query)."""
        rows = self._db.conn.execute(
            f"SELECT {what} FROM segments WHERE grp = ? AND {column} IN ({placeholders(len(values))})",
            (group, *values))
        return [r[0] for r in rows]


class SegmentsBeside:
    """Mixed into a vector database's store, before it: groups whose nodes carry no vector live in a
    `SegmentTable` beside the store's ledger, never in the database; every node method asks the table first.
    The database class after it in the bases gives ``ledger_path`` and ``_in_database(group)`` (whether the
    database holds the group)."""

    ledger_path: Path
    _segment_table: Optional[SegmentTable] = None

    @property
    def _segments(self) -> SegmentTable:
        if self._segment_table is None:
            self._segment_table = SegmentTable(segments_path(self.ledger_path))
        return self._segment_table

    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        vectors = any(node.embedding for node in nodes)
        if not vectors and not self._in_database(group):
            self._segments.upsert(group, nodes)
            return
        moving = self._segments.nodes(group) if self._segments.has(group) else []
        if moving:  # the group gains vectors: it moves into the database, its new nodes over its old ones
            fresh = {node.uid for node in nodes}
            nodes = [node for node in moving if node.uid not in fresh] + nodes
        super()._upsert(group, nodes)  # type: ignore[misc]
        if moving:
            self._segments.delete(group)

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        if self._segments.has(group):
            return self._segments.delete(group, uids)
        return super()._delete(group, uids)  # type: ignore[misc]

    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                   doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        if self._segments.has(group_name):
            return self._segments.nodes(group_name, uids, doc_ids)
        return super()._get_nodes(group_name, uids, doc_ids)  # type: ignore[misc]

    def doc_uids(self, group_name: str, doc_ids: list[str]) -> list[str]:
        if self._segments.has(group_name):
            return self._segments.uids_where(group_name, "doc_id", doc_ids)
        return super().doc_uids(group_name, doc_ids)  # type: ignore[misc]

    def get_children(self, group_name: str, parent_uids: Iterable[str]) -> list[DocNode]:
        if self._segments.has(group_name):
            return self._segments.nodes_where(group_name, "parent", parent_uids)
        return super().get_children(group_name, parent_uids)  # type: ignore[misc]

    def count(self, group_name: str) -> int:
        if self._segments.has(group_name):
            return self._segments.count(group_name)
        return super().count(group_name)  # type: ignore[misc]

    def groups(self) -> list[str]:
        held = super().groups()  # type: ignore[misc]
        return held + [g for g in self._segments.groups() if g not in held]

    def _close(self) -> None:
        self._segment_table = None  # its connections close with it
        super()._close()  # type: ignore[misc]
