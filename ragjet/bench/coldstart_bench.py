"""``ragjet bench coldstart``: time from a fresh process to the first query vector, per embedding backend.

Each run is a new Python process that imports ragjet, builds the local embedder and embeds one query, then
prints its own elapsed time; the parent also times the whole process. A bare ``python -c pass`` is timed in
the same run as the baseline, so the interpreter's own start can be told apart from ragjet's. One untimed run
per backend comes first: it exports the ONNX model if needed and warms the OS file cache for every backend
alike.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import time
from typing import Optional

from ..settings import environment
from .report import Report, target_note

MODEL = "all-MiniLM-L6-v2"
BACKENDS = ("onnx", "torch")
BACKEND_NEEDS = {"onnx": ("onnxruntime", "tokenizers"), "torch": ("torch", "sentence_transformers")}
MAX_ONNX_S = 1.0
CHILD = f"""\
import time
start = time.perf_counter()
import sys
import ragjet
model = ragjet.TrainableModule({MODEL!r}, backend=sys.argv[1])
model("how fast does ragjet start?")
print(time.perf_counter() - start)
"""
BASELINE = "python -c pass"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="timed processes per backend (default: %(default)s)")
    parser.add_argument("--backends", type=_backends, default=list(BACKENDS),
                        help=f"comma-separated, from {', '.join(BACKENDS)} (default: all)")


def run(args: argparse.Namespace) -> Report:
    if args.repeat < 1:
        raise SystemExit(f"--repeat must be positive, got {args.repeat}")
    notes: list[str] = []
    backends = []
    for backend in args.backends:
        missing = [m for m in BACKEND_NEEDS[backend] if importlib.util.find_spec(m) is None]
        if missing:
            notes.append(f"{backend} skipped: {', '.join(missing)} not installed (pip install 'ragjet[local]')")
        else:
            backends.append(backend)
            _spawn(backend)  # untimed: export once, warm the file cache
    timings: dict[str, list[tuple[float, Optional[float]]]] = {name: [] for name in [BASELINE, *backends]}
    for _ in range(args.repeat):  # interleaved, so drift in machine load hits every backend alike
        for name in timings:
            timings[name].append(_spawn(None if name == BASELINE else name))

    rows = []
    for name, runs in timings.items():
        inner = [t for _, t in runs if t is not None]
        rows.append({"backend": name, "runs": len(runs), "wall_s": statistics.median(w for w, _ in runs),
                     "in_process_s": statistics.median(inner) if inner else None})
    base = rows[0]["wall_s"]
    for row in rows:
        row["over_python_s"] = row["wall_s"] - base
    onnx = next((r for r in rows if r["backend"] == "onnx"), None)
    if onnx:
        notes.append(target_note("onnx: new process to first query vector (median wall time)",
                                 f"{onnx['wall_s']:.2f} s", f"≤ {MAX_ONNX_S:g} s", onnx["wall_s"] <= MAX_ONNX_S))
    notes.append("in_process: import ragjet + load model + embed one query, timed inside the child; "
                 "over_python: wall time above a bare interpreter's")
    return Report(
        title=f"coldstart: import ragjet, load {MODEL}, embed one query (new process, median of {args.repeat})",
        columns=["backend", "runs", "wall_s", "in_process_s", "over_python_s"],
        rows=rows, notes=notes, plot_columns=["wall_s", "in_process_s"], plot_label="backend",
        meta={"model": MODEL, "repeat": args.repeat, "runs_s": {k: [w for w, _ in v] for k, v in timings.items()}})


def _spawn(backend: Optional[str]) -> tuple[float, Optional[float]]:
    """Run one child process; return its wall time and (unless it is the bare baseline) its own timing."""
    cmd = [sys.executable, "-c", "pass"] if backend is None else [sys.executable, "-c", CHILD, backend]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=environment(HF_HUB_OFFLINE="1"))
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"coldstart child ({backend or 'baseline'}) failed with exit code {proc.returncode}:\n"
                           f"{proc.stderr[-2000:]}")
    return wall, (float(proc.stdout.strip().splitlines()[-1]) if backend else None)


def _backends(text: str) -> list[str]:
    names = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown backend(s) {unknown or text!r}; choose from {', '.join(BACKENDS)}")
    return names
