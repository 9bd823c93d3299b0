"""The layout of one node group in Milvus: its collection's fields, and how ragjet finds them again.

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

Milvus needs a vector field in every collection: a collection gets a constant 2-dim field ``vec__none`` (a
group whose nodes carry no vector lies beside the database instead, `segments`; an older ragjet wrote such
groups here). When a group's nodes gain an embed key the collection lacks (a new retriever), the
collection is recreated with the added field and its rows written back (logged). Collection properties
record the group and its keys (``ragjet.group``, ``ragjet.keys``), so both are found again after a restart.

Text fields hold at most 65,535 bytes (Milvus's VARCHAR limit); a longer text (a whole file as a root node)
lies in the group's long-text collection (`milvus_long`), its field holding a marker.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..sparse_vector import SPARSE_DIM, SparseVector, as_sparse, is_sparse
from .codec import RECORD_FIELDS
from .filters import scalar_fields
from .milvus_index import DENSE, SPARSE, IndexPlan, VectorKind

if TYPE_CHECKING:
    from ..doc_node import DocNode

TEXT_FIELDS = ("content", "parent", "doc_id", "metadata", "global_metadata", "excluded")
MAX_VARCHAR = 65535
DUMMY = "vec__none"
DUMMY_VECTOR = [0.0, 1.0]
SPARSE_PLACEHOLDER = {0: 1.0}  # Milvus refuses an empty sparse vector; ``has_`` false hides this one


@dataclass
class GroupCollection:
    """One group's collection: its name and, per embed key, the suffix of its ``vec_`` / ``has_`` fields."""

    name: str
    keys: dict[str, str]
    dims: dict[str, int]
    partial: set[str] = field(default_factory=set)

    def key_fields(self) -> list[str]:
        return [f"{kind}_{suffix}" for suffix in self.keys.values() for kind in ("vec", "has")]

    def schema_fields(self) -> set[str]:
        return {"uid", *TEXT_FIELDS, DUMMY, *self.key_fields()}

    def output_fields(self) -> list[str]:
        return ["uid", *TEXT_FIELDS, *self.key_fields()]

    def kind(self, key: str) -> VectorKind:
        return SPARSE if self.dims[key] == SPARSE_DIM else DENSE

    def placeholder(self, key: str) -> np.ndarray | SparseVector:
        """What a node without a vector for ``key`` stores in its field (``has_`` false hides it)."""
        if self.kind(key) is SPARSE:
            return SPARSE_PLACEHOLDER
        vec = np.zeros(self.dims[key], dtype=np.float32)
        vec[0] = 1.0
        return vec

    def row(self, record: dict[str, Any], node: "DocNode") -> dict[str, Any]:
        """The row of ``node`` (its codec ``record``): its scalar metadata under their own names, the text
        fields, and per embed key the vector (or the placeholder) and its ``has_`` flag."""
        row = scalar_fields(node, RECORD_FIELDS | self.schema_fields())
        uid = record["uid"]
        if len(uid.encode("utf-8", "surrogatepass")) > 64:
            raise ValueError(f"node {uid!r}: its uid is more than the 64 bytes the milvus store keeps as a primary "
                             f"key; use shorter uids (ragjet's own are 32 characters)")
        for name in ("uid", *TEXT_FIELDS):
            row[name] = record[name]
        for key, suffix in self.keys.items():
            vec = record["embedding"].get(key)
            stored = stored_vector(vec)
            if stored and is_sparse(vec) and min(vec.values()) < 0:
                raise ValueError(f"node {uid!r} has a negative weight in its sparse vector for embed key {key!r}; "
                                 f"Milvus keeps non-negative sparse weights only (use the map store for signed "
                                 f"sparse vectors)")
            row[f"vec_{suffix}"] = vec if stored else self.placeholder(key)
            row[f"has_{suffix}"] = stored
        if not self.keys:
            row[DUMMY] = DUMMY_VECTOR
        return row

    def decode_vector(self, key: str, value: Any) -> np.ndarray | SparseVector:
        """A vector field's value as ragjet holds it: a float32 array, or a canonical sparse dict."""
        return as_sparse(value) if self.kind(key) is SPARSE else np.asarray(value, dtype=np.float32)

    @classmethod
    def described(cls, name: str, description: dict[str, Any]) -> "GroupCollection":
        """The collection ``name`` as Milvus describes it (``describe_collection``): its keys from the
        properties ragjet wrote, their dimensions from the vector fields."""
        dims = {f["name"]: int(f["params"]["dim"]) for f in description["fields"] if "dim" in f.get("params", {})}
        props = description.get("properties", {})
        keys = json.loads(props.get("ragjet.keys") or "{}")
        return cls(name, keys, {k: dims.get(f"vec_{s}", SPARSE_DIM) for k, s in keys.items()},
                   set(json.loads(props.get("ragjet.partial") or "[]")))

    def schema(self, params: Any, plan: IndexPlan, lite: bool) -> tuple[Any, Any]:
        """The Milvus schema of this collection, and ``params`` (the client's empty index parameters) filled
        with each vector field's index as ``plan`` resolves it."""
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
        schema.add_field("uid", DataType.VARCHAR, is_primary=True, max_length=64)
        for text in TEXT_FIELDS:
            schema.add_field(text, DataType.VARCHAR, max_length=MAX_VARCHAR)
        for key, suffix in self.keys.items():
            kind = self.kind(key)
            if kind is SPARSE:
                schema.add_field(f"vec_{suffix}", DataType.SPARSE_FLOAT_VECTOR)
            else:
                schema.add_field(f"vec_{suffix}", DataType.FLOAT_VECTOR, dim=self.dims[key])
            schema.add_field(f"has_{suffix}", DataType.BOOL)
            params.add_index(field_name=f"vec_{suffix}", index_type=plan.index_type(key, kind, lite),
                             metric_type=plan.metric(key, kind), params=plan.params(key, kind, lite))
        if not self.keys:
            schema.add_field(DUMMY, DataType.FLOAT_VECTOR, dim=len(DUMMY_VECTOR))
            params.add_index(field_name=DUMMY, index_type="AUTOINDEX", metric_type="L2")
        return schema, params


def stored_vector(vec: Any) -> bool:
    """Whether a node's vector is written as itself: not when absent, nor when it is an empty sparse vector."""
    return vec is not None and not (is_sparse(vec) and not vec)
