"""Approximate nearest neighbours for the default index: an HNSW graph beside a `DenseMatrix` once it is large.

Exact search costs one matrix-vector product over every row: about 1 ms at 10k × 384, 8-16 ms at 100k and
75 ms at 1M on this project's 2-core machine (`ragjet bench retrieval --n 100000 --million`).
Above ``AnnConfig.threshold`` rows (default 20,000 per group and embed key) an `AnnMatrix` also keeps an
HNSW graph of its rows (faiss ``IndexHNSWFlat``, inner product on unit vectors = cosine) and answers from it
in well under a millisecond. The graph is built once when the matrix crosses the threshold, then grown as
nodes arrive; a removed node is only marked deleted (searches skip it through a bitmap), and the graph is
rebuilt from the live rows when deletions exceed ``rebuild_fraction`` of it (or dropped, when fewer than
``threshold`` rows remain). The exact matrix stays: filtered searches and ``exact=True`` use it.

A graph of a persistent store is saved beside it (``<ledger>.ann/<group>.<key>.faiss`` + ``.json``) with a
stamp: the node count and a hash of the sorted uids. On a restart the store's backfill brings the same nodes,
the stamp matches and the graph is read back instead of rebuilt (at 100k: 1 s to read it and check the
stamp, against 24 s to build it; 14 min at 1M). It is saved right after a (re)build, and after incremental
changes by `AnnMatrix.flush` or at interpreter exit.

Settings: ``RAGJET_ANN_THRESHOLD`` (rows; ``off`` disables ANN) and ``RAGJET_ANN_EF`` (efSearch), or an
`AnnConfig` given to `DefaultIndex`; ``ef`` can also be passed per query (``Retriever(..., ef=256)``).

faiss or hnswlib, measured on this project's 2-core machine with the libraries called directly, 100k × 384
"embedding-like" vectors (see `ragjet.bench.retrieval_bench`), 200 queries one at a time (one search thread),
efConstruction 100, both libraries in the same run:

    M   efSearch   faiss recall@10 / p50     hnswlib recall@10 / p50     (exact p50: 8.1-8.4 ms)
    16     64        0.940 / 0.27 ms            0.937 / 0.39 ms
    16    128        0.979 / 0.52 ms            0.976 / 0.61 ms
    32     64        0.957 / 0.35 ms            0.957 / 0.43 ms
    32    128        0.990 / 0.59 ms            0.989 / 0.70 ms
    build (2 threads): M=16 25.6 s vs 24.9 s; M=32 28.6 s vs 39.5 s

Recall is the same graph algorithm's; faiss answers 15-30 % faster, builds M=32 faster, is already installed
(milvus-lite pulls it) as a binary wheel where hnswlib compiles from source, and filters deleted ids inside
its search (hnswlib's ``mark_deleted`` would do too). Hence faiss, with M=32 and efSearch 96 by default:
through ``DefaultIndex.query`` at 100k (``ragjet bench retrieval --n 100000 --ef 64,96,128``) that gave
recall@10 0.983 at 0.50 ms p50 (efSearch 64: 0.958 at 0.55 ms, 128: 0.990 at 0.60 ms; exact: 8.2 ms), a
margin on both sides of "under 1 ms at recall ≥ 0.95" on a machine whose latencies swing with its load.
(On isotropic random vectors, which have no neighbourhood structure, no HNSW gets there: recall@10 was 0.85
at efSearch 256 already at 10k; real embeddings are not like that.)
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ...log import LOG
from ...registry import missing_extra
from ...settings import config
from .dense import DenseMatrix, normalise

FORMAT_VERSION = 1
_SPOT_CHECKS = 8  # stored vectors compared with the store's on load


@dataclass(frozen=True)
class AnnConfig:
    """When a matrix gets an HNSW graph (``threshold`` rows; None: never) and how the graph is built/searched."""

    threshold: Optional[int] = 20_000
    ef: int = 96
    m: int = 32
    ef_construction: int = 100
    rebuild_fraction: float = 0.2

    @classmethod
    def from_env(cls) -> "AnnConfig":
        """Defaults, overridden by ``RAGJET_ANN_THRESHOLD`` (an integer or ``off``) and ``RAGJET_ANN_EF``."""
        threshold: Optional[int] = cls.threshold
        raw = config["ann_threshold"].strip().lower()
        if raw in ("off", "none", "never"):
            threshold = None
        elif raw:
            threshold = _positive("RAGJET_ANN_THRESHOLD", raw)
        ef_raw = config["ann_ef"].strip()
        return cls(threshold=threshold, ef=_positive("RAGJET_ANN_EF", ef_raw) if ef_raw else cls.ef)


def _positive(name: str, raw: str) -> int:
    try:
        value = int(raw.replace("_", ""))
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer (or 'off' for the threshold), got {raw!r}")
    return value


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise missing_extra("faiss-cpu", "ann") from None
    return faiss


def stamp(uids: Iterable[str]) -> dict[str, Any]:
    """What a saved graph must match to be reused: how many nodes and which (order does not matter)."""
    ordered = sorted(uids)
    digest = hashlib.blake2b("\n".join(ordered).encode(), digest_size=16).hexdigest()
    return {"count": len(ordered), "uids": digest}


class HnswGraph:
    """A faiss HNSW index whose labels map to uids; deleted labels are skipped through a bitmap selector."""

    def __init__(self, dim: int, config: AnnConfig, index: Any = None) -> None:
        faiss = _faiss()
        if index is None:
            index = faiss.IndexHNSWFlat(dim, config.m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = config.ef_construction
        self.index = index
        self.uid_of: list[Optional[str]] = []  # label -> uid; None once deleted
        self.label: dict[str, int] = {}
        self._live_bits: Optional[np.ndarray] = None  # packed live-label bitmap (the selector points into it)
        self._selector: Any = None

    @property
    def deleted(self) -> int:
        return len(self.uid_of) - len(self.label)

    @property
    def nbytes(self) -> int:
        """Memory of the stored vectors and the level-0-and-up links (the uid maps not counted)."""
        return self.index.ntotal * self.index.d * 4 + self.index.hnsw.neighbors.size() * 4

    def add(self, uids: Sequence[str], unit: np.ndarray) -> None:
        """Insert rows for ``uids`` (not already live)."""
        start = len(self.uid_of)
        self.index.add(np.ascontiguousarray(unit, dtype=np.float32))
        self.uid_of.extend(uids)
        self.label.update((uid, start + i) for i, uid in enumerate(uids))
        self._selector = None

    def discard(self, uids: Iterable[str]) -> None:
        """Mark the labels of ``uids`` deleted (unknown uids are ignored)."""
        for uid in uids:
            label = self.label.pop(uid, None)
            if label is not None:
                self.uid_of[label] = None
                self._selector = None

    def search(self, unit_query: np.ndarray, topk: int, ef: int) -> tuple[list[str], np.ndarray]:
        """The ``topk`` live labels closest to ``unit_query`` (best first), as uids and cosine scores."""
        faiss = _faiss()
        params = faiss.SearchParametersHNSW()
        params.efSearch = max(ef, topk)
        if self.deleted:
            params.sel = self._live_selector()
        scores, labels = self.index.search(unit_query.reshape(1, -1), topk, params=params)
        keep = labels[0] >= 0
        return [self.uid_of[i] for i in labels[0][keep]], scores[0][keep]

    def _live_selector(self) -> Any:
        if self._selector is None:
            faiss = _faiss()
            live = np.fromiter((u is not None for u in self.uid_of), dtype=bool, count=len(self.uid_of))
            self._live_bits = np.packbits(live, bitorder="little")
            self._selector = faiss.IDSelectorBitmap(len(live), faiss.swig_ptr(self._live_bits))
        return self._selector

    def vector(self, uid: str) -> np.ndarray:
        return self.index.reconstruct(self.label[uid])

    # -- files --------------------------------------------------------------------------------------------
    def save(self, path: Path, config: AnnConfig) -> None:
        """Write ``path``.faiss and ``path``.json (the stamp and label map; written last, so it commits)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        graph_file, meta_file = _files(path)
        tmp_graph, tmp_meta = (f.with_name(f.name + ".tmp") for f in (graph_file, meta_file))
        _faiss().write_index(self.index, str(tmp_graph))
        meta = {"version": FORMAT_VERSION, "dim": self.index.d, "m": config.m, "ntotal": self.index.ntotal,
                "graph_bytes": tmp_graph.stat().st_size, "stamp": stamp(self.label), "uid_of": self.uid_of}
        tmp_meta.write_text(json.dumps(meta))
        os.replace(tmp_graph, graph_file)
        os.replace(tmp_meta, meta_file)

    @classmethod
    def load(cls, path: Path, dim: int, config: AnnConfig, expected: dict[str, Any]) -> Optional["HnswGraph"]:
        """The graph saved at ``path`` if it was built for the nodes stamped ``expected`` (else None)."""
        graph_file, meta_file = _files(path)
        try:
            meta = json.loads(meta_file.read_text())
        except (OSError, ValueError):
            return None
        if (meta.get("version"), meta.get("dim"), meta.get("m"), meta.get("stamp")) != \
                (FORMAT_VERSION, dim, config.m, expected):
            return None
        if not graph_file.is_file() or graph_file.stat().st_size != meta.get("graph_bytes"):
            return None
        index = _faiss().read_index(str(graph_file))
        if index.ntotal != meta["ntotal"] or index.ntotal != len(meta["uid_of"]):
            return None
        graph = cls(dim, config, index)
        graph.uid_of = meta["uid_of"]
        graph.label = {uid: i for i, uid in enumerate(graph.uid_of) if uid is not None}
        return graph


def _files(path: Path) -> tuple[Path, Path]:
    """The graph file and its stamp file for ``path`` (whose name may hold dots: ``group.key``)."""
    return path.with_name(path.name + ".faiss"), path.with_name(path.name + ".json")


class AnnMatrix(DenseMatrix):
    """A `DenseMatrix` that also keeps an HNSW graph of its rows once it holds ``config.threshold`` of them.

    ``path`` (without suffix) is where the graph is persisted; None keeps it in memory. ``builds`` counts
    graphs built from the rows, ``loaded`` tells whether the current graph was read from ``path``."""

    def __init__(self, dim: int, capacity: int = 1024, config: Optional[AnnConfig] = None,
                 path: Optional[Path] = None) -> None:
        super().__init__(dim, capacity)
        self.config = config or AnnConfig.from_env()
        self.path = path
        self.builds = 0
        self.loaded = False
        self._graph: Optional[HnswGraph] = None
        self._dirty = False
        self._unavailable = False
        self._write_lock = threading.RLock()  # one writer at a time: upsert, remove, flush
        self._graph_lock = threading.Lock()  # a graph is never searched while it changes
        if path is not None:
            _PERSISTED.add(self)

    @property
    def ann_active(self) -> bool:
        return self._graph is not None

    @property
    def graph_nbytes(self) -> int:
        """Memory held by the HNSW graph (0 without one), besides the exact matrix."""
        graph = self._graph
        return graph.nbytes if graph is not None else 0

    def upsert(self, uids: Sequence[str], vectors: np.ndarray) -> None:
        unit = self.unit_rows(uids, vectors)
        with self._write_lock:
            changed = self._changed(uids, unit)
            self._write(uids, unit)
            if self._graph is not None and len(changed):
                moved = [uids[i] for i in changed]
                with self._graph_lock:
                    self._graph.discard(moved)
                    self._graph.add(moved, unit[changed])
                self._dirty = True
            self._refresh()

    def _changed(self, uids: Sequence[str], unit: np.ndarray) -> np.ndarray:
        """Positions in ``uids`` of new nodes and of nodes whose vector differs from the stored row."""
        rows = np.fromiter((self._pos.get(uid, -1) for uid in uids), dtype=np.int64, count=len(uids))
        known = rows >= 0
        same = np.zeros(len(uids), dtype=bool)
        same[known] = (self._mat[rows[known]] == unit[known]).all(axis=1)
        return np.flatnonzero(~same)

    def remove(self, uids: Sequence[str]) -> None:
        with self._write_lock:
            super().remove(uids)
            if self._graph is not None:
                with self._graph_lock:
                    self._graph.discard(uids)
                self._dirty = True
            self._refresh()

    def search(self, query: np.ndarray, topk: int, mask: Optional[np.ndarray] = None, *, exact: bool = False,
               ef: Optional[int] = None) -> tuple[list[str], np.ndarray]:
        """Cosine top-k from the graph when there is one; exact with a ``mask`` (filters) or ``exact=True``."""
        if not exact and mask is None and topk > 0:
            with self._graph_lock:
                if self._graph is not None:
                    unit = normalise(np.asarray(query, dtype=np.float32).reshape(-1))
                    return self._graph.search(unit, topk, ef or self.config.ef)
        return super().search(query, topk, mask)

    def flush(self) -> None:
        """Save the graph now if it changed since it was last saved (persistent stores only)."""
        with self._write_lock:
            if self._dirty and self._graph is not None:
                self._save(self._graph)

    def _refresh(self) -> None:
        """Build, load, rebuild or drop the graph as the row count and the deletions require."""
        threshold = self.config.threshold
        if threshold is None or self._unavailable:
            return
        graph = self._graph
        if graph is None and len(self) < threshold:
            return
        if graph is not None and graph.deleted <= self.config.rebuild_fraction * len(graph.uid_of):
            return
        try:
            if len(self) < threshold:
                fresh = None
            else:
                fresh = (self._load() if graph is None else None) or self._build()
        except ImportError as exc:
            LOG.warning("exact search continues over %d vectors: %s", len(self), exc)
            self._unavailable = True
            return
        with self._graph_lock:
            self._graph = fresh

    def _build(self) -> HnswGraph:
        LOG.info("building an HNSW graph of %d vectors (dim %d, M=%d)", len(self), self.dim, self.config.m)
        graph = HnswGraph(self.dim, self.config)
        graph.add(list(self.uids), self.matrix)
        self.builds += 1
        self.loaded = False
        self._save(graph)
        return graph

    def _load(self) -> Optional[HnswGraph]:
        if self.path is None:
            return None
        graph = HnswGraph.load(self.path, self.dim, self.config, stamp(self.uids))
        if graph is None:
            return None
        step = max(1, len(self.uids) // _SPOT_CHECKS)
        for uid in self.uids[::step]:
            if not np.allclose(graph.vector(uid), self._mat[self._pos[uid]], atol=1e-6):
                LOG.info("the saved HNSW graph %s holds other vectors; rebuilding it", self.path)
                return None
        LOG.info("loaded the HNSW graph of %d vectors from %s", len(self), self.path)
        self.loaded = True
        self._dirty = False
        return graph

    def _save(self, graph: HnswGraph) -> None:
        if self.path is not None:
            graph.save(self.path, self.config)
        self._dirty = False


_PERSISTED: "weakref.WeakSet[AnnMatrix]" = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """Save the graphs of persistent stores that changed since their last save."""
    for matrix in list(_PERSISTED):
        try:
            matrix.flush()
        except Exception as exc:  # an exit must not fail over a cache; the next start rebuilds
            LOG.warning("could not save the HNSW graph %s: %s", matrix.path, exc)
