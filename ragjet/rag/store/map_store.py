"""The in-memory `map` store: dicts of nodes per group, with O(1) uid lookups and a per-file uid set.

It is the fastest store and the default; it forgets everything when the process ends (the persistent stores
and the embedding cache of the ingestion layer are what make restarts cheap).
"""
from __future__ import annotations

from typing import Iterable, Optional

from ..doc_node import DocNode
from .base import STORES, StoreBase


@STORES.register("map")
class MapStore(StoreBase):
    """Nodes in dicts: ``group → uid → node`` and ``group → doc_id → uids``."""

    def __init__(self, **kwargs: object) -> None:
        if kwargs:
            raise TypeError(f"the map store takes no options yet, got {sorted(kwargs)}")
        super().__init__()
        self._nodes: dict[str, dict[str, DocNode]] = {}
        self._by_doc: dict[str, dict[str, set[str]]] = {}

    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        table = self._nodes.setdefault(group, {})
        by_doc = self._by_doc.setdefault(group, {})
        for n in nodes:
            uid = n.uid
            table[uid] = n
            doc = n.global_metadata.get("doc_id")
            if doc is not None:
                by_doc.setdefault(doc, set()).add(uid)

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        table = self._nodes.get(group)
        if not table:
            return []
        if uids is None:
            removed = list(table)
            self._nodes.pop(group)
            self._by_doc.pop(group, None)
            return removed
        removed = []
        by_doc = self._by_doc.get(group, {})
        for uid in uids:
            node = table.pop(uid, None)
            if node is None:
                continue
            removed.append(uid)
            doc = node.global_metadata.get("doc_id")
            members = by_doc.get(doc)
            if members is not None:
                members.discard(uid)
                if not members:
                    del by_doc[doc]
        return removed

    def get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
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

    def count(self, group_name: str) -> int:
        return len(self._nodes.get(group_name, ()))

    def groups(self) -> list[str]:
        return [g for g, t in self._nodes.items() if t]
