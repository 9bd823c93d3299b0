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
not hold the answer is right there. Every answer is also checked as the chat page checks it
(`SourceCollector.check_grounding`: *flagged* when key words appear in no passage or no sentence of them shares
its words), and for loops; and the sentence quoted under it as its evidence (`evidence_sentence`) is
scored apart from it (*evidence*: that sentence holds a gold answer), as the reader sees it beside the answer
(*right* counts the answer's own words only).

``--held-out [FILE]`` asks a set of questions written for a folder of documents instead: by default ragjet's own
over lecture 12's documents (``bench/sets/lecture12.json``: Chinese PDFs, a Word file and a long text file,
questions written from the documents before any answer was seen and never tuned on), each answerable one
scored as above, each the documents cannot answer right when the chat says so. Table, JSON (per-question
answers included), PNG.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path
from typing import Any, Optional

from ..data import sample_corpus
from ..flow.source_view import source_score
from ..log import LOG
from ..models.loop_guard import repeats
from ..text.abstention import says_not_found
from .answer_scores import f1_score, holds_answer
from ..text.lang import language_of
from .corpus import DEFAULT_SOURCES, SHARED_DATA, Dataset, Question, load_dataset
from .report import Report, target_note

MIN_CORRECT = {"en": 0.70, "zh": 0.60}
MIN_SHARE_OF_GOLD = 0.85  # English: correct through the chat at least this share of the gold ceiling
HELD_OUT = Path(__file__).with_name("sets") / "lecture12.json"  # ragjet's own questions, never tuned on
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
    parser.add_argument("--held-out", type=Path, nargs="?", const=HELD_OUT, default=None, metavar="FILE",
                        help="instead, ask a held-out set's questions of its documents (default set: ragjet's own "
                             "over lecture 12's documents, bench/sets/lecture12.json)")
    parser.add_argument("--docs", type=Path, default=None,
                        help="the held-out set's documents (default: the folder the set names)")


def run(args: argparse.Namespace) -> Report:
    from ..models.catalogue import default_chat_model

    if args.answers < 1 or args.unanswerable < 0:
        raise SystemExit("--answers must be positive and --unanswerable not negative")
    model = args.llm or default_chat_model()
    if args.held_out:
        files = [args.held_out]
        rows, details = _held_out(args.held_out, args.docs, model)
    else:
        files = args.data or [SHARED_DATA / name for name in DEFAULT_SOURCES]
        missing = [str(f) for f in files if not Path(f).is_file()]
        if missing:
            raise SystemExit(f"answer data not found: {', '.join(missing)}; pass --data FILE (SQuAD or CMRC JSON)")
        rows, details = _data_sets(files, args, model)
    return Report(title=f"answers: what `ragjet ask` prints ({model}), right, refused and grounded",
                  columns=["data", "lang", "setup", "questions", "right", "f1", "abstained", "flagged",
                           "evidence", "loop_rate", "s_per_answer"],
                  rows=rows, notes=_notes(rows), plot_columns=["right", "evidence", "f1", "abstained", "flagged"],
                  plot_label=["data", "setup"],
                  meta={"files": [str(f) for f in files], "llm": model, "seed": args.seed, "answers": details})


def _data_sets(files: list[Path], args: argparse.Namespace,
               model: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each data set's sampled questions through the chat over its paragraphs and from their gold paragraphs, then
    other questions of it asked of the sample corpus of its language."""
    from ..chat.rag_chat import RagChat
    from .quality_bench import corpus_folder

    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    for path in files:
        data = load_dataset(Path(path))
        rng = random.Random(args.seed)
        asked = rng.sample(data.questions, min(args.answers, len(data.questions)))
        chat = RagChat(corpus_folder(data), llm=model).start()
        answered = [_ask(chat, q.text) for q in asked]
        gold = [_ask_gold(chat, data, q) for q in asked]
        rows.append(_row(data.name, data.language, "chat", asked, answered))
        rows.append(_row(data.name, data.language, "gold paragraph", asked, gold))
        details += [{"data": data.name, "setup": setup, "question": q.text, "gold": list(q.answers), **a}
                    for setup, answers in (("chat", answered), ("gold paragraph", gold))
                    for q, a in zip(asked, answers)]
        if args.unanswerable:
            others = [q for q in data.questions if q not in asked]
            elsewhere = rng.sample(others, min(args.unanswerable, len(others)))
            away = RagChat(sample_corpus(data.language), llm=model).start()
            refused = [_ask(away, q.text) for q in elsewhere]
            rows.append(_row(data.name, data.language, f"unanswerable (asked of sample-{data.language})",
                             elsewhere, refused))
            details += [{"data": data.name, "setup": "unanswerable", "question": q.text, **a}
                        for q, a in zip(elsewhere, refused)]
    return rows, details


def _ask(chat: Any, question: str) -> dict[str, Any]:
    """The chat's answer to ``question`` as ``ragjet ask`` prints it, timed, with what it was drawn from."""
    from ..flow.sources import collect_sources

    start = time.perf_counter()
    with collect_sources() as sources:
        text = "".join(chat(question))
    nodes = sources.nodes
    return {**_checked(text, sources, start), "top_score": source_score(nodes[0]) if nodes else None}


def _ask_gold(chat: Any, data: Dataset, q: Question) -> dict[str, Any]:
    """The same model, prompt and decoding reading only the question's own paragraph."""
    from ..chat.prompt import numbered_context
    from ..flow.sources import collect_sources
    from .quality_answers import gold_node

    start = time.perf_counter()
    node = gold_node(data, q.paragraph)
    with collect_sources() as sources:
        text = "".join(chat.llm(numbered_context([node], q.text)))
    return _checked(text, sources, start)


def _checked(text: str, sources: Any, start: float) -> dict[str, Any]:
    """An answer with its time and what the chat page shows beside it (`SourceCollector.check_grounding`)."""
    grounding = sources.check_grounding(text)
    return {"answer": text, "seconds": time.perf_counter() - start, "ungrounded": grounding.ungrounded,
            "unsupported": grounding.unsupported, "flagged": grounding.flagged,
            "evidence": grounding.evidence.text if grounding.evidence else None}


def _held_out(path: Path, docs: Optional[Path], model: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The held-out set's questions asked of its documents through the chat: the answerable ones scored as the
    data sets' are (no gold paragraph: the set names none), the others right when the chat says the documents
    do not hold the answer."""
    from ..chat.rag_chat import RagChat

    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    folder = docs or Path(spec["docs"])
    if not folder.is_dir():
        raise SystemExit(f"the documents of held-out set {path} are not at {folder}: pass --docs DIR")
    questions = [Question(q["question"], tuple(q["answers"]), -1) for q in spec["questions"]]
    answerable = [q for q in questions if q.answers]
    unanswerable = [q for q in questions if not q.answers]
    chat = RagChat(folder, llm=model).start()
    name = Path(path).stem
    rows, details = [], []
    for setup, asked in (("held-out, answerable", answerable), ("held-out, not in the documents", unanswerable)):
        answered = [_ask(chat, q.text) for q in asked]
        langs = sorted({language_of(q.text) for q in asked})
        rows.append(_row(name, "+".join(langs), setup, asked, answered))
        details += [{"data": name, "setup": setup, "question": q.text, "gold": list(q.answers), **a}
                    for q, a in zip(asked, answered)]
    return rows, details


def _row(name: str, lang: str, setup: str, questions: list[Question],
         answers: list[dict[str, Any]]) -> dict[str, Any]:
    """One row of scores; each answer is scored in its question's language."""
    n = max(len(questions), 1)
    for q, a in zip(questions, answers):
        qlang = language_of(q.text)
        a["correct"] = any(holds_answer(a["answer"], g, qlang) for g in q.answers)
        a["f1"] = max((f1_score(a["answer"], g, qlang) for g in q.answers), default=0.0)
        a["abstained"] = says_not_found(a["answer"])
        a["evidence_right"] = bool(a["evidence"]) and any(holds_answer(a["evidence"], g, qlang) for g in q.answers)
    row = {"data": name, "lang": lang, "setup": setup, "questions": len(questions),
           "right": sum(a["correct"] for a in answers) / n, "f1": sum(a["f1"] for a in answers) / n,
           "abstained": sum(a["abstained"] for a in answers) / n,
           "flagged": sum(a["flagged"] for a in answers) / n,
           "evidence": sum(a["evidence_right"] for a in answers) / n,
           "loop_rate": sum(repeats(a["answer"]) for a in answers) / n,
           "s_per_answer": sum(a["seconds"] for a in answers) / n}
    LOG.info("%s, %s: %.0f%% right, %.0f%% abstained over %d", name, setup, 100 * row["right"],
             100 * row["abstained"], len(questions))
    return row


def _notes(rows: list[dict[str, Any]]) -> list[str]:
    notes = ["right: share of answers holding a gold answer (SQuAD normalisation; Chinese: its characters in order); "
             "abstained: it says the documents do not hold the answer; flagged: the chat page's ⚠ flag (key words "
             "that appear in no passage it was given, or no sentence of them sharing its words); evidence: the "
             "sentence quoted under the answer (the passage sentence it rests on, `evidence_sentence`) holds a gold "
             "answer; 'right' scores the answer's own words only; gold paragraph: the same model, prompt and "
             "decoding reading only the question's own paragraph"]
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
        elif row["setup"] == "held-out, answerable":
            notes.append(target_note(f"{data} (held out): answerable questions answered 'not in the documents'",
                                     f"{row['abstained']:.2f}", f"≤ {MAX_WRONG_ABSTAIN}",
                                     row["abstained"] <= MAX_WRONG_ABSTAIN))
        elif row["setup"].startswith("unanswerable") or row["setup"] == "held-out, not in the documents":
            notes.append(target_note(f"{data}: unanswerable questions answered 'not in the documents'",
                                     f"{row['abstained']:.2f}", f"≥ {MIN_ABSTAIN}", row["abstained"] >= MIN_ABSTAIN))
    looping = [f"{r['data']} {r['setup']} {r['loop_rate']:.0%}" for r in rows if r["loop_rate"]]
    notes.append(target_note("answers that loop", ", ".join(looping) or "none", "none", not looping))
    return notes
