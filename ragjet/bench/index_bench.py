"""``ragjet bench index``: the lecture's trie-vs-linear demo over a word list, timed.

It runs the lecture's code path unchanged (a Document over the word file, a ``words`` group split on CRLF, the
lecture's two index classes registered on the document, one Retriever per index) and times, for query words
spread over the list, the index's own ``query`` and the same query through the Retriever. The difference is
the Retriever's overhead; the linear index is the in-run baseline the trie's speed-up is measured against.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from ..rag import Document, Retriever
from .lecture_indexes import LinearSearchIndex, TrieTreeIndex
from .report import Report, target_note, timeit_median

DEFAULT_WORDS = Path("../shared/data/words_alpha.txt")
GROUP = "words"
INDEXES = ("trie_tree", "linear_search")
BUCKETS = ("early", "middle", "late")
FAST_BLOCK = 20  # trie calls take µs: many more samples cost nothing and steady the median
MAX_OVERHEAD_US = 50.0
MIN_SPEEDUP = 100.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--words", type=Path, default=DEFAULT_WORDS,
                        help="word list, one word per CRLF-ended line (default: %(default)s, relative to the cwd)")
    parser.add_argument("--queries", type=int, default=21,
                        help="query words, evenly spaced over the list from first to last (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=5,
                        help=f"timed calls per word on the linear index; the trie gets {FAST_BLOCK}× "
                             "as many (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    words_path: Path = args.words
    if not words_path.is_file():
        raise SystemExit(f"word list not found: {words_path} (resolved to {words_path.resolve()}); "
                         "pass its path with --words PATH")
    if args.queries < 3 or args.repeat < 1:
        raise SystemExit(f"--queries must be at least 3 (first, middle and last word) and --repeat at least 1, "
                         f"got {args.queries} and {args.repeat}")
    words = [w for w in words_path.read_bytes().decode("utf-8").split("\r\n") if w.strip()]
    if len(words) < 3:
        raise SystemExit(f"{words_path} holds {len(words)} CRLF-separated words; the bench needs at least 3")
    positions = sorted({round(i * (len(words) - 1) / (args.queries - 1)) for i in range(args.queries)})

    with tempfile.TemporaryDirectory(prefix="ragjet-bench-index-") as tmp:
        os.symlink(words_path.resolve(), Path(tmp) / "words.txt")  # Document wants a folder; never copy the data
        start = time.perf_counter()
        docs, retrievers = _lecture_setup(tmp)
        docs.start()
        build_s = time.perf_counter() - start

    per_word = {name: [_time_word(docs.store.get_index(name), retrievers[name], words[pos], pos, len(words),
                                  args.repeat, FAST_BLOCK if name == "trie_tree" else 1)
                       for pos in positions]
                for name in INDEXES}
    rows = [_bucket_row(name, bucket, [r for r in per_word[name] if r["bucket"] == bucket])
            for name in INDEXES for bucket in BUCKETS if any(r["bucket"] == bucket for r in per_word[name])]

    last = words[positions[-1]]
    speedup = per_word["linear_search"][-1]["raw_s"] / per_word["trie_tree"][-1]["raw_s"]
    trie = per_word["trie_tree"]
    overhead_us = (statistics.median(r["retriever_s"] for r in trie)
                   - statistics.median(r["raw_s"] for r in trie)) * 1e6
    notes = [
        f"build (Document start: read, split into {len(words):,} words, both indexes filled): {build_s:.2f} s",
        target_note(f"trie vs linear, raw query of the late word {last!r}", f"{speedup:,.0f}× faster",
                    f"≥ {MIN_SPEEDUP:.0f}×", speedup >= MIN_SPEEDUP),
        target_note("Retriever overhead on the trie, median(retriever) − median(raw)", f"{overhead_us:.1f} µs",
                    f"≤ {MAX_OVERHEAD_US:.0f} µs", overhead_us <= MAX_OVERHEAD_US),
    ]
    wrong = [f"{name}:{r['word']}" for name in INDEXES for r in per_word[name] if not r["correct"]]
    if wrong:
        notes.append(f"wrong answers for: {', '.join(wrong)}")
    return Report(
        title=f"index: lecture trie vs linear search over {len(words):,} words ({len(positions)} query words)",
        columns=["index", "position", "words", "raw_us", "retriever_us", "overhead_us", "correct"],
        rows=rows, notes=notes, plot_columns=["raw_us", "retriever_us"], plot_label=["index", "position"],
        ok=not wrong,
        meta={"words_file": str(words_path.resolve()), "word_count": len(words), "build_s": build_s,
              "late_word": last, "trie_speedup_late": speedup, "retriever_overhead_us": overhead_us,
              "per_word": {name: [{k: v for k, v in r.items() if k != "bucket"} for r in per_word[name]]
                           for name in INDEXES}})


def _lecture_setup(folder: str) -> tuple[Document, dict[str, Retriever]]:
    """The lecture's code, verbatim but for the names."""
    docs = Document(dataset_path=folder)
    docs.create_node_group(name=GROUP, transform=(lambda d: d.split('\r\n')))
    docs.register_index("trie_tree", TrieTreeIndex, docs.get_store())
    docs.register_index("linear_search", LinearSearchIndex)
    retrievers = {name: Retriever(docs, group_name=GROUP, index=name, topk=1) for name in INDEXES}
    return docs, retrievers


def _time_word(index: Any, retriever: Retriever, word: str, pos: int, total: int, rounds: int,
               block: int) -> dict[str, Any]:
    """Median latency of one word's query, raw and through the Retriever, and whether both found the word.

    The two are sampled in alternating blocks, so load drifting on a noisy machine hits both alike."""
    raw, through = partial(index.query, word, group_name=GROUP), partial(retriever, word)
    raw_samples: list[float] = []
    ret_samples: list[float] = []
    for i in range(rounds):
        raw_samples += timeit_median(raw, block, warmup=int(i == 0))[1]
        ret_samples += timeit_median(through, block, warmup=int(i == 0))[1]
    correct = all(bool(res) and all(n.text == word for n in res) for res in (raw(), through()))
    return {"word": word, "position": pos, "bucket": BUCKETS[min(len(BUCKETS) - 1, 3 * pos // total)],
            "raw_s": statistics.median(raw_samples), "retriever_s": statistics.median(ret_samples),
            "correct": correct}


def _bucket_row(index: str, bucket: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    raw = statistics.median(r["raw_s"] for r in results)
    ret = statistics.median(r["retriever_s"] for r in results)
    return {"index": index, "position": bucket, "words": len(results), "raw_us": raw * 1e6,
            "retriever_us": ret * 1e6, "overhead_us": (ret - raw) * 1e6,
            "correct": all(r["correct"] for r in results)}
