"""Node stores, registered by type name; `StoreConf` reads a ``store_conf`` dict once and builds its store."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

from .base import STORES, StoreBase
from .chroma_store import ChromaStore  # chromadb and pymilvus are imported when such a store is built
from .map_store import MapStore
from .milvus_store import MilvusStore

_KEYS = ("type", "kwargs", "indices")


@dataclass(frozen=True)
class StoreConf:
    """A ``store_conf`` (``{'type': name, 'kwargs': {...}, 'indices': {...}}``; None means ``map``), checked and
    read in this one place: the store's type, its constructor keywords, and the indexes of their own
    (``indices``, e.g. the lecture's ``smart_embedding_index`` with a Milvus backend) to attach to it."""

    kind: str = "map"
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    indices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def parse(cls, store_conf: Union["StoreConf", Optional[Mapping[str, Any]]]) -> "StoreConf":
        if isinstance(store_conf, StoreConf):
            return store_conf
        conf = dict(store_conf or {})
        unknown = sorted(set(conf) - set(_KEYS))
        if unknown:
            raise ValueError(f"unknown store_conf keys {unknown}; expected 'type', 'kwargs' and 'indices'")
        kind = conf.get("type") or "map"
        if kind not in STORES:
            raise ValueError(STORES.unknown_message(kind))
        kwargs, indices = conf.get("kwargs") or {}, conf.get("indices") or {}
        for key, value in (("kwargs", kwargs), ("indices", indices)):
            if not isinstance(value, Mapping):
                raise ValueError(f"store_conf[{key!r}] must be a dict, got {type(value).__name__}")
        return cls(kind, dict(kwargs), dict(indices))

    @property
    def store_class(self) -> type:
        return STORES.get(self.kind)

    def with_kwargs(self, kwargs: Mapping[str, Any]) -> "StoreConf":
        return StoreConf(self.kind, dict(kwargs), self.indices)

    def create(self) -> StoreBase:
        return self.store_class(**self.kwargs)


def create_store(store_conf: Union[StoreConf, Optional[Mapping[str, Any]]]) -> StoreBase:
    """Build the store described by ``store_conf`` (a dict, or a `StoreConf`; None means ``map``)."""
    return StoreConf.parse(store_conf).create()


__all__ = ["STORES", "StoreBase", "StoreConf", "ChromaStore", "MapStore", "MilvusStore", "create_store"]
