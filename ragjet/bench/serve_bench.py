"""``ragjet bench serve``: concurrent streaming chat clients against a server: time to first token, answers/min.

Without ``--url`` the bench starts ``ragjet serve`` (local defaults, ``--serve-args`` added) in its own process on
127.0.0.1, once per ``--deploys`` entry: ``in-process`` (the chat model in the server's process, one request at
a time in its queue), ``in-process:4`` (``--slots 4``: the in-process engine's parallel slots) and
``llamacpp:8`` (``--deploy llamacpp --slots 8``: llama.cpp's server in its own process; an engine that is not
installed is skipped with a note). Each server
is measured with each ``--clients`` count, and its resident memory is sampled, so "memory flat" is checked too. Each client sends the question, reads the
streamed answer to ``[DONE]``, and starts over until ``--seconds`` have passed; answers still streaming then
may finish within ``--grace`` seconds (they count), the rest are cut and reported as unfinished. An error is a
non-200 status, an error event, a stream without ``[DONE]`` or a broken connection. One untimed request warms
each server up first. Every client asks the same question, so the prompt caches of both servers help alike.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from .. import http_client
from ..data import SAMPLE_QUESTION
from ..registry import missing_extra
from ..settings import environment
from .report import Report, target_note

SERVER_START_TIMEOUT_S = 600.0
RSS_SAMPLE_S = 1.0
OUTPUT_LINES = 40
MAX_RSS_GROWTH = 0.10  # "memory flat": from the middle of the run to its end, the server grows under 10%
IN_PROCESS = "in-process"
MAX_TTFT_SHARE = 0.5  # llama-server's slots: at most half the in-process queue's TTFT p50 at the most clients


@dataclass
class Tally:
    """What the clients saw."""

    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0
    last_done: float = 0.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=_counts, default=[1, 8],
                        help="concurrent streaming clients, one run per count (default: 1,8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long clients start new requests, per run")
    parser.add_argument("--grace", type=float, default=300.0,
                        help="how long answers still streaming at the end may take to finish (default: %(default)s)")
    parser.add_argument("--url", default=None, help="a running server (default: start `ragjet serve` on 127.0.0.1)")
    parser.add_argument("--api-key", default=None, help="API key of the server at --url")
    parser.add_argument("--question", default=SAMPLE_QUESTION, help="what every client asks")
    parser.add_argument("--serve-args", default="",
                        help="extra options for the servers the bench starts, e.g. \"--llm none --embed none\"")
    parser.add_argument("--deploys", type=lambda v: [d.strip() for d in v.split(",") if d.strip()],
                        default=[IN_PROCESS, f"{IN_PROCESS}:4", "llamacpp:8"],
                        help=f"how the started servers run the chat model: {IN_PROCESS} (one slot; {IN_PROCESS}:N for "
                             f"N) and/or --deploy engines, ENGINE:N for N slots (default: {IN_PROCESS},{IN_PROCESS}:4,"
                             f"llamacpp:8)")


def _counts(value: str) -> list[int]:
    counts = [int(v) for v in value.split(",") if v.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError(f"--clients {value!r}: give positive counts, e.g. 1,8")
    return counts


def run(args: argparse.Namespace) -> Report:
    if args.seconds <= 0:
        raise ValueError("--seconds must be positive")
    try:
        import httpx
    except ImportError:
        raise missing_extra("httpx", "web") from None
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    for deploy in [None] if args.url else args.deploys:
        engine, _, slots = (deploy or IN_PROCESS).partition(":")
        if engine != IN_PROCESS and not _engine_built(engine):
            notes.append(f"{deploy}: not installed here, skipped")
            continue
        extra = ([] if engine == IN_PROCESS else ["--deploy", engine]) + (["--slots", slots] if slots else [])
        server = None if args.url else ServerProcess(shlex.split(args.serve_args) + extra)
        try:
            url = args.url or server.url
            headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
            for clients in args.clients:
                tally, elapsed, rss = asyncio.run(_load(httpx, url, headers, args, clients, server))
                rows.append(_row(deploy or url, clients, args, tally, elapsed, rss, notes))
        finally:
            if server is not None:
                server.stop()
    return _report(args, rows, notes)


def _engine_built(deploy: str) -> bool:
    from ..deploy.registry import make

    try:
        return make(deploy).installed()
    except (KeyError, ValueError, ImportError):
        return False


async def _load(httpx, url: str, headers: dict[str, str], args: argparse.Namespace, clients: int,
                server: Optional["ServerProcess"]) -> tuple[Tally, float, list[tuple[float, float]]]:
    """Warm up, then run ``clients`` clients while sampling the server's memory; (tally, seconds, RSS samples
    as (seconds into the run, MiB))."""
    body = {"model": "ragjet", "stream": True, "messages": [{"role": "user", "content": args.question}]}
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    timeout = httpx.Timeout(30.0, read=None)
    async with http_client.async_client(url, headers=headers, limits=limits, timeout=timeout) as http:
        warm = Tally()
        await _ask(http, body, warm)
        if warm.errors:
            raise RuntimeError(f"the server at {url} failed the warm-up request: {warm.errors[0]}")
        rss: list[tuple[float, float]] = []
        tally = Tally()
        start = time.perf_counter()
        sampler = asyncio.create_task(_sample_rss(server, start, rss)) if server else None
        deadline = start + args.seconds

        async def client() -> None:
            while time.perf_counter() < deadline:
                await _ask(http, body, tally)

        tasks = [asyncio.create_task(client()) for _ in range(clients)]
        done, pending = await asyncio.wait(tasks, timeout=args.seconds + args.grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        tally.unfinished = len(pending)
        if sampler:
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            rss.append((time.perf_counter() - start, server.rss_mib()))
        return tally, (tally.last_done or time.perf_counter()) - start, rss


async def _ask(http, body: dict, tally: Tally) -> None:
    """One streamed question; records its time to first token and latency, or the error."""
    start = time.perf_counter()
    first: Optional[float] = None
    try:
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                tally.errors.append(f"HTTP {response.status_code}: {response.text[:200]}")
                return
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    now = time.perf_counter()
                    tally.ttft_s.append((first or now) - start)
                    tally.latency_s.append(now - start)
                    tally.last_done = now
                    return
                chunk = json.loads(data)
                if "error" in chunk:
                    tally.errors.append(f"error event: {chunk['error'].get('message')}")
                    return
                choices = chunk.get("choices") or []  # none in a chunk that reports the queue position
                if first is None and choices and choices[0]["delta"].get("content"):
                    first = time.perf_counter()
            tally.errors.append("stream ended without [DONE]")
    except Exception as exc:  # a broken connection or bad JSON counts as an error, whatever its type
        tally.errors.append(f"{type(exc).__name__}: {exc}")


async def _sample_rss(server: "ServerProcess", start: float, out: list[tuple[float, float]]) -> None:
    while True:
        out.append((time.perf_counter() - start, server.rss_mib()))
        await asyncio.sleep(RSS_SAMPLE_S)


def _row(server: str, clients: int, args: argparse.Namespace, tally: Tally, elapsed: float,
         rss: list[tuple[float, float]], notes: list[str]) -> dict[str, Any]:
    """One run's numbers; its memory and error checks go to ``notes``."""
    done = len(tally.latency_s)

    def pct(values: list[float], q: float) -> Optional[float]:
        return float(np.percentile(values, q)) if values else None

    row: dict[str, Any] = {
        "server": server, "clients": clients, "requests": done, "errors": len(tally.errors),
        "unfinished": tally.unfinished, "answers_per_min": 60 * done / elapsed if elapsed > 0 else 0.0,
        "ttft_p50_s": pct(tally.ttft_s, 50), "ttft_p95_s": pct(tally.ttft_s, 95),
        "latency_p50_s": pct(tally.latency_s, 50), "rss_peak_mib": None}
    label = f"{server}, {clients} client{'s' if clients > 1 else ''}"
    if rss:
        mib = [m for _, m in rss]
        mid = next((m for t, m in rss if t >= args.seconds / 2), mib[-1])
        row["rss_peak_mib"] = max(mib)
        growth = mib[-1] / mid - 1
        notes.append(target_note(f"{label}: server memory flat under load (end vs middle of the run)",
                                 f"{growth:+.1%}", f"≤ {MAX_RSS_GROWTH:.0%}", growth <= MAX_RSS_GROWTH))
    notes.append(target_note(f"{label}: errors", str(len(tally.errors)), "0", not tally.errors))
    notes += [f"{label}: first error: {tally.errors[0]}"] if tally.errors else []
    row["errors_seen"] = tally.errors[:5]
    return row


def _report(args: argparse.Namespace, rows: list[dict[str, Any]], notes: list[str]) -> Report:
    most = max(args.clients)
    baseline = next((r for r in rows if r["server"] == IN_PROCESS and r["clients"] == most), None)
    for row in rows:
        row["ttft_p50_vs_in_process"] = None
        base = next((r for r in rows if r["server"] == IN_PROCESS and r["clients"] == row["clients"]), None)
        if base and base["ttft_p50_s"] and row["ttft_p50_s"] is not None:
            row["ttft_p50_vs_in_process"] = row["ttft_p50_s"] / base["ttft_p50_s"]
    for row in rows:
        if baseline is not None and row is not baseline and row["clients"] == most and row["ttft_p50_vs_in_process"]:
            share = row["ttft_p50_vs_in_process"]
            notes.append(target_note(f"{row['server']}: TTFT p50 with {most} clients vs the in-process queue",
                                     f"{row['ttft_p50_s']:.2f} s vs {baseline['ttft_p50_s']:.2f} s = {share:.2f}x",
                                     f"≤ {MAX_TTFT_SHARE}x", share <= MAX_TTFT_SHARE))
    notes.insert(0, f"question: {args.question!r}; servers: `ragjet serve {args.serve_args}`".rstrip() + " (+ --deploy "
                 "ENGINE for an engine); rss: the ragjet server process (an engine's own process not included)")
    columns = ["server", "clients", "requests", "errors", "unfinished", "answers_per_min", "ttft_p50_s",
               "ttft_p95_s", "latency_p50_s", "ttft_p50_vs_in_process", "rss_peak_mib"]
    errors = [e for r in rows for e in r.pop("errors_seen")]
    return Report(title=f"serve: {', '.join(map(str, args.clients))} streaming clients for {args.seconds:g} s each",
                  columns=columns, rows=rows, notes=notes, plot_columns=["ttft_p50_s", "ttft_p95_s", "latency_p50_s"],
                  plot_label=["server", "clients"], ok=not errors,
                  meta={"question": args.question, "errors": errors[:20], "deploys": args.deploys,
                        "serve_args": args.serve_args})


class ServerProcess:
    """``ragjet serve --port 0 ...`` in a child process; `url` once it printed that it is ready. Its output is
    read all along (so it never blocks on a full pipe) and the last lines are kept for error messages."""

    def __init__(self, extra_args: list[str]) -> None:
        from ..web.web_module import READY_LINE

        command = [sys.executable, "-m", "ragjet", "serve", "--host", "127.0.0.1", "--port", "0", *extra_args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env=environment(RAGJET_LOG_LEVEL="WARNING"))
        self.output: deque[str] = deque(maxlen=OUTPUT_LINES)
        ready: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(READY_LINE, ready), daemon=True).start()
        try:
            self.url = ready.get(timeout=SERVER_START_TIMEOUT_S)
        except queue.Empty:
            self.url = ""
        if not self.url:
            self.stop()
            raise RuntimeError(f"`{shlex.join(command)}` did not start:\n{''.join(self.output)}")

    def _read(self, ready_line: str, ready: "queue.Queue[str]") -> None:
        for line in self.process.stdout:
            if line.startswith(ready_line):
                ready.put(line[len(ready_line):].split()[0])
            self.output.append(line)
        ready.put("")  # the server exited

    def rss_mib(self) -> float:
        """The server's resident memory now (Linux /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for process {self.process.pid}")

    def stop(self) -> None:
        """Ctrl+C the server (it stops gracefully) and reap it."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
