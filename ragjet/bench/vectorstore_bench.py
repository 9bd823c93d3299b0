"""``ragjet bench vectorstore``: a search through ragjet on a Milvus (or Chroma) store against the same search
made with the database's own client on the same collection, in the same run.

Random unit vectors with short texts are written through the store; ragjet's side is the default index's
cosine query (query vectors are precomputed, so no model runs), which returns DocNodes with scores; the raw
side is one ``client.search(..., output_fields=[text])`` (Milvus) or ``collection.query`` plus a ``get`` of the
texts (Chroma), as a user of the database alone would write it.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..rag.doc_node import DocNode
from ..rag.embedding import Embedder
from ..rag.index.default import DefaultIndex
from ..rag.store import create_store
from .report import Report, target_note, timeit_median

GROUP = "chunk"
MAX_OVERHEAD = 0.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stores", default="milvus,chroma", help="comma-separated: milvus, chroma")
    parser.add_argument("--n", type=int, default=5000, help="nodes in the collection (default: %(default)s)")
    parser.add_argument("--dim", type=int, default=384, help="vector dimension (default: %(default)s)")
    parser.add_argument("--topk", type=int, default=6, help="results per query (default: %(default)s)")
    parser.add_argument("--queries", type=int, default=30, help="distinct query vectors (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5, help="timed calls per query (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    rng = np.random.default_rng(0)
    vectors = _unit(rng.standard_normal((args.n, args.dim), np.float32))
    queries = {f"q{i}": v for i, v in enumerate(_unit(rng.standard_normal((args.queries, args.dim), np.float32)))}
    rows, notes = [], []
    with tempfile.TemporaryDirectory(prefix="ragjet-bench-vs-") as tmp:
        for kind in [s.strip() for s in args.stores.split(",") if s.strip()]:
            row = _measure(kind, Path(tmp), vectors, queries, args.topk, args.repeat)
            rows.append(row)
            notes.append(target_note(f"{kind}: ragjet vs raw client", f"{row['overhead'] * 100:+.1f}%",
                                     f"≤ +{MAX_OVERHEAD * 100:.0f}%", row["overhead"] <= MAX_OVERHEAD))
    return Report(
        title=f"vectorstore: cosine top-{args.topk} over {args.n:,} × {args.dim} through ragjet vs the raw client",
        columns=["store", "nodes", "raw_ms", "ragjet_ms", "overhead", "correct"], rows=rows, notes=notes,
        plot_columns=["raw_ms", "ragjet_ms"], plot_label="store", ok=all(r["correct"] for r in rows))


def _measure(kind: str, tmp: Path, vectors: np.ndarray, queries: dict[str, np.ndarray], topk: int,
             repeat: int) -> dict[str, Any]:
    conf = {"milvus": {"uri": str(tmp / "bench.db")}, "chroma": {"dir": str(tmp / "chroma")}}[kind]
    store = create_store({"type": kind, "kwargs": conf})
    try:
        index = DefaultIndex({"default": Embedder("default", lambda q: queries[q])}, store)
        store.register_index("default", index)
        store.update_nodes([DocNode(uid=f"n{i:06}", text=f"passage number {i}", group=GROUP,
                                    embedding={"default": v}) for i, v in enumerate(vectors)])
        raw = partial(store.raw_search, GROUP, "default", topk=topk)
        ours = partial(index.query, group_name=GROUP, topk=topk)
        correct = all([n.uid for n in ours(q)] == raw(v) for q, v in list(queries.items())[:5])
        raw_t, our_t = [], []
        for q, v in queries.items():
            raw_t.append(timeit_median(partial(raw, v), repeat, warmup=1)[0])
            our_t.append(timeit_median(partial(ours, q), repeat, warmup=1)[0])
        raw_ms, our_ms = statistics.median(raw_t) * 1e3, statistics.median(our_t) * 1e3
        return {"store": kind, "nodes": len(vectors), "raw_ms": raw_ms, "ragjet_ms": our_ms,
                "overhead": our_ms / raw_ms - 1, "correct": correct}
    finally:
        store.close()


def _unit(m: np.ndarray) -> np.ndarray:
    return m / np.linalg.norm(m, axis=1, keepdims=True)
