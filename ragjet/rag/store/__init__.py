"""Node stores, registered by type name; `create_store` turns a `store_conf` dict into one."""
from __future__ import annotations

from typing import Any, Optional

from .base import STORES, StoreBase
from .chroma_store import ChromaStore  # chromadb and pymilvus are imported when such a store is built
from .map_store import MapStore
from .milvus_store import MilvusStore


def create_store(store_conf: Optional[dict[str, Any]]) -> StoreBase:
    """Build the store described by ``store_conf`` (``{'type': name, 'kwargs': {...}}``; None means ``map``)."""
    conf = dict(store_conf or {})
    kind = conf.pop("type", "map")
    kwargs = conf.pop("kwargs", {}) or {}
    conf.pop("indices", None)
    if conf:
        raise ValueError(f"unknown store_conf keys {sorted(conf)}; expected 'type', 'kwargs' and 'indices'")
    if kind not in STORES:
        raise ValueError(STORES.unknown_message(kind))
    return STORES.get(kind)(**kwargs)


__all__ = ["STORES", "StoreBase", "ChromaStore", "MapStore", "MilvusStore", "create_store"]
