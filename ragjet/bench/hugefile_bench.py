"""``ragjet bench hugefile``: one huge single-line text file beside a few small ones, time and memory per size.

A file's cost must follow its size, not its longest line: each size is indexed in a new process (its own
ragjet home, so nothing is cached) and the peak RSS above the process's state just before indexing is taken
from the kernel. The small files alone are the baseline; the seconds per MB of the largest size are compared
with the smallest's (linear cost: a ratio near 1). The last row is a server's start on the largest folder
(`RagChat`'s ``defer_large``): the small files are answered while the huge one waits for the background.

``--embed hashed`` (the default) keeps MiniLM's tokenizer and window, so counting and splitting are the real
ones, but makes vectors by feature hashing, which measures the ingestion path without the model's compute
(MiniLM embeds a 50 MB file's 63,000 chunks in a quarter of an hour on two cores); ``--embed model`` uses
the model itself.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..chat.rag_chat import LARGE_FILE_BYTES
from ..testing.embedders import CountingEmbedder
from .report import Report, child_env, format_seconds, target_note

MODEL = "all-MiniLM-L6-v2"
DEFAULT_SIZES_MB = (5.0, 50.0)
MAX_PEAK_OVER_BASE_MIB = 1024.0
MAX_LINEARITY = 1.5
QUESTION = "Why is the second start fast?"
SMALL_FILES = 5
SMALL_TEXT = "Small file {i}. The second start is fast because the ledger remembers every file it stored. "
HASHED_DIM = 64
RUN_TIMEOUT_S = 3600.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sizes", type=_sizes, default=list(DEFAULT_SIZES_MB),
                        help="comma-separated sizes of the huge line in MB (default: 5,50)")
    parser.add_argument("--embed", choices=("hashed", "model"), default="hashed",
                        help=f"vectors by feature hashing with {MODEL}'s tokenizer (default), or {MODEL} itself")


def run(args: argparse.Namespace) -> Report:
    rows = []
    with tempfile.TemporaryDirectory(prefix="ragjet-bench-hugefile-") as tmp:
        root = Path(tmp)
        small = _folder(root / "small", 0.0)
        rows.append({"run": "small files only", "size_mb": 0.0, **_index(small, root, args.embed)})
        for size in sorted(args.sizes):
            folder = _folder(root / f"huge-{size:g}", size)
            rows.append({"run": f"{size:g} MB line, all indexed", "size_mb": size, **_index(folder, root, args.embed)})
        rows.append({"run": f"{max(args.sizes):g} MB line, server start (deferred)", "size_mb": max(args.sizes),
                     **_index(folder, root, args.embed, defer_over=LARGE_FILE_BYTES)})
    base_s = rows[0]["seconds_s"]
    for row in rows:
        row["vs_small_only"] = row["seconds_s"] / base_s if base_s else None
        indexed = row["size_mb"] if not row["deferred"] else 0.0
        row["s_per_mb"] = (row["seconds_s"] - base_s) / indexed if indexed else None
    sized = rows[1:-1]
    notes = [target_note(f"{r['size_mb']:g} MB line: peak RSS above the state before indexing",
                         f"{r['peak_over_base_mib']:.0f} MiB", f"≤ {MAX_PEAK_OVER_BASE_MIB:g} MiB",
                         r["peak_over_base_mib"] <= MAX_PEAK_OVER_BASE_MIB) for r in sized]
    if len(sized) > 1 and sized[0]["s_per_mb"]:
        linearity = sized[-1]["s_per_mb"] / sized[0]["s_per_mb"]
        notes.append(target_note(f"seconds per MB, {sized[-1]['size_mb']:g} MB vs {sized[0]['size_mb']:g} MB",
                                 f"{linearity:.2f}×", f"≤ {MAX_LINEARITY:g}× (linear)", linearity <= MAX_LINEARITY))
    deferred = rows[-1]
    notes.append(f"server start: the small files answered after {format_seconds(deferred['seconds_s'])} "
                 f"({deferred['vs_small_only']:.2f}× the small files alone), the huge file indexed behind")
    notes.append(f"vectors: {'feature hashing over ' + MODEL + ' tokens' if args.embed == 'hashed' else MODEL}; "
                 f"each run a new process with an empty ragjet home")
    ok = all(r["found_small"] for r in rows) and all(r["peak_over_base_mib"] <= MAX_PEAK_OVER_BASE_MIB for r in sized)
    return Report(title=f"hugefile: one single-line text file beside {SMALL_FILES} small ones (new process each)",
                  columns=["run", "size_mb", "seconds_s", "vs_small_only", "s_per_mb", "peak_over_base_mib",
                           "chunks", "deferred", "found_small"],
                  rows=rows, notes=notes, plot_columns=["seconds_s"], plot_label="run", ok=ok,
                  meta={"embed": args.embed, "sizes_mb": args.sizes, "defer_over_bytes": LARGE_FILE_BYTES})


def _folder(path: Path, size_mb: float) -> Path:
    """The small files, and a single line of ``size_mb`` MB of seeded random words when the size is not 0."""
    path.mkdir()
    for i in range(SMALL_FILES):
        (path / f"small{i}.md").write_text(SMALL_TEXT.format(i=i) * 20, encoding="utf-8")
    if size_mb:
        rng = np.random.default_rng(0)
        vocabulary = np.array(["".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(2, 11)))
                               for _ in range(20_000)])
        words = vocabulary[rng.integers(0, len(vocabulary), int(size_mb * 1e6 / 7) + 1)]
        (path / "huge.txt").write_text(" ".join(words.tolist())[:int(size_mb * 1e6)], encoding="utf-8")
    return path


def _index(folder: Path, root: Path, embed: str, defer_over: Optional[int] = None) -> dict[str, Any]:
    """Index ``folder`` in a new process; its measurements."""
    home = tempfile.mkdtemp(prefix="home-", dir=root)
    env = child_env(home)
    code = "import sys, json; from ragjet.bench.hugefile_bench import child; print(json.dumps(child(*sys.argv[1:])))"
    proc = subprocess.run([sys.executable, "-c", code, str(folder), embed, str(defer_over or "")],
                          capture_output=True, text=True, env=env, timeout=RUN_TIMEOUT_S)
    if proc.returncode != 0:
        raise RuntimeError(f"indexing {folder} failed with exit code {proc.returncode}:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class HashedVectors:
    """MiniLM's tokenizer and window, vectors from `CountingEmbedder`'s bags of hashed words: the ingestion path
    (reading, counting, splitting, storing) at its real cost, without the model's compute."""

    dim = HASHED_DIM

    def __init__(self, model: Any) -> None:
        self.model = model
        self.model_id = f"hashed-{HASHED_DIM}+{MODEL}-tokens"
        self.content_window = model.content_window
        self._bags = CountingEmbedder(HASHED_DIM)  # its vector(); its embed_batch would keep every text

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.model.count_tokens(texts)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._bags.vector(text) for text in texts])


def child(folder: str, embed: str, defer_over: str) -> dict[str, Any]:
    """In the bench's child process: load the embedder, then time the first answer over ``folder`` and take
    the peak RSS it added."""
    import resource
    import time

    from ..models import TrainableModule
    from ..rag import Document, Retriever

    model = TrainableModule(MODEL)
    embedder: Any = model if embed == "model" else HashedVectors(model)
    embedder.count_tokens(["warm up"])
    embedder.embed_batch(["warm up"])
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    doc = Document(folder, embed=embedder, defer_over=int(defer_over) if defer_over else None)
    hits = Retriever(doc, "MediumChunk", similarity="cosine", topk=3)(QUESTION)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds_s": seconds, "peak_over_base_mib": (peak - base) / 1024, "chunks": doc.store.count("MediumChunk"),
            "deferred": len(doc.deferred), "found_small": any(h.global_metadata["file_name"].startswith("small")
                                                              for h in hits)}


def _sizes(text: str) -> list[float]:
    try:
        sizes = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        sizes = []
    if not sizes or any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError(f"--sizes takes positive MB values, e.g. 5,50; got {text!r}")
    return sizes
