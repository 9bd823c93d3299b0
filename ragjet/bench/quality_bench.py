"""``ragjet bench quality``: does retrieval find the paragraph that holds the answer, and can the LLM answer?

Reads SQuAD-format or CMRC-2018-format JSON (``data → paragraphs → context, qas → question, answers``),
writes one text file per paragraph under ragjet's home (made once per content), indexes each file as one node
of a ``paragraph`` group (the unit is the whole paragraph; ingestion does not embed the root group itself)
and ranks the paragraphs for every question with:

* ``dense``: cosine over the embeddings of the model ragjet picks for the data's language (``--embed``:
  all-MiniLM-L6-v2 for English, the multilingual Universal Sentence Encoder for Chinese);
* ``bm25``: lexical, ``bm25_chinese`` (jieba words) when most characters are CJK;
* ``hybrid``: reciprocal rank fusion of the two (``Retriever(similarity=['cosine', lexical])``; a dense route
  whose model cannot read the question is left out, `Embedder.reads`), and
  ``hybrid_weighted``, the same routes fused by min-max normalised scores;
* ``dense+rerank``: dense top-20, reordered by the embedder's rerank module (`EmbeddingRerank`);
* ``lecture``: the lecture's two dense routes (MediumChunk, and a ``sentence`` group mapped to MediumChunk, 6
  each) summed by ``parallel().sum`` and reranked, the paragraphs in the order of their best chunk.

It reports recall@1/@5/@10 of the answer's paragraph and MRR@10, and ``either@5``: the share of questions
that dense or bm25 alone finds in its top 5, a rough ceiling of what fusing the two can reach at 5. Then the
chat model answers ``--answers N`` sampled questions (`quality_answers`): from the paragraphs retrieved by the
route the chat uses for the language (hybrid for English, bm25_chinese for Chinese), from the question's own
paragraph, and SmolLM2 from the retrieved ones; exact match, F1, loop rate, seconds per answer. Table, JSON,
PNG.

The model is wrapped in a memo (`MemoEmbedding`): each distinct text is embedded once per run, so the routes
share a question's vector and the rerank module does not re-embed the same 20 paragraphs for every question
(the vectors are the model's; only repeated work is skipped).
"""
from __future__ import annotations

import argparse
import hashlib
import random
import threading
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..home import ragjet_home
from ..models.embed.use_embedding import USE_MODEL_ID
from ..rag.doc_node import DocNode
from ..rag.language import AUTO, EMBED_FOR
from .corpus import (DEFAULT_SOURCES, SENTENCE_END, SHARED_DATA, Dataset, Question, load_dataset,
                     paragraph_folder)
from .quality_answers import ANSWER_CONTEXT, answer_notes, answer_rows, answer_setups, load_answer_model
from .report import Report, target_note

GROUP = "paragraph"
KS = (1, 5, 10)
RERANK_CANDIDATES = 20
MIN_HYBRID_GAIN = 0.03
LECTURE_TOPK = 6  # each of the lecture's two routes (MediumChunk; sentence mapped to MediumChunk)
ANSWER_ROUTE = {"en": "hybrid", "zh": "bm25"}  # the route the chat's retrieval is closest to, per language

Ranker = Callable[[str], list[DocNode]]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, action="append", default=None, metavar="FILE",
                        help="SQuAD- or CMRC-format JSON, repeatable (default: the SQuAD and CMRC files in "
                             f"{SHARED_DATA})")
    parser.add_argument("--paragraphs", type=int, default=None,
                        help="use only the first N paragraphs of each file and their questions")
    parser.add_argument("--questions", type=int, default=None, help="sample at most N questions per file")
    parser.add_argument("--answers", type=int, default=40,
                        help="questions per file the chat model answers (exact match / F1; default: %(default)s, "
                             "0: retrieval only)")
    parser.add_argument("--llm", default=None, help="chat model that answers (default: ragjet's default chat model)")
    parser.add_argument("--baseline-llm", default="SmolLM2-135M-Instruct",
                        help="a second model answering from the same paragraphs, for comparison ('none': skip)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the samples (default: %(default)s)")
    parser.add_argument("--embed", default=AUTO,
                        help="embedding model of the dense routes; 'auto' (default): the one ragjet picks for the "
                             "data's language, as ragjet ask does (all-MiniLM-L6-v2 for English, "
                             f"{USE_MODEL_ID} for Chinese)")


def run(args: argparse.Namespace) -> Report:
    files = args.data or [SHARED_DATA / name for name in DEFAULT_SOURCES]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise SystemExit(f"quality data not found: {', '.join(missing)}; pass --data FILE (SQuAD or CMRC JSON)")
    for name in ("paragraphs", "questions"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be positive, got {getattr(args, name)}")
    if args.answers < 0:
        raise SystemExit(f"--answers must not be negative, got {args.answers}")
    from ..models import TrainableModule
    from ..models.catalogue import default_chat_model

    loaded: dict[str, tuple[MemoEmbedding, Any]] = {}

    def models_for(language: str) -> tuple[str, MemoEmbedding, Any]:
        name = args.embed if args.embed != AUTO else EMBED_FOR[language]
        if name not in loaded:
            embed = MemoEmbedding(TrainableModule(name))
            loaded[name] = (embed, TrainableModule(name, type="rerank", embed=embed))
        return (name, *loaded[name])

    model = args.llm or default_chat_model()
    baseline = None if (args.baseline_llm or "none").lower() == "none" else args.baseline_llm
    setups = answer_setups(model, baseline) if args.answers else []
    models = {s.model: load_answer_model(s.model) for s in setups}
    rows: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    notes = [f"unit: the paragraph (one node per file); recall@k: share of questions whose answer's paragraph "
             f"is in the top k; mrr: mean 1/rank within the top {max(KS)}; either@5: dense or bm25 finds it in its "
             f"top 5; dense+rerank: dense top-{RERANK_CANDIDATES} reordered by the rerank module"]
    for path in files:
        data = load_dataset(Path(path), args.paragraphs)
        sample = _sample(data.questions, args.questions, args.seed)
        embed_name, embed, rerank = models_for(data.language)
        routes = rankers(data, embed, rerank)
        data_rows = [{**row, "embed": embed_name} for row in evaluate(data, sample, routes)]
        rows += data_rows
        notes.append(_hybrid_note(data, data_rows))
        if setups:
            answers += answer_rows(data, _sample(sample, args.answers, args.seed + 1),
                                   routes[ANSWER_ROUTE[data.language]], setups, models)
    if setups:
        notes.append(f"answers: the RAG chat's prompt (short style) and decoding; retrieved = the top "
                     f"{ANSWER_CONTEXT} paragraphs of the hybrid route (English) or bm25_chinese (Chinese), gold = "
                     f"the question's own paragraph; SQuAD normalisation, character F1 for Chinese")
        notes += answer_notes(answers, model)
    columns = ["data", "lang", "embed", "route", "questions", "recall_at_1", "recall_at_5", "recall_at_10", "mrr",
               "either_at_5", "em", "f1", "loop_rate", "s_per_answer"]
    return Report(
        title="quality: finding the answer's paragraph (dense, bm25, hybrid, rerank) and answering",
        columns=columns, rows=[{c: row.get(c) for c in columns} for row in rows + answers], notes=notes,
        plot_columns=["recall_at_1", "recall_at_5", "recall_at_10", "mrr", "em", "f1"],
        plot_label=["data", "route"],
        meta={"files": [str(f) for f in files], "embed": args.embed, "seed": args.seed, "llm": model,
              "baseline_llm": baseline, "paragraphs": args.paragraphs, "questions": args.questions,
              "answers": args.answers})


class MemoEmbedding:
    """An embed model that computes each distinct text once (other attributes are the model's)."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            todo = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if todo:
            fresh = np.asarray(self._model.embed_batch(todo), dtype=np.float32)
            with self._lock:
                self._vectors.update(zip(todo, fresh))
        with self._lock:
            return np.stack([self._vectors[t] for t in texts])

    def __call__(self, text: str) -> list[float]:
        return self.embed_batch([text])[0].tolist()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


# -- data ---------------------------------------------------------------------------------------------------
def corpus_folder(data: Dataset) -> Path:
    """One ``pNNNNN.txt`` file per paragraph under ragjet's home, written once per content."""
    digest = hashlib.blake2b("\0".join(data.paragraphs).encode(), digest_size=8).hexdigest()
    return paragraph_folder(ragjet_home() / "bench-quality" / f"{data.name}-{digest}",
                            ((f"p{i:05}.txt", text) for i, text in enumerate(data.paragraphs)))


def whole_paragraph(text: str) -> list[str]:
    """The node-group transform keeping a file's text as one node."""
    return [text]


def _sample(items: list[Any], limit: Optional[int], seed: int) -> list[Any]:
    if limit is None or limit >= len(items):
        return list(items)
    return sorted(random.Random(seed).sample(items, limit), key=items.index)


# -- retrieval ----------------------------------------------------------------------------------------------
def rankers(data: Dataset, embed: Any, rerank: Any) -> dict[str, Ranker]:
    """The routes compared, each ``question -> paragraphs best first``, over one Document of ``data``."""
    from ..flow import bind, parallel, pipeline
    from ..rag import Document, Reranker, Retriever

    doc = Document(corpus_folder(data), embed=embed).create_node_group(GROUP, transform=whole_paragraph)
    end = SENTENCE_END[data.language]
    doc.create_node_group("sentence", parent="MediumChunk", transform=lambda text: text.split(end))
    lexical, depth = data.lexical, max(KS)
    with pipeline() as reranked:
        reranked.candidates = Retriever(doc, GROUP, similarity="cosine", topk=RERANK_CANDIDATES)
        reranked.rerank = Reranker("ModuleReranker", model=rerank, topk=depth) | bind(query=reranked.input)
    with pipeline() as lecture:  # the lecture's multi-route flow, its paragraphs in the order of their best chunk
        with parallel().sum as lecture.routes:
            lecture.routes.r1 = Retriever(doc, "MediumChunk", similarity="cosine", topk=LECTURE_TOPK)
            lecture.routes.r2 = Retriever(doc, "sentence", similarity="cosine", target="MediumChunk",
                                          topk=LECTURE_TOPK)
        lecture.rerank = Reranker("ModuleReranker", model=rerank, topk=2 * LECTURE_TOPK) | bind(query=lecture.input)
        lecture.files = first_per_file
    return {
        "dense": Retriever(doc, GROUP, similarity="cosine", topk=depth),
        "bm25": Retriever(doc, GROUP, similarity=lexical, topk=depth),
        "hybrid": Retriever(doc, GROUP, similarity=["cosine", lexical], fusion="rrf", topk=depth),
        "hybrid_weighted": Retriever(doc, GROUP, similarity=["cosine", lexical], fusion="weighted",
                                     topk=depth),
        "dense+rerank": reranked,
        "lecture": lecture,
    }


def evaluate(data: Dataset, questions: list[Question], routes: dict[str, Ranker]) -> list[dict[str, Any]]:
    """One row per route: recall@k and MRR of the answer's paragraph over ``questions``."""
    ranks: dict[str, list[Optional[int]]] = {name: [] for name in routes}
    for q in questions:
        for name, route in routes.items():
            ranks[name].append(rank_of(route(q.text), q.paragraph))
    either = [_hit(d, 5) or _hit(b, 5) for d, b in zip(ranks["dense"], ranks["bm25"])]
    rows = []
    for name, found in ranks.items():
        n = len(found)
        row: dict[str, Any] = {"data": data.name, "lang": data.language, "route": name, "questions": n,
                               "mrr": sum(1 / r for r in found if r is not None) / n if n else 0.0,
                               "either_at_5": sum(either) / n if n and name == "hybrid" else None}
        row.update({f"recall_at_{k}": sum(_hit(r, k) for r in found) / n if n else 0.0 for k in KS})
        rows.append(row)
    return rows


def first_per_file(nodes: list[DocNode]) -> list[DocNode]:
    """The first node of each file, in order: chunks ranked into the paragraphs (files) they come from."""
    seen: set[Optional[str]] = set()
    return [n for n in nodes if not (n.docpath in seen or seen.add(n.docpath))]


def rank_of(nodes: list[DocNode], paragraph: int) -> Optional[int]:
    """1-based rank of paragraph ``paragraph`` (its file ``pNNNNN.txt``) among ``nodes``, None if absent."""
    for rank, node in enumerate(nodes, 1):
        if node.docpath and Path(node.docpath).stem == f"p{paragraph:05}":
            return rank
    return None


def _hit(rank: Optional[int], k: int) -> bool:
    return rank is not None and rank <= k


def _hybrid_note(data: Dataset, rows: list[dict[str, Any]]) -> str:
    by_route = {r["route"]: r for r in rows}
    best = max(("dense", "bm25"), key=lambda name: by_route[name]["recall_at_5"])
    best_r5, hybrid_r5 = by_route[best]["recall_at_5"], by_route["hybrid"]["recall_at_5"]
    gain, either = hybrid_r5 - best_r5, by_route["hybrid"]["either_at_5"]
    return target_note(f"{data.name}: hybrid recall@5 over the best single route ({best} {best_r5:.3f})",
                       f"{gain * 100:+.1f} points (hybrid {hybrid_r5:.3f}; either@5 {either:.3f}, "
                       f"headroom {(1 - best_r5) * 100:.1f} points)",
                       f"≥ +{MIN_HYBRID_GAIN * 100:.0f} points", gain >= MIN_HYBRID_GAIN - 1e-9)
