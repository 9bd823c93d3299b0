"""``ragjet bench retrieval``: cosine top-k through `DefaultIndex` against raw numpy on the same matrix.

Random unit vectors (seeded) are written as nodes to a `MapStore` whose `DefaultIndex` embeds queries with a
dict lookup of precomputed vectors, so the measured time is the index's search, not a model. The baseline,
timed in the same run on the same normalised matrix, is the least numpy can do: one matrix-vector product,
``argpartition`` and a sort of k scores. Their ratio is the index's overhead.
"""
from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import numpy as np

from ..rag.doc_node import DocNode
from ..rag.embedding import Embedder
from ..rag.index.default import DefaultIndex
from ..rag.store import MapStore
from .report import Report, target_note, timeit_median

GROUP = "g"
TARGET_SIZE = 10_000
MAX_RATIO = 2.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_int_list, default=[1_000, 10_000, 100_000],
                        help="node counts, comma-separated (default: 1000,10000,100000)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default: %(default)s)")
    parser.add_argument("--topk", type=int, default=10, help="results per query (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=50, help="distinct query vectors (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per query (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    if not 0 < args.topk < min(args.sizes):
        raise SystemExit(f"--topk must be positive and below the smallest size ({min(args.sizes)}), got {args.topk}")
    rng = np.random.default_rng(args.seed)
    queries = {f"q{i}": v for i, v in enumerate(_unit(rng.standard_normal((args.queries, args.dim), np.float32)))}
    rows = [_measure(size, args.dim, args.topk, queries, args.repeat, rng) for size in args.sizes]
    at_target = next((r for r in rows if r["nodes"] == TARGET_SIZE), None)
    notes = [f"median over {args.queries} queries × {args.repeat} calls; ratio = default_index / raw_numpy",
             target_note(f"ratio at {TARGET_SIZE:,} nodes", f"{at_target['ratio']:.2f}×", f"≤ {MAX_RATIO:g}×",
                         at_target["ratio"] <= MAX_RATIO)
             if at_target else f"ratio at {TARGET_SIZE:,} nodes: not measured (add it to --sizes)"]
    return Report(
        title=f"retrieval: DefaultIndex cosine top-{args.topk} vs raw numpy (dim {args.dim})",
        columns=["nodes", "dim", "raw_numpy_ms", "default_index_ms", "ratio", "build_s", "correct"],
        rows=rows, notes=notes, plot_columns=["raw_numpy_ms", "default_index_ms"], plot_label="nodes",
        ok=all(r["correct"] for r in rows),
        meta={"topk": args.topk, "queries": args.queries, "repeat": args.repeat, "seed": args.seed})


def _measure(size: int, dim: int, k: int, queries: dict[str, np.ndarray], repeat: int,
             rng: np.random.Generator) -> dict[str, object]:
    """One row: build a store of ``size`` nodes, then time each query both ways, interleaved."""
    matrix = _unit(rng.standard_normal((size, dim), np.float32))
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

    raw_times, ours_times, correct = [], [], True
    for name, q in queries.items():
        raw_times.append(timeit_median(partial(raw, q), repeat, warmup=1)[0])
        ours_times.append(timeit_median(partial(ours, name), repeat, warmup=1)[0])
        correct = correct and [n.uid for n in ours(name)] == [f"n{i}" for i in raw(q)]
    raw_s, ours_s = statistics.median(raw_times), statistics.median(ours_times)
    return {"nodes": size, "dim": dim, "raw_numpy_ms": raw_s * 1e3, "default_index_ms": ours_s * 1e3,
            "ratio": ours_s / raw_s, "build_s": build_s, "correct": correct}


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
