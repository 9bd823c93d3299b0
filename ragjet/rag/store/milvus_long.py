"""Texts longer than a Milvus VARCHAR holds (65,535 bytes), kept beside a group's collection.

A file is a root node, and a file of the lecture's corpus (``part_30.txt``, 85,709 bytes in one line) is
longer than any VARCHAR column. Such a text field of a row holds a marker instead of the text, and the text
itself lies in the group's *long-text collection* (``{collection}__long``), cut at character boundaries into
parts of at most 65,535 bytes: primary key ``{uid}/{field}/{seq}``, the row's ``uid``, the ``field`` name, the
part's ``seq`` and its ``text`` (plus the 2-dim constant vector Milvus needs in every collection). The
collection is created at the first long text; reads of rows that hold a marker fetch their parts in one query,
so a long node costs one more round trip, never a scan. Writes and deletes of a group whose long-text
collection exists delete the parts of the uids they touch, so a text that shrinks leaves no part behind.

Everything stays in the one database, so a Milvus server serves long nodes to every client, as it serves the
short ones.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Iterator, Optional

from .batching import batches
from .filters import milvus_literal
from .milvus_schema import DUMMY, DUMMY_VECTOR, MAX_VARCHAR, TEXT_FIELDS

if TYPE_CHECKING:
    from pymilvus import MilvusClient

LONG_MARK = "\x00ragjet:long-text\x00"
"""What a text field holds when its text lies in the long-text collection (no text of a file starts so)."""
_SUFFIX = "__long"
_PARTS_PER_QUERY = 16000  # Milvus caps one query's limit at 16,384 rows


def query_pages(client: "MilvusClient", collection: str, expr: str, fields: list[str],
                batch_size: int) -> list[dict[str, Any]]:
    """Every row of ``collection`` matching ``expr``, read page by page (Milvus caps one query's window)."""
    rows: list[dict[str, Any]] = []
    it = client.query_iterator(collection, batch_size=batch_size, filter=expr, output_fields=fields)
    try:
        while batch := it.next():
            rows.extend(batch)
    finally:
        it.close()
    return rows


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def cut_utf8(text: str, limit: int = MAX_VARCHAR) -> Iterator[str]:
    """``text`` in consecutive pieces of at most ``limit`` UTF-8 bytes, each cut at a character boundary."""
    data = text.encode("utf-8", "surrogatepass")
    begin = 0
    while begin < len(data):
        end = min(begin + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # never inside a character's continuation bytes
            end -= 1
        yield data[begin:end].decode("utf-8", "surrogatepass")
        begin = end


class LongTexts:
    """The long-text collection of one group's collection ``owner``, on ``client``."""

    def __init__(self, client: "MilvusClient", owner: str, batch_size: int) -> None:
        self._client = client
        self.name = f"{owner}{_SUFFIX}"
        self._batch_size = batch_size
        self._exists: Optional[bool] = None

    @property
    def exists(self) -> bool:
        if not self._exists:  # asked again while absent: another process may create it
            self._exists = self._client.has_collection(self.name)
            if self._exists:  # made by an earlier start: loaded before it is read
                self._client.load_collection(self.name)
        return self._exists

    def _create(self) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pid", DataType.VARCHAR, is_primary=True, max_length=128)
        schema.add_field("uid", DataType.VARCHAR, max_length=64)
        schema.add_field("field", DataType.VARCHAR, max_length=32)
        schema.add_field("seq", DataType.INT64)
        schema.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        schema.add_field(DUMMY, DataType.FLOAT_VECTOR, dim=len(DUMMY_VECTOR))
        params = self._client.prepare_index_params()
        params.add_index(field_name=DUMMY, index_type="AUTOINDEX", metric_type="L2")
        self._client.create_collection(self.name, schema=schema, consistency_level="Strong")
        self._client.create_index(self.name, params, sync=False)
        self._client.load_collection(self.name)
        self._exists = True

    def put(self, rows: list[dict[str, Any]]) -> None:
        """Move each text field of ``rows`` that is over the VARCHAR limit here, leaving the marker in the row;
        drop the parts the rows' uids held before (a text that shrank, or that is short now)."""
        parts = []
        for row in rows:
            for name in TEXT_FIELDS:
                value = row[name]
                if len(value) * 4 > MAX_VARCHAR and utf8_size(value) > MAX_VARCHAR:
                    parts.extend({"pid": f"{row['uid']}/{name}/{seq}", "uid": row["uid"], "field": name, "seq": seq,
                                  "text": piece, DUMMY: DUMMY_VECTOR} for seq, piece in enumerate(cut_utf8(value)))
                    row[name] = LONG_MARK
        if self.exists:
            self.drop([row["uid"] for row in rows])
        if not parts:
            return
        if not self.exists:
            self._create()
        for chunk in batches(parts, max(1, self._batch_size // 16)):  # each part is up to 64 KB
            self._client.insert(self.name, list(chunk))

    def fill(self, rows: Iterable[dict[str, Any]]) -> None:
        """Put the texts back into the fields of ``rows`` that hold the marker (one query for all of them)."""
        marked = [row for row in rows if any(row.get(name) == LONG_MARK for name in TEXT_FIELDS)]
        if not marked:
            return
        pieces: dict[tuple[str, str], dict[int, str]] = {}
        uids = list(dict.fromkeys(row["uid"] for row in marked)) if self.exists else []
        for chunk in batches(uids, self._batch_size):
            for part in self._parts(list(chunk)):
                pieces.setdefault((part["uid"], part["field"]), {})[part["seq"]] = part["text"]
        for row in marked:
            for name in TEXT_FIELDS:
                if row.get(name) == LONG_MARK:
                    got = pieces.get((row["uid"], name))
                    if got is None:
                        raise RuntimeError(f"milvus collection {self.name} lacks the text of node {row['uid']!r} "
                                           f"({name}): the database was changed behind ragjet; delete the store "
                                           f"location to rebuild it")
                    row[name] = "".join(got[seq] for seq in sorted(got))

    def _parts(self, uids: list[str]) -> list[dict[str, Any]]:
        return query_pages(self._client, self.name, f"uid in {milvus_literal(uids)}", ["uid", "field", "seq", "text"],
                           min(self._batch_size, _PARTS_PER_QUERY))

    def drop(self, uids: list[str]) -> None:
        """Delete the parts of ``uids`` (nothing to do while the collection does not exist)."""
        if not uids or not self.exists:
            return
        for chunk in batches(uids, self._batch_size):
            self._client.delete(self.name, filter=f"uid in {milvus_literal(list(chunk))}")

    def drop_all(self) -> None:
        if self.exists:
            self._client.drop_collection(self.name)
        self._exists = False
