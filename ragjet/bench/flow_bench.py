"""``ragjet bench flow``: what the flows add to the time of their steps, with steps that sleep a fixed time.

Each step sleeps ``--step-ms`` (100 ms: a retrieval route or a remote call), so a flow's latency should be its
slowest path plus the flow's own overhead: parallel and graph branches run at once, a warp's items too. The
baseline is one step alone, measured in the same run; a row's overhead is its median less the sum of the
sleeps on its slowest path.
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Callable

from ..flow import graph, parallel, pipeline, warp
from .report import Report, target_note, timeit_median

MAX_PARALLEL_OF_TWO = 1.10  # × one step: two 100 ms branches in ≤ 110 ms


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--step-ms", type=float, default=100.0, help="how long each step sleeps (default: 100)")
    parser.add_argument("--repeat", type=int, default=20, help="timed calls per flow (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    if args.repeat < 1 or args.step_ms <= 0:
        raise SystemExit("--repeat and --step-ms must be positive")
    step_s = args.step_ms / 1e3

    def step(x: Any = None, *rest: Any) -> Any:
        time.sleep(step_s)
        return x

    flows: list[tuple[str, int, Callable[[], Any]]] = [  # (name, steps on the slowest path, call)
        ("one step (baseline)", 1, lambda: step(1)),
        ("parallel of 2", 1, lambda: parallel(step, step)(1)),
        ("parallel of 8", 1, lambda: parallel(*[step] * 8)(1)),
        ("pipeline: parallel of 2, then a step", 2, lambda: pipeline(parallel(step, step), step)(1)),
        ("parallel of 2 pipelines of 2", 2, lambda: parallel(pipeline(step, step), pipeline(step, step))(1)),
        ("warp over 4 items", 1, lambda: warp(step)((1, 2, 3, 4))),
        ("graph: 2 branches, then a join", 2, _graph(step)),
    ]
    rows = []
    for name, path, call in flows:
        median, _ = timeit_median(call, args.repeat, warmup=1)
        rows.append({"flow": name, "slowest_path_ms": path * args.step_ms, "median_ms": median * 1e3,
                     "overhead_ms": (median - path * step_s) * 1e3})
    base = rows[0]["overhead_ms"]
    for row in rows:
        row["overhead_vs_one_step_ms"] = row["overhead_ms"] - base
    two, limit = rows[1]["median_ms"], MAX_PARALLEL_OF_TWO * args.step_ms
    notes = [target_note(f"parallel of two {args.step_ms:g} ms branches (median of {args.repeat})",
                         f"{two:.1f} ms", f"≤ {limit:g} ms", two <= limit),
             "overhead: median less the sleeps on the slowest path; vs_one_step: less the baseline's own overhead "
             "(time.sleep's oversleep)"]
    return Report(title=f"flow: latency of flows of {args.step_ms:g} ms steps (median of {args.repeat} calls)",
                  columns=["flow", "slowest_path_ms", "median_ms", "overhead_ms", "overhead_vs_one_step_ms"],
                  rows=rows, notes=notes, plot_columns=["median_ms"], plot_label="flow",
                  meta={"step_ms": args.step_ms, "repeat": args.repeat})


def _graph(step: Callable[..., Any]) -> Callable[[], Any]:
    g = graph(a=step, b=step, join=step)
    g.add_edge("__start__", ["a", "b"])
    g.add_edge(["a", "b"], "join")
    g.add_edge("join", "__end__")
    return lambda: g(1)
