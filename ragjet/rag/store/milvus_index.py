"""Which Milvus index each vector field gets: the kinds of vector (dense ranked by cosine, sparse by inner
product) with their default index and what Milvus Lite can build of them, and `IndexPlan`, the store's
``index_kwargs`` resolved per embed key over ragjet's defaults.

Indexes (``index_kwargs``: one dict for every dense embed key, or a list of dicts each naming its
``embed_key``, which can set a sparse key's index too). Dense keys: HNSW (M=16, efConstruction=200) by
default, IVF_FLAT (nlist=128), FLAT, AUTOINDEX, ...; the metric is always COSINE (Milvus returns the
similarity itself). Milvus Lite 3.2 builds AUTOINDEX, FLAT, BRUTE_FORCE, HNSW, HNSW_SQ, IVF_FLAT and IVF_SQ8
(the last four through faiss-cpu, one of its dependencies); another type requested of a Lite server logs one
warning and uses AUTOINDEX. Sparse keys (``{index: weight}`` vectors, e.g. `ragjet.BM25SparseEmbedding`):
SPARSE_INVERTED_INDEX with metric IP, the only pair Milvus Lite 3.2 accepts for a sparse field (it refuses
SPARSE_WAND, AUTOINDEX, and COSINE), so a search ranks by inner product, best first, and returns only rows
sharing a term with the query; sparse weights must be non-negative, as Milvus requires. A Milvus server may
build other sparse index types (a list item with that ``embed_key`` asks for one).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Union

from ...log import LOG

DEFAULT_INDEX_PARAMS = {"HNSW": {"M": 16, "efConstruction": 200}, "IVF_FLAT": {"nlist": 128}}
IndexKwargs = Optional[Union[dict[str, Any], list[dict[str, Any]]]]
LITE_INDEX_TYPES = frozenset({"AUTOINDEX", "FLAT", "BRUTE_FORCE", "HNSW", "HNSW_SQ", "IVF_FLAT", "IVF_SQ8"})


@dataclass(frozen=True)
class VectorKind:
    """How Milvus indexes one kind of vector field: the index it gets by default, the one metric the store
    ranks it by, and what Milvus Lite builds of it (another requested type becomes ``lite_fallback``)."""

    name: str
    default_type: str
    metric: str
    lite_types: frozenset[str]
    lite_fallback: str


DENSE = VectorKind("dense", "HNSW", "COSINE", LITE_INDEX_TYPES, "AUTOINDEX")
SPARSE = VectorKind("sparse", "SPARSE_INVERTED_INDEX", "IP", frozenset({"SPARSE_INVERTED_INDEX"}),
                    "SPARSE_INVERTED_INDEX")


class IndexPlan:
    """Which index each embed key's vector field gets, from ``index_kwargs`` with ragjet's defaults.

    A list item names its ``embed_key``; a single dict applies to every dense key (a sparse key needs another
    index type and metric, so it takes its own list item or the sparse defaults)."""

    def __init__(self, index_kwargs: IndexKwargs) -> None:
        if isinstance(index_kwargs, dict):
            self._default, self._per_key = dict(index_kwargs), {}
        else:
            self._default = {}
            self._per_key = {}
            for item in index_kwargs or []:
                if "embed_key" not in item:
                    raise ValueError(f"each index_kwargs item of a list names its embed_key, got {item!r}")
                self._per_key[item["embed_key"]] = {k: v for k, v in item.items() if k != "embed_key"}
        metrics = {kind.metric for kind in (DENSE, SPARSE)}
        for conf in (self._default, *self._per_key.values()):
            metric = str(conf.get("metric_type", DENSE.metric)).upper()
            if metric not in metrics or (conf is self._default and metric != DENSE.metric):
                raise ValueError(f"the milvus store ranks dense vectors by cosine (COSINE) and sparse vectors by "
                                 f"inner product (IP, in a list item naming the sparse embed_key); "
                                 f"metric_type={conf['metric_type']!r} is not supported there")
        self._warned = False

    def _conf(self, key: str, kind: VectorKind) -> dict[str, Any]:
        return self._per_key.get(key, self._default if kind is DENSE else {})

    def _requested(self, key: str, kind: VectorKind) -> str:
        return str(self._conf(key, kind).get("index_type", kind.default_type)).upper()

    def metric(self, key: str, kind: VectorKind) -> str:
        """The metric of ``key``'s field: COSINE for a dense key, IP for a sparse one (another is an error)."""
        metric = str(self._conf(key, kind).get("metric_type", kind.metric)).upper()
        if metric != kind.metric:
            raise ValueError(f"embed key {key!r} holds {kind.name} vectors, which the milvus store ranks by "
                             f"{kind.metric}; its index_kwargs item asks for metric_type={metric!r}")
        return metric

    def index_type(self, key: str, kind: VectorKind, lite: bool) -> str:
        """The index type of ``key``'s vector field; on Milvus Lite a type it cannot build for this kind of
        vector becomes the kind's fallback, with one warning per store."""
        index_type = self._requested(key, kind)
        if lite and index_type not in kind.lite_types:
            if not self._warned:
                LOG.warning("Milvus Lite cannot build index type %s for %s vectors (it builds %s); using %s",
                            index_type, kind.name, ", ".join(sorted(kind.lite_types)), kind.lite_fallback)
                self._warned = True
            return kind.lite_fallback
        return index_type

    def params(self, key: str, kind: VectorKind, lite: bool) -> dict[str, Any]:
        """Build parameters: ragjet's defaults for the type, overridden by the user's ``params`` (dropped when
        Lite replaced the type)."""
        index_type = self.index_type(key, kind, lite)
        user = self._conf(key, kind).get("params", {}) if index_type == self._requested(key, kind) else {}
        return {**DEFAULT_INDEX_PARAMS.get(index_type, {}), **user}

    def search_params(self, key: str, kind: VectorKind, lite: bool, topk: int) -> dict[str, Any]:
        index_type = self.index_type(key, kind, lite)
        if index_type.startswith("HNSW"):
            params = {"ef": max(64, topk)}
        elif index_type.startswith("IVF"):
            params = {"nprobe": min(16, int(self.params(key, kind, lite).get("nlist", 16)))}
        else:
            params = {}
        return {"params": {**params, **self._conf(key, kind).get("search_params", {})}}
