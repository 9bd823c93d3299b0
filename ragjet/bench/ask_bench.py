"""``ragjet bench ask``: what a user of ``ragjet ask`` waits for, from a new process to the answer's first word.

Each run is a new ``ragjet ask`` process on the sample corpus (or ``--docs``) with a fresh ragjet home made for
this bench (exported models are shared): the first start indexes the documents, embeds them and evaluates the
prompt; the second starts of the same question find the store, the embeddings and the prompt's state saved
(`ragjet.models.llama_cpp.prompt_cache`); a second start with another question finds the documents ready but evaluates a
new prompt. Time to first token is taken when the first byte of the answer reaches stdout (model loads
included); the first start is the baseline of the ratios.
"""
from __future__ import annotations

import argparse
import shlex
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any, Optional

from ..data import SAMPLE_QUESTION
from .report import Report, child_env, target_note

MAX_SECOND_TTFT_S = 3.0
OTHER_QUESTION = "Which store keeps every node in memory?"
RUN_TIMEOUT_S = 600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="second starts per question (default: %(default)s)")
    parser.add_argument("--question", default=SAMPLE_QUESTION, help="the question asked first and again")
    parser.add_argument("--other-question", default=OTHER_QUESTION, help="a new question for a second start")
    parser.add_argument("--ask-args", default="", help="extra options for ragjet ask, e.g. \"--docs DIR\"")


def run(args: argparse.Namespace) -> Report:
    if args.repeat < 1:
        raise SystemExit(f"--repeat must be positive, got {args.repeat}")
    extra = shlex.split(args.ask_args)
    with tempfile.TemporaryDirectory(prefix="ragjet-bench-ask-") as home:
        env = child_env(home)
        runs = [("first start", [_ask(args.question, extra, env)])]
        runs.append(("second start, same question", [_ask(args.question, extra, env) for _ in range(args.repeat)]))
        runs.append(("second start, new question", [_ask(args.other_question, extra, env)]))
    rows = []
    for name, results in runs:
        rows.append({"run": name, "runs": len(results),
                     "ttft_s": statistics.median(r["ttft_s"] for r in results),
                     "total_s": statistics.median(r["total_s"] for r in results),
                     "answer": " ".join(results[-1]["answer"].split())[:100]})
    first = rows[0]["ttft_s"]
    for row in rows:
        row["ttft_vs_first"] = row["ttft_s"] / first if first else None
    second = rows[1]["ttft_s"]
    notes = [target_note("second start: new process to the answer's first token (median)", f"{second:.2f} s",
                         f"≤ {MAX_SECOND_TTFT_S:g} s", second <= MAX_SECOND_TTFT_S),
             f"command: ragjet ask {args.ask_args} QUESTION".replace("  ", " ") + "; a fresh RAGJET_HOME per bench "
             "run, models shared; the new question's prompt is evaluated in full (its passages may differ)"]
    return Report(title="ask: a new `ragjet ask` process to its first token, first and second starts",
                  columns=["run", "runs", "ttft_s", "total_s", "ttft_vs_first", "answer"], rows=rows, notes=notes,
                  plot_columns=["ttft_s", "total_s"], plot_label="run",
                  meta={"question": args.question, "other_question": args.other_question,
                        "ask_args": args.ask_args})


def _ask(question: str, extra: list[str], env: dict[str, str]) -> dict[str, Any]:
    """One ``ragjet ask`` process: seconds to the first byte on stdout, seconds to its end, and the answer."""
    command = [sys.executable, "-m", "ragjet", "ask", *extra, question]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)
    reader.start()
    first_byte = proc.stdout.read(1)
    ttft: Optional[float] = time.perf_counter() - start if first_byte else None
    rest = proc.stdout.read()
    proc.wait(RUN_TIMEOUT_S)
    total = time.perf_counter() - start
    reader.join(5)
    if proc.returncode != 0 or ttft is None:
        raise RuntimeError(f"`{shlex.join(command)}` failed (exit {proc.returncode}):\n"
                           f"{b''.join(errors).decode(errors='replace')[-2000:]}")
    output = (first_byte + rest).decode(errors="replace")
    return {"ttft_s": ttft, "total_s": total, "answer": output.split("\n\nSources")[0]}
