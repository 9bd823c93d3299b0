"""Metadata filters, one meaning for every store: ``{key: value}`` or ``{key: [values]}`` (a list, tuple or set
lists the values allowed; an empty one allows nothing), all keys must hold. Here: which node metadata a
database can filter on (the flat scalar fields written beside each record), the check of a filter's keys,
and the filter three ways, all from that one definition: a Milvus boolean expression, a Chroma ``where``, and
the in-memory test of a node (`node_filter`) the default index applies, which sees the same fields and
refuses the same keys."""
from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from .codec import RECORD_FIELDS
from .naming import NAME_OK

if TYPE_CHECKING:
    from ..doc_node import DocNode

# A metadata key named like a record field is kept in the node (its JSON) but cannot be filtered on, except
# doc_id, which is the file's doc_id anyway.
FILTER_RESERVED = RECORD_FIELDS - {"doc_id"}
_INT64 = 1 << 63
_VALUE_LISTS = (list, tuple, set, frozenset)  # a filter value of these types lists the values allowed


def scalar_fields(node: "DocNode", reserved: frozenset[str] | set[str]) -> dict[str, Any]:
    """The node's file metadata overlaid with its own metadata, keeping the scalar values a database can
    filter on (str, bool, int64, finite float) under plain names, minus ``reserved`` names."""
    out: dict[str, Any] = {}
    for source in (node.global_metadata, node._metadata or {}):
        for key, value in source.items():
            if key in reserved or not isinstance(key, str) or not NAME_OK.match(key):
                continue
            if _filterable(value):
                out[key] = value
            else:
                out.pop(key, None)
    return out


def _filterable(value: Any) -> bool:
    if isinstance(value, (str, bool)):
        return True
    if isinstance(value, int):
        return -_INT64 <= value < _INT64
    return isinstance(value, float) and math.isfinite(value)


def filter_items(filters: Optional[Mapping[str, Any]], reserved: frozenset[str] | set[str]) -> list[tuple[str, Any]]:
    """``filters`` as (key, value or list of values) pairs, after checking every key can be filtered on."""
    items = []
    for key, wanted in (filters or {}).items():
        if key in reserved or not NAME_OK.match(str(key)):
            raise ValueError(f"cannot filter on metadata key {key!r}: filterable keys start with a letter and hold "
                             f"only letters, digits and '_', and may not be one of {sorted(reserved)}")
        if isinstance(wanted, _VALUE_LISTS):
            wanted = list(wanted)
        items.append((key, wanted))
    return items


def allows_nothing(filters: Optional[Mapping[str, Any]]) -> bool:
    """Whether a filter key allows no value at all (an empty list): such a query matches no node."""
    return any(isinstance(wanted, _VALUE_LISTS) and not wanted for wanted in (filters or {}).values())


def node_filter(filters: Optional[Mapping[str, Any]]) -> Callable[["DocNode"], bool]:
    """``filters`` as a test of one node: its own metadata over its file's, only the values a database can
    filter on (a list or a dict in the metadata is absent to a filter, as in Milvus and Chroma)."""
    items = filter_items(filters, FILTER_RESERVED)

    def test(node: "DocNode") -> bool:
        own, shared = node._metadata or {}, node.global_metadata
        for key, wanted in items:
            value = own[key] if key in own else shared.get(key)
            if value is not None and not _filterable(value):
                value = None
            if not (value in wanted if isinstance(wanted, list) else value is not None and value == wanted):
                return False
        return True
    return test


def milvus_literal(value: Any) -> str:
    """A Python value as a Milvus expression literal (strings quoted and escaped, lists as ``[...]``)."""
    if isinstance(value, list):
        return "[" + ", ".join(milvus_literal(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def milvus_filter(filters: Optional[dict[str, Any]]) -> str:
    """ragjet filters (``{key: value}`` or ``{key: [values]}``, all must hold) as a Milvus boolean expression."""
    return " and ".join(f"{key} {'in' if isinstance(wanted, list) else '=='} {milvus_literal(wanted)}"
                        for key, wanted in filter_items(filters, FILTER_RESERVED))


def chroma_where(filters: Optional[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """ragjet filters (``{key: value}`` or ``{key: [values]}``, all must hold) as a Chroma ``where``."""
    clauses = [{key: {"$in": wanted} if isinstance(wanted, list) else {"$eq": wanted}}
               for key, wanted in filter_items(filters, FILTER_RESERVED)]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
