"""``ragjet bench answers``: what ``ragjet ask`` prints, scored: right answers, honest refusals, grounding.

For each data set (SQuAD- or CMRC-format JSON; default: the shared SQuAD and CMRC samples) the chat that
``ragjet ask`` runs (`RagChat` on a folder of the set's paragraphs, one file each, every default: the embedder
and BM25 for the language, the two routes and the reranker, the chat's prompt, decoding and loop guard)
answers ``--answers`` sampled questions, each alone. An answer is *right* when it holds a gold answer
(`holds_answer`: SQuAD normalisation, the gold's words together; Chinese: its characters in order); token or
character F1 is beside it, and *abstained* when it says the documents do not hold the answer
(`says_not_found`), which on these questions is wrong. In the same run the same model, prompt and decoding
answer from the question's own paragraph alone: the *gold* ceiling.

Then *abstention*: ``--unanswerable`` questions of the set are asked of a corpus that cannot answer them
(ragjet's sample corpus of the same language: English or Chinese documents about RAG); saying the documents do
not hold the answer is right there. Every answer is also checked for grounding (`ungrounded_terms`), as the
chat page flags it, and for loops. Table, JSON (per-question answers included), PNG.
"""
from __future__ import annotations

import argparse
import random
import time
from pathlib import Path
from typing import Any

from ..data import sample_corpus
from ..flow.source_view import source_score
from ..flow.sources import shown_texts
from ..log import LOG
from ..models.loop_guard import repeats
from ..text.abstention import says_not_found
from ..text.grounding import ungrounded_terms
from .answer_scores import f1_score, holds_answer
from .corpus import DEFAULT_SOURCES, SHARED_DATA, Dataset, Question, load_dataset
from .report import Report, target_note

MIN_CORRECT = {"en": 0.70, "zh": 0.60}
MIN_SHARE_OF_GOLD = 0.85  # English: correct through the chat at least this share of the gold ceiling
MIN_ABSTAIN = 0.8  # unanswerable questions answered "the documents do not hold it"
MAX_WRONG_ABSTAIN = 0.05  # answerable questions answered so


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, action="append", default=None, metavar="FILE",
                        help="SQuAD- or CMRC-format JSON, repeatable (default: the SQuAD and CMRC files in "
                             f"{SHARED_DATA})")
    parser.add_argument("--answers", type=int, default=30, help="answerable questions per file (default: 30)")
    parser.add_argument("--unanswerable", type=int, default=15,
                        help="questions per file asked of a corpus without their answer (default: 15)")
    parser.add_argument("--llm", default=None, help="chat model (default: ragjet's default chat model)")
    parser.add_argument("--seed", type=int, default=0, help="random seed for the samples (default: %(default)s)")


def run(args: argparse.Namespace) -> Report:
    from ..chat.rag_chat import RagChat
    from ..models.catalogue import default_chat_model
    from .quality_bench import corpus_folder

    files = args.data or [SHARED_DATA / name for name in DEFAULT_SOURCES]
    missing = [str(f) for f in files if not Path(f).is_file()]
    if missing:
        raise SystemExit(f"answer data not found: {', '.join(missing)}; pass --data FILE (SQuAD or CMRC JSON)")
    if args.answers < 1 or args.unanswerable < 0:
        raise SystemExit("--answers must be positive and --unanswerable not negative")
    model = args.llm or default_chat_model()
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    for path in files:
        data = load_dataset(Path(path))
        rng = random.Random(args.seed)
        asked = rng.sample(data.questions, min(args.answers, len(data.questions)))
        chat = RagChat(corpus_folder(data), llm=model).start()
        answered = [_ask(chat, q.text) for q in asked]
        gold = [_ask_gold(chat, data, q) for q in asked]
        rows.append(_row(data, "chat", asked, answered))
        rows.append(_row(data, "gold paragraph", asked, gold))
        details += [{"data": data.name, "setup": setup, "question": q.text, "gold": list(q.answers), **a}
                    for setup, answers in (("chat", answered), ("gold paragraph", gold))
                    for q, a in zip(asked, answers)]
        if args.unanswerable:
            others = [q for q in data.questions if q not in asked]
            elsewhere = rng.sample(others, min(args.unanswerable, len(others)))
            away = RagChat(sample_corpus(data.language), llm=model).start()
            refused = [_ask(away, q.text) for q in elsewhere]
            rows.append(_row(data, f"unanswerable (asked of sample-{data.language})", elsewhere, refused))
            details += [{"data": data.name, "setup": "unanswerable", "question": q.text, **a}
                        for q, a in zip(elsewhere, refused)]
    return Report(title=f"answers: what `ragjet ask` prints ({model}), right, refused and grounded",
                  columns=["data", "lang", "setup", "questions", "right", "f1", "abstained", "ungrounded",
                           "loop_rate", "s_per_answer"],
                  rows=rows, notes=_notes(rows), plot_columns=["right", "f1", "abstained", "ungrounded"],
                  plot_label=["data", "setup"],
                  meta={"files": [str(f) for f in files], "llm": model, "seed": args.seed, "answers": details})


def _ask(chat: Any, question: str) -> dict[str, Any]:
    """The chat's answer to ``question`` as ``ragjet ask`` prints it, timed, with what it was drawn from."""
    from ..flow.sources import collect_sources

    start = time.perf_counter()
    with collect_sources() as sources:
        text = "".join(chat(question))
    nodes = sources.nodes
    return {"answer": text, "seconds": time.perf_counter() - start,
            "top_score": source_score(nodes[0]) if nodes else None,
            "ungrounded": ungrounded_terms(text, shown_texts(nodes), question)}


def _ask_gold(chat: Any, data: Dataset, q: Question) -> dict[str, Any]:
    """The same model, prompt and decoding reading only the question's own paragraph."""
    from ..chat.prompt import numbered_context
    from ..flow.sources import collect_sources
    from .quality_answers import gold_node

    start = time.perf_counter()
    node = gold_node(data, q.paragraph)
    with collect_sources():
        text = "".join(chat.llm(numbered_context([node], q.text)))
    return {"answer": text, "seconds": time.perf_counter() - start,
            "ungrounded": ungrounded_terms(text, shown_texts([node]), q.text)}


def _row(data: Dataset, setup: str, questions: list[Question], answers: list[dict[str, Any]]) -> dict[str, Any]:
    n = max(len(questions), 1)
    lang = data.language
    for q, a in zip(questions, answers):
        a["correct"] = any(holds_answer(a["answer"], g, lang) for g in q.answers)
        a["f1"] = max(f1_score(a["answer"], g, lang) for g in q.answers)
        a["abstained"] = says_not_found(a["answer"])
    row = {"data": data.name, "lang": lang, "setup": setup, "questions": len(questions),
           "right": sum(a["correct"] for a in answers) / n, "f1": sum(a["f1"] for a in answers) / n,
           "abstained": sum(a["abstained"] for a in answers) / n,
           "ungrounded": sum(bool(a["ungrounded"]) for a in answers) / n,
           "loop_rate": sum(repeats(a["answer"]) for a in answers) / n,
           "s_per_answer": sum(a["seconds"] for a in answers) / n}
    LOG.info("%s, %s: %.0f%% right, %.0f%% abstained over %d", data.name, setup, 100 * row["right"],
             100 * row["abstained"], len(questions))
    return row


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    notes = ["right: share of answers holding a gold answer (SQuAD normalisation; Chinese: its characters in order); "
             "abstained: it says the documents do not hold the answer; ungrounded: its key words appear in no "
             "passage it was given (the chat page's flag); gold paragraph: the same model, prompt and decoding "
             "reading only the question's own paragraph"]
    by = {(r["data"], r["setup"]): r for r in rows}
    for row in rows:
        data, lang = row["data"], row["lang"]
        if row["setup"] == "chat":
            notes.append(target_note(f"{data}: answers right through the chat", f"{row['right']:.2f}",
                                     f"≥ {MIN_CORRECT[lang]:.2f}", row["right"] >= MIN_CORRECT[lang]))
            notes.append(target_note(f"{data}: answerable questions answered 'not in the documents'",
                                     f"{row['abstained']:.2f}", f"≤ {MAX_WRONG_ABSTAIN}",
                                     row["abstained"] <= MAX_WRONG_ABSTAIN))
            gold = by.get((data, "gold paragraph"))
            if lang == "en" and gold and gold["right"]:
                share = row["right"] / gold["right"]
                notes.append(target_note(f"{data}: right through the chat / from the gold paragraph",
                                         f"{share:.2f}", f"≥ {MIN_SHARE_OF_GOLD}", share >= MIN_SHARE_OF_GOLD))
        elif row["setup"].startswith("unanswerable"):
            notes.append(target_note(f"{data}: unanswerable questions answered 'not in the documents'",
                                     f"{row['abstained']:.2f}", f"≥ {MIN_ABSTAIN}", row["abstained"] >= MIN_ABSTAIN))
    looping = [f"{r['data']} {r['setup']} {r['loop_rate']:.0%}" for r in rows if r["loop_rate"]]
    notes.append(target_note("answers that loop", ", ".join(looping) or "none", "none", not looping))
    return notes
