"""DocNode ↔ flat record, the one serialisation every persistent store uses.

A record holds the uid, group, text, parent uid, file (doc_id), the node's own metadata and its file's
metadata as JSON, and one vector per embed key: a float32 array, or for a sparse key the canonical
``{index: weight}`` dict (`ragjet.rag.sparse_vector`), which each store keeps in its own way. Nodes decoded
in one batch share one file-metadata dict per file, as nodes built in memory do.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Optional

import numpy as np

from ..doc_node import DocNode
from ..sparse_vector import is_sparse


def node_record(node: DocNode) -> dict[str, Any]:
    return {
        "uid": node.uid,
        "group": node._group,
        "content": node.text,
        "parent": node.parent_uid or "",
        "doc_id": node.global_metadata.get("doc_id", ""),
        "metadata": json.dumps(node._metadata or {}, ensure_ascii=False, default=str),
        "global_metadata": json.dumps(node.global_metadata, ensure_ascii=False, default=str),
        "excluded": json.dumps([node._excluded_embed or [], node._excluded_llm or []]),
        "embedding": {k: v if is_sparse(v) else np.asarray(v, dtype=np.float32)
                      for k, v in (node.embedding or {}).items()},
    }


class NodeDecoder:
    """Rebuilds DocNodes from records, sharing file metadata between nodes of the same file."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, Any]] = {}

    def __call__(self, rec: dict[str, Any]) -> DocNode:
        doc_id = rec.get("doc_id") or ""
        global_meta = self._files.get(doc_id)
        if global_meta is None:
            global_meta = json.loads(rec.get("global_metadata") or "{}")
            if doc_id:
                self._files[doc_id] = global_meta
        excluded_embed, excluded_llm = json.loads(rec.get("excluded") or "[[], []]")
        meta = json.loads(rec.get("metadata") or "{}")
        emb: Optional[dict[str, Any]] = rec.get("embedding") or None
        return DocNode(uid=rec["uid"], text=rec["content"], group=rec["group"], parent=rec.get("parent") or None,
                       metadata=meta or None, global_metadata=global_meta, embedding=emb,
                       excluded_embed_metadata_keys=excluded_embed or None,
                       excluded_llm_metadata_keys=excluded_llm or None)

    def many(self, records: Iterable[dict[str, Any]]) -> list[DocNode]:
        return [self(r) for r in records]
