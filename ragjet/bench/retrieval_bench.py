"""``ragjet bench retrieval``: cosine top-k through `DefaultIndex` against raw numpy on the same matrix, or,
with ``--n``, HNSW (ANN) search against exact search at 10k / ``--n`` (/ 1M with ``--million``) nodes.

Unit vectors (seeded; embedding-like unless ``--data random``) are written as nodes to a `MapStore` whose
`DefaultIndex` embeds queries with a dict lookup of precomputed vectors, so the measured time is the index's
search, not a model. The baseline, timed in the same run on the same normalised matrix, is the least numpy
can do: one matrix-vector product, ``argpartition`` and a sort of k scores. Their ratio is the index's
overhead. Below the ANN threshold (`AnnConfig.threshold`) the index searches exactly and must return numpy's
top k; above it the HNSW graph answers, as it does for a user, and is judged by its recall@k against numpy's.

The ANN mode times ``index.query`` both ways on the same index (``exact=True`` is the baseline), one query at
a time and interleaved, and reports recall@k of the graph against exact search, the time to write the nodes
in ingestion-sized batches (exact matrix plus graph) and memory. Its vectors are "embedding-like" by default:
an anisotropic Gaussian whose spectrum (power law i^-1.2) and mean offset (norm 0.56) were fitted to
all-MiniLM-L6-v2 embeddings of the SQuAD and CMRC paragraphs and questions (PCA: 90 % of the variance in 102
of 384 directions there, 115 here). ``--data random`` uses isotropic vectors instead, which have no near
neighbours and defeat every graph index (shown for honesty, not a use case).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from functools import partial
from typing import Callable

import numpy as np

from ..rag.doc_node import DocNode
from ..rag.embedding import Embedder
from ..rag.index.ann import AnnConfig
from ..rag.index.default import DefaultIndex
from ..rag.store import MapStore
from .report import Report, target_note, timeit_median

GROUP = "g"
TARGET_SIZE = 10_000
MAX_RATIO = 2.0
ANN_SIZES = (10_000,)
MILLION = 1_000_000
ANN_TARGET_SIZE = 100_000
ANN_MAX_P50_MS = 1.0
ANN_MIN_RECALL = 0.95
BATCH = 4096  # nodes per store write, as ingestion writes them
SPECTRUM_EXPONENT = 1.2
MEAN_NORM = 0.56


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_int_list, default=[1_000, 10_000, 100_000],
                        help="node counts, comma-separated (default: 1000,10000,100000)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default: %(default)s)")
    parser.add_argument("--topk", type=int, default=10, help="results per query (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=50, help="distinct query vectors (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per query (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parser.add_argument("--n", type=_int_list, default=None, metavar="N",
                        help="ANN mode: HNSW vs exact search at 10000 and N nodes (e.g. 100000; a comma list works)")
    parser.add_argument("--million", action="store_true", help="ANN mode: also measure 1,000,000 nodes")
    parser.add_argument("--ef", type=_int_list, default=[AnnConfig.ef],
                        help=f"ANN mode: HNSW efSearch values, comma-separated, one row each (default: {AnnConfig.ef})")
    parser.add_argument("--data", choices=("embedlike", "random"), default="embedlike",
                        help="vector distribution (default: %(default)s; random: isotropic vectors, which have no "
                             "near neighbours and defeat every graph index)")


def run(args: argparse.Namespace) -> Report:
    if args.n or args.million:
        return run_ann(args)
    if not 0 < args.topk < min(args.sizes):
        raise SystemExit(f"--topk must be positive and below the smallest size ({min(args.sizes)}), got {args.topk}")
    rng = np.random.default_rng(args.seed)
    sample = _embedding_like(rng, args.dim) if args.data == "embedlike" else _isotropic(rng, args.dim)
    queries = {f"q{i}": v for i, v in enumerate(sample(args.queries))}
    rows = [_measure(size, args.dim, args.topk, queries, args.repeat, sample) for size in args.sizes]
    at_target = next((r for r in rows if r["nodes"] == TARGET_SIZE), None)
    notes = [f"{args.data} vectors; median over {args.queries} queries × {args.repeat} calls; ratio = "
             f"default_index / raw_numpy; recall = share of numpy's exact top-{args.topk} the index returns; correct: "
             f"the exact top-{args.topk} below the ANN threshold (exact search), recall ≥ "
             f"{ANN_MIN_RECALL} above (the HNSW graph)",
             target_note(f"ratio at {TARGET_SIZE:,} nodes", f"{at_target['ratio']:.2f}×", f"≤ {MAX_RATIO:g}×",
                         at_target["ratio"] <= MAX_RATIO)
             if at_target else f"ratio at {TARGET_SIZE:,} nodes: not measured (add it to --sizes)"]
    return Report(
        title=f"retrieval: DefaultIndex cosine top-{args.topk} vs raw numpy (dim {args.dim})",
        columns=["nodes", "dim", "raw_numpy_ms", "default_index_ms", "ratio", "build_s", "recall", "correct"],
        rows=rows, notes=notes, plot_columns=["raw_numpy_ms", "default_index_ms"], plot_label="nodes",
        ok=all(r["correct"] for r in rows),
        meta={"topk": args.topk, "queries": args.queries, "repeat": args.repeat, "seed": args.seed,
              "data": args.data})


def _measure(size: int, dim: int, k: int, queries: dict[str, np.ndarray], repeat: int,
             sample: Callable[[int], np.ndarray]) -> dict[str, object]:
    """One row: build a store of ``size`` nodes, then time each query both ways, interleaved."""
    matrix = sample(size)
    nodes = [DocNode(uid=f"n{i}", text=f"node {i}", group=GROUP, embedding={"default": matrix[i]})
             for i in range(size)]
    store = MapStore()
    index = DefaultIndex({"default": Embedder("default", queries.__getitem__)}, store)
    store.register_index("default", index)
    start = time.perf_counter()
    store.update_nodes(nodes)
    build_s = time.perf_counter() - start

    def raw(q: np.ndarray) -> np.ndarray:
        scores = matrix @ q
        idx = np.argpartition(-scores, k)[:k]
        return idx[np.argsort(-scores[idx])]

    def ours(name: str) -> list[DocNode]:
        return index.query(name, group_name=GROUP, similarity_name="cosine", topk=k)

    raw_times, ours_times, identical, recalls = [], [], True, []
    for name, q in queries.items():
        raw_times.append(timeit_median(partial(raw, q), repeat, warmup=1)[0])
        ours_times.append(timeit_median(partial(ours, name), repeat, warmup=1)[0])
        got, want = [n.uid for n in ours(name)], [f"n{i}" for i in raw(q)]
        identical = identical and got == want
        recalls.append(len(set(got) & set(want)) / k)
    raw_s, ours_s = statistics.median(raw_times), statistics.median(ours_times)
    recall = float(np.mean(recalls))
    threshold = AnnConfig.from_env().threshold  # what the index itself switches at
    graph = threshold is not None and size >= threshold
    return {"nodes": size, "dim": dim, "raw_numpy_ms": raw_s * 1e3, "default_index_ms": ours_s * 1e3,
            "ratio": ours_s / raw_s, "build_s": build_s, "recall": recall,
            "correct": recall >= ANN_MIN_RECALL if graph else identical}


def run_ann(args: argparse.Namespace) -> Report:
    """Exact vs HNSW search through the same `DefaultIndex`, one row per size and efSearch."""
    sizes = sorted({*(s for s in ANN_SIZES if s <= max(args.n or [0])), *(args.n or []),
                    *([MILLION] if args.million else [])})
    if not 0 < args.topk < min(sizes):
        raise SystemExit(f"--topk must be positive and below the smallest size ({min(sizes)}), got {args.topk}")
    rng = np.random.default_rng(args.seed)
    sample = _embedding_like(rng, args.dim) if args.data == "embedlike" else _isotropic(rng, args.dim)
    queries = {f"q{i}": v for i, v in enumerate(sample(args.queries))}
    rows = [row for size in sizes for row in _measure_ann(size, args, queries, sample)]
    notes = [f"{args.data} vectors; {args.queries} queries × {args.repeat} calls each, one at a time, exact and ANN "
             f"interleaved; latency = index.query (query embedding is a dict lookup); "
             f"recall@{args.topk} = overlap of ANN with exact top-{args.topk}",
             f"HNSW: faiss IndexHNSWFlat M={AnnConfig.m}, efConstruction={AnnConfig.ef_construction}, "
             f"efSearch per row; build = writing the nodes in batches of {BATCH} (exact matrix + graph, "
             f"{os.cpu_count()} cores); graph_mb besides the exact matrix; rss_delta_mb = whole store"]
    for row in (r for r in rows if r["nodes"] == ANN_TARGET_SIZE):
        met = row["ann_p50_ms"] <= ANN_MAX_P50_MS and row["recall_at_k"] >= ANN_MIN_RECALL
        notes.append(target_note(f"ANN at {ANN_TARGET_SIZE:,} × {args.dim}, efSearch {row['ef']}",
                                 f"p50 {row['ann_p50_ms']:.3f} ms at recall@{args.topk} {row['recall_at_k']:.3f} "
                                 f"(exact p50 {row['exact_p50_ms']:.2f} ms)",
                                 f"p50 ≤ {ANN_MAX_P50_MS:g} ms at recall ≥ {ANN_MIN_RECALL}", met))
    return Report(
        title=f"retrieval: HNSW (ANN) vs exact cosine top-{args.topk}, dim {args.dim}, {args.data} vectors",
        columns=["nodes", "dim", "exact_p50_ms", "exact_p95_ms", "ann_p50_ms", "ann_p95_ms", "speedup",
                 "recall_at_k", "ef", "build_s", "graph_mb", "matrix_mb", "rss_delta_mb"],
        rows=rows, notes=notes, plot_columns=["exact_p50_ms", "ann_p50_ms"], plot_label=["nodes", "ef"],
        meta={"topk": args.topk, "queries": args.queries, "repeat": args.repeat, "seed": args.seed,
              "data": args.data, "ef": args.ef})


def _measure_ann(size: int, args: argparse.Namespace, queries: dict[str, np.ndarray],
                 sample: Callable[[int], np.ndarray]) -> list[dict[str, object]]:
    """Rows for one size: write ``size`` nodes in batches, then per efSearch time exact and ANN queries,
    interleaved."""
    k = args.topk
    store = MapStore()
    config = AnnConfig(threshold=min(size, AnnConfig.threshold))
    index = DefaultIndex({"default": Embedder("default", queries.__getitem__)}, store, ann=config)
    store.register_index("default", index)
    rss_before = _rss_bytes()
    build_s = 0.0
    for start in range(0, size, BATCH):
        vectors = sample(min(BATCH, size - start))
        nodes = [DocNode(uid=f"n{start + i}", text="", group=GROUP, embedding={"default": v})
                 for i, v in enumerate(vectors)]
        began = time.perf_counter()
        store.update_nodes(nodes)
        build_s += time.perf_counter() - began
    rss_delta = _rss_bytes() - rss_before
    matrix = index.matrix(GROUP)

    def search(name: str, exact: bool, ef: int) -> list[DocNode]:
        return index.query(name, group_name=GROUP, similarity_name="cosine", topk=k, exact=exact, ef=ef or None)

    exact_times: list[float] = []
    ann_times: dict[int, list[float]] = {ef: [] for ef in args.ef}
    recalls: dict[int, list[float]] = {ef: [] for ef in args.ef}
    for name in queries:  # exact, then each efSearch, per query: machine noise spreads over all of them
        exact_times += timeit_median(partial(search, name, True, 0), args.repeat, warmup=1)[1]
        truth = {n.uid for n in search(name, True, 0)}
        for ef in args.ef:
            ann_times[ef] += timeit_median(partial(search, name, False, ef), args.repeat, warmup=1)[1]
            recalls[ef].append(len(truth & {n.uid for n in search(name, False, ef)}) / k)
    exact_p50 = statistics.median(exact_times)
    return [{"nodes": size, "dim": args.dim, "exact_p50_ms": exact_p50 * 1e3,
             "exact_p95_ms": float(np.percentile(exact_times, 95)) * 1e3,
             "ann_p50_ms": statistics.median(ann_times[ef]) * 1e3,
             "ann_p95_ms": float(np.percentile(ann_times[ef], 95)) * 1e3,
             "speedup": exact_p50 / statistics.median(ann_times[ef]), "recall_at_k": float(np.mean(recalls[ef])),
             "ef": ef, "build_s": build_s, "graph_mb": matrix.graph_nbytes / 1e6,
             "matrix_mb": matrix.matrix.nbytes / 1e6, "rss_delta_mb": rss_delta / 1e6} for ef in args.ef]


def _embedding_like(rng: np.random.Generator, dim: int) -> Callable[[int], np.ndarray]:
    """A sampler of unit vectors shaped like sentence embeddings (see the module docstring)."""
    variance = np.arange(1, dim + 1, dtype=np.float32) ** -SPECTRUM_EXPONENT
    scale = np.sqrt(variance * (1 - MEAN_NORM ** 2) / variance.sum()).astype(np.float32)
    rotation = np.linalg.qr(rng.standard_normal((dim, dim)))[0].astype(np.float32)
    mean = rng.standard_normal(dim).astype(np.float32)
    mean *= MEAN_NORM / np.linalg.norm(mean)

    def sample(n: int) -> np.ndarray:
        return _unit(mean + (rng.standard_normal((n, dim), dtype=np.float32) * scale) @ rotation)
    return sample


def _isotropic(rng: np.random.Generator, dim: int) -> Callable[[int], np.ndarray]:
    return lambda n: _unit(rng.standard_normal((n, dim), dtype=np.float32))


def _rss_bytes() -> int:
    """Resident memory of this process now (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def _int_list(text: str) -> list[int]:
    try:
        values = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive integers, got {text!r}")
    return values
