"""``ragjet bench embed``: chunks/s of the local embedder called raw against the same chunks through a Document.

N small files, each one chunk long, go into a temp folder; ``Retriever(doc, 'MediumChunk', similarity='cosine')
.start()`` then reads, splits, embeds and indexes them. The baseline, timed in the same run with the same warm
model, is ``model.embed_batch`` over exactly the texts the Document embedded, so the ratio is what the
Document costs on top of the model. With ``--int8`` the quantised model's raw throughput and its worst cosine
against fp32 are reported too.
"""
from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..models import TrainableModule
from ..rag import Document, Retriever
from ..rag.doc_node import MetadataMode
from .report import Report, target_note

MODEL = "all-MiniLM-L6-v2"
GROUP = "MediumChunk"
SAMPLE_DIR = Path(__file__).resolve().parent.parent / "data" / "sample"
MAX_CHUNK_CHARS = 300  # well under MediumChunk's 256 tokens, so each file stays one chunk
MIN_RATIO = 0.90
MIN_SAME_COSINE = 0.999
FALLBACK_TEXT = (
    "Retrieval-augmented generation answers a question from documents found at query time. "
    "A document is split into chunks, and every chunk is embedded as a vector. "
    "The retriever ranks chunks by cosine similarity between the query vector and each chunk vector. "
    "A trie answers exact word lookups in time proportional to the word's length. "
    "A linear scan compares the query with every stored node until it finds a match. "
    "Quantising a model's weights to eight bits makes it smaller and often faster on a CPU. "
    "Sorting texts by length before batching keeps the padding in each batch small. "
    "An index is kept in sync with its store through hooks called on every update and removal. "
    "BM25 scores a chunk by how often the query's terms occur in it, discounted by the chunk's length. "
    "The embedding model is loaded once and then reused for every batch of chunks."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--chunks", type=int, default=500, help="chunks to embed (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs of each path, interleaved; medians are reported (default: %(default)s)")
    parser.add_argument("--int8", action="store_true", help="also measure the int8-quantised model")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the chunk texts (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    if args.chunks < 1 or args.repeat < 1:
        raise SystemExit(f"--chunks and --repeat must be positive, got {args.chunks} and {args.repeat}")
    model = TrainableModule(MODEL)
    model.embed_batch(["warm up the model"])
    texts = make_chunks(args.chunks, args.seed)
    with tempfile.TemporaryDirectory(prefix="ragjet-bench-embed-") as tmp:
        for i, text in enumerate(texts):
            (Path(tmp) / f"chunk{i:06d}.txt").write_text(text, encoding="utf-8")
        doc_times, raw_times = [], []
        for _ in range(args.repeat):
            doc_s, embedded, doc_vecs = _through_document(tmp, model)
            doc_times.append(doc_s)
            start = time.perf_counter()
            raw_vecs = model.embed_batch(embedded)
            raw_times.append(time.perf_counter() - start)

    n = len(embedded)
    raw_s, doc_s = statistics.median(raw_times), statistics.median(doc_times)
    same = min_cosine(doc_vecs, raw_vecs)
    rows = [_row("raw embed_batch (fp32)", n, raw_s, raw_s, None),
            _row("Document + Retriever.start (fp32)", n, doc_s, raw_s, same)]
    ratio = raw_s / doc_s
    notes = [f"{n:,} chunks from {args.chunks:,} files; medians of {args.repeat} interleaved runs; "
             "min_cosine: Document's stored vectors vs raw (same texts), or int8 vs fp32",
             target_note("Document throughput / raw throughput", f"{ratio:.2f}", f"≥ {MIN_RATIO:.2f}",
                         ratio >= MIN_RATIO)]
    if args.int8:
        int8 = TrainableModule(MODEL, quantize="int8")
        int8.embed_batch(["warm up (and quantise once)"])
        int8_times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            int8_vecs = int8.embed_batch(embedded)
            int8_times.append(time.perf_counter() - start)
        rows.append(_row("raw embed_batch (int8)", n, statistics.median(int8_times), raw_s,
                         min_cosine(int8_vecs, raw_vecs)))
    ok = same >= MIN_SAME_COSINE
    if not ok:
        notes.append(f"the Document stored vectors that differ from the model's own (min cosine {same:.4f})")
    return Report(
        title=f"embed: {MODEL} raw vs through a Document ({n:,} chunks)",
        columns=["path", "chunks", "time_s", "chunks_per_sec", "vs_raw", "min_cosine"],
        rows=rows, notes=notes, plot_columns=["chunks_per_sec"], plot_label="path", ok=ok,
        meta={"model": MODEL, "backend": model.backend, "batch_size": model.batch_size, "repeat": args.repeat,
              "raw_times_s": raw_times, "document_times_s": doc_times})


def make_chunks(count: int, seed: int) -> list[str]:
    """``count`` distinct chunk texts of a few sentences each, drawn from the sample corpus (or a built-in
    paragraph when the sample folder holds no text)."""
    sentences = _sample_sentences() or _split_sentences(FALLBACK_TEXT)
    rng = np.random.default_rng(seed)
    chunks = []
    for i in range(count):
        text = f"Note {i}."
        for j in rng.permutation(len(sentences)):
            if len(text) + 1 + len(sentences[j]) > MAX_CHUNK_CHARS:
                break
            text += " " + sentences[j]
        chunks.append(text)
    return chunks


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """The smallest row-wise cosine between two equally shaped matrices."""
    dots = np.einsum("ij,ij->i", a, b)
    return float(np.min(dots / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))))


def _through_document(folder: str, model: Any) -> tuple[float, list[str], np.ndarray]:
    """Time ``Retriever.start()`` on a fresh Document; return the time, the embedded texts and their vectors
    (in the same order)."""
    doc = Document(folder, embed=model, cache=False)  # time the model, not the cache
    retriever = Retriever(doc, GROUP, similarity="cosine")
    start = time.perf_counter()
    retriever.start()
    elapsed = time.perf_counter() - start
    nodes = doc.store.get_nodes(GROUP)
    return (elapsed, [n.get_text(MetadataMode.EMBED) for n in nodes],
            np.stack([np.asarray(n.embedding["default"], dtype=np.float32) for n in nodes]))


def _row(path: str, n: int, seconds: float, raw_s: float, cosine: float | None) -> dict[str, Any]:
    return {"path": path, "chunks": n, "time_s": seconds, "chunks_per_sec": n / seconds,
            "vs_raw": raw_s / seconds, "min_cosine": cosine}


def _sample_sentences() -> list[str]:
    texts = [p.read_text(encoding="utf-8", errors="replace")
             for p in sorted(SAMPLE_DIR.glob("*")) if p.suffix in (".txt", ".md")]
    return [s for t in texts for s in _split_sentences(t) if len(s) < MAX_CHUNK_CHARS // 2]


def _split_sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.!?。！？])\s*", text) if len(s.strip()) > 20]
