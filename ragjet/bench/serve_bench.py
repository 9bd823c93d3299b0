"""``ragjet bench serve``: N concurrent streaming chat clients against a server: requests/s, time to first token.

Without ``--url`` the bench starts ``ragjet serve`` (local defaults, ``--serve-args`` added) in its own process on
127.0.0.1 and samples that process's resident memory during the run, so "memory flat" is checked too. Each
client sends the question, reads the streamed answer to ``[DONE]``, and starts over until ``--seconds`` have
passed; answers still streaming then may finish within ``--grace`` seconds (they count), the rest are cut and
reported as unfinished. An error is a non-200 status, an error event, a stream without ``[DONE]`` or a broken
connection. One untimed request warms the server up first.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
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
from typing import Optional

import numpy as np

from ..cli import SAMPLE_QUESTION
from ..registry import missing_extra
from .report import Report, target_note

SERVER_START_TIMEOUT_S = 600.0
RSS_SAMPLE_S = 1.0
OUTPUT_LINES = 40
MAX_RSS_GROWTH = 0.10  # "memory flat": from the middle of the run to its end, the server grows under 10%


@dataclass
class Tally:
    """What the clients saw."""

    ttft_s: list[float] = field(default_factory=list)
    latency_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0
    last_done: float = 0.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--clients", type=int, default=20, help="concurrent streaming clients (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long clients start new requests")
    parser.add_argument("--grace", type=float, default=300.0,
                        help="how long answers still streaming at the end may take to finish (default: %(default)s)")
    parser.add_argument("--url", default=None, help="a running server (default: start `ragjet serve` on 127.0.0.1)")
    parser.add_argument("--api-key", default=None, help="API key of the server at --url")
    parser.add_argument("--question", default=SAMPLE_QUESTION, help="what every client asks")
    parser.add_argument("--serve-args", default="",
                        help="extra options for the server the bench starts, e.g. \"--llm none --embed none\"")


def run(args: argparse.Namespace) -> Report:
    if args.clients < 1 or args.seconds <= 0:
        raise ValueError("--clients and --seconds must be positive")
    try:
        import httpx
    except ImportError:
        raise missing_extra("httpx", "web") from None
    server = None if args.url else ServerProcess(shlex.split(args.serve_args))
    try:
        url = args.url or server.url
        headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
        tally, elapsed, rss = asyncio.run(_load(httpx, url, headers, args, server))
    finally:
        if server is not None:
            server.stop()
    return _report(args, url, tally, elapsed, rss)


async def _load(httpx, url: str, headers: dict[str, str], args: argparse.Namespace,
                server: Optional["ServerProcess"]) -> tuple[Tally, float, list[tuple[float, float]]]:
    """Warm up, then run the clients while sampling the server's memory; (tally, seconds, RSS samples as
    (seconds into the run, MiB))."""
    body = {"model": "ragjet", "stream": True, "messages": [{"role": "user", "content": args.question}]}
    limits = httpx.Limits(max_connections=args.clients + 1, max_keepalive_connections=args.clients + 1)
    timeout = httpx.Timeout(30.0, read=None)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=timeout) as http:
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

        tasks = [asyncio.create_task(client()) for _ in range(args.clients)]
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
                if first is None and chunk["choices"][0]["delta"].get("content"):
                    first = time.perf_counter()
            tally.errors.append("stream ended without [DONE]")
    except Exception as exc:  # a broken connection or bad JSON counts as an error, whatever its type
        tally.errors.append(f"{type(exc).__name__}: {exc}")


async def _sample_rss(server: "ServerProcess", start: float, out: list[tuple[float, float]]) -> None:
    while True:
        out.append((time.perf_counter() - start, server.rss_mib()))
        await asyncio.sleep(RSS_SAMPLE_S)


def _report(args: argparse.Namespace, url: str, tally: Tally, elapsed: float,
            rss: list[tuple[float, float]]) -> Report:
    done = len(tally.latency_s)

    def pct(values: list[float], q: float) -> Optional[float]:
        return float(np.percentile(values, q)) if values else None

    row = {"clients": args.clients, "seconds": args.seconds, "requests": done, "errors": len(tally.errors),
           "unfinished": tally.unfinished, "req_per_sec": done / elapsed if elapsed > 0 else 0.0,
           "ttft_p50_s": pct(tally.ttft_s, 50), "ttft_p95_s": pct(tally.ttft_s, 95),
           "latency_p50_s": pct(tally.latency_s, 50)}
    columns = list(row)
    notes = [f"server: {url}" + ("" if args.url else f" (`{' '.join(['ragjet serve', args.serve_args]).strip()}`)")]
    if rss:
        mib = [m for _, m in rss]
        mid = next((m for t, m in rss if t >= args.seconds / 2), mib[-1])
        row.update(rss_start_mib=mib[0], rss_mid_mib=mid, rss_peak_mib=max(mib), rss_end_mib=mib[-1])
        columns += ["rss_start_mib", "rss_mid_mib", "rss_peak_mib", "rss_end_mib"]
        growth = mib[-1] / mid - 1
        notes.append(target_note("server memory flat under load (end vs middle of the run)", f"{growth:+.1%}",
                                 f"≤ {MAX_RSS_GROWTH:.0%}", growth <= MAX_RSS_GROWTH))
        notes.append("rss_start: after one warm-up request, before the load; start → mid is the working set of "
                     "the concurrent requests")
    notes.append(target_note("errors", str(len(tally.errors)), "0", not tally.errors))
    notes += [f"first error: {tally.errors[0]}"] if tally.errors else []
    return Report(title=f"serve: {args.clients} streaming clients for {args.seconds:g} s", columns=columns,
                  rows=[row], notes=notes, plot_columns=["ttft_p50_s", "ttft_p95_s", "latency_p50_s"],
                  plot_label="clients", ok=not tally.errors,
                  meta={"url": url, "question": args.question, "errors": tally.errors[:20]})


class ServerProcess:
    """``ragjet serve --port 0 ...`` in a child process; `url` once it printed that it is ready. Its output is
    read all along (so it never blocks on a full pipe) and the last lines are kept for error messages."""

    def __init__(self, extra_args: list[str]) -> None:
        from ..web.cli_serve import READY_LINE

        command = [sys.executable, "-m", "ragjet", "serve", "--host", "127.0.0.1", "--port", "0", *extra_args]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                        env={**os.environ, "RAGJET_LOG_LEVEL": "WARNING"})
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
