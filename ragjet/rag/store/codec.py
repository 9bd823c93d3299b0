"""DocNode ↔ flat record, the one serialisation every persistent store uses.

A record holds the uid, group, text, parent uid, file (doc_id), the node's own metadata and its file's
metadata as JSON, and one vector per embed key: a float32 array, or for a sparse key the canonical
``{index: weight}`` dict (`ragjet.rag.sparse_vector`), which each store keeps in its own way. Nodes decoded
in one batch share one file-metadata dict per file, as nodes built in memory do.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..doc_node import DocNode
from ..sparse_vector import describe_dim, is_sparse, vector_dim

# The fields every record holds next to its vectors.
RECORD_FIELDS = frozenset({"uid", "group", "content", "parent", "doc_id", "metadata", "global_metadata", "excluded"})
_NO_METADATA = "{}"
_NO_EXCLUDED = json.dumps([[], []])


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def node_records(nodes: Iterable[DocNode]) -> list[dict[str, Any]]:
    """Records of ``nodes``. Nodes of one file share its metadata dict, which is encoded once per batch, and
    the usual empty metadata and exclusion lists cost no encoding: JSON was most of a large group's write
    time (370k one-word nodes)."""
    files: dict[int, tuple[dict[str, Any], str]] = {}  # id → (the dict, kept alive so the id stays its own; JSON)
    out = []
    for node in nodes:
        shared = node.global_metadata
        known = files.get(id(shared))
        if known is None:
            known = files[id(shared)] = (shared, _dumps(shared))
        excluded = (_NO_EXCLUDED if not (node._excluded_embed or node._excluded_llm)
                    else json.dumps([node._excluded_embed or [], node._excluded_llm or []]))
        out.append({
            "uid": node.uid,
            "group": node._group,
            "content": node.text,
            "parent": node.parent_uid or "",
            "doc_id": shared.get("doc_id", ""),
            "metadata": _dumps(node._metadata) if node._metadata else _NO_METADATA,
            "global_metadata": known[1],
            "excluded": excluded,
            "embedding": {k: v if is_sparse(v) else np.asarray(v, dtype=np.float32)
                          for k, v in (node.embedding or {}).items()},
        })
    return out


class NodeDecoder:
    """Rebuilds DocNodes from records, sharing file metadata between nodes of the same file; the usual empty
    metadata and exclusion lists are recognised, not parsed."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, Any]] = {}

    def __call__(self, rec: dict[str, Any]) -> DocNode:
        doc_id = rec.get("doc_id") or ""
        global_meta = self._files.get(doc_id)
        if global_meta is None:
            global_meta = json.loads(rec.get("global_metadata") or "{}")
            if doc_id:
                self._files[doc_id] = global_meta
        excluded = rec.get("excluded")
        excluded_embed, excluded_llm = (None, None) if not excluded or excluded == _NO_EXCLUDED \
            else json.loads(excluded)
        metadata = rec.get("metadata")
        meta = None if not metadata or metadata == _NO_METADATA else json.loads(metadata)
        emb: Optional[dict[str, Any]] = rec.get("embedding") or None
        return DocNode(uid=rec["uid"], text=rec["content"], group=rec["group"], parent=rec.get("parent") or None,
                       metadata=meta or None, global_metadata=global_meta, embedding=emb,
                       excluded_embed_metadata_keys=excluded_embed or None,
                       excluded_llm_metadata_keys=excluded_llm or None)

    def many(self, records: Iterable[dict[str, Any]]) -> list[DocNode]:
        return [self(r) for r in records]


def store_records(nodes: Sequence[DocNode], store: str, sparse: bool = False) -> list[dict[str, Any]]:
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
