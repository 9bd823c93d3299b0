"""A store of one's own: every node in a JSON file, registered as ``store_conf={'type': 'toy_json'}``."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from ragjet.rag.doc_node import DocNode
from ragjet.rag.store import STORES, StoreBase
from ragjet.rag.store.codec import NodeDecoder, node_records


@STORES.register("toy_json")
class ToyJsonStore(StoreBase):
    """Nodes as codec records in ``path`` (rewritten on every change); ``path=None`` keeps them in memory."""

    def __init__(self, path: Optional[str] = None) -> None:
        super().__init__()
        self.path = Path(path) if path else None
        self.persistent = self.path is not None
        self._records: dict[str, dict[str, dict[str, Any]]] = {}
        if self.path is not None and self.path.exists():
            self._records = json.loads(self.path.read_text())

    @property
    def ledger_path(self) -> Optional[Path]:
        return self.path.with_suffix(".ledger.sqlite") if self.path else None

    def _save(self) -> None:
        if self.path is not None:
            self.path.write_text(json.dumps(self._records))

    def _upsert(self, group: str, nodes: list[DocNode]) -> None:
        for rec in node_records(nodes):
            rec["embedding"] = {k: np.asarray(v).tolist() for k, v in rec["embedding"].items()}
            self._records.setdefault(group, {})[rec["uid"]] = rec
        self._save()

    def _delete(self, group: str, uids: Optional[list[str]]) -> list[str]:
        held = self._records.get(group, {})
        removed = [u for u in (list(held) if uids is None else uids) if held.pop(u, None) is not None]
        if not held:
            self._records.pop(group, None)
        self._save()
        return removed

    def _get_nodes(self, group_name: str, uids: Optional[Iterable[str]] = None,
                   doc_ids: Optional[Iterable[str]] = None) -> list[DocNode]:
        held = self._records.get(group_name, {})
        if uids is not None:
            recs = [held[u] for u in uids if u in held]
        else:
            files = set(doc_ids) if doc_ids is not None else None
            recs = [r for r in held.values() if files is None or r["doc_id"] in files]
        decode = NodeDecoder()
        return [decode({**r, "embedding": {k: np.asarray(v, dtype=np.float32) for k, v in r["embedding"].items()}})
                for r in recs]

    def count(self, group_name: str) -> int:
        return len(self._records.get(group_name, {}))

    def groups(self) -> list[str]:
        return sorted(self._records)
