"""The answer half of ``ragjet bench quality``: does the chat model answer correctly from what it is given?

Each question is answered three ways in one run: the default chat model from the retrieved paragraphs (what
a user gets), the same model from the question's own paragraph (the ceiling retrieval can reach), and SmolLM2
from the retrieved paragraphs (the former default, for comparison). The prompt is the RAG chat's own
(`RagPrompter`: numbered passages with file names, rules in the question's language) in its ``short`` style,
which asks for the phrase that answers, as SQuAD and CMRC score it; decoding is the chat's (greedy, repeat
penalty, loop stop). Scores: exact match and F1 (`answer_scores`), the loop rate (answers in which some run of
six words, or of six Chinese characters, appears three times) and seconds per answer.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..chat.rag_chat import ANSWER_PASSAGES
from ..log import LOG
from ..models.loop_guard import repeats
from ..rag.doc_node import DocNode
from .answer_scores import exact_match, f1_score
from .report import target_note

ANSWER_CONTEXT = ANSWER_PASSAGES  # paragraphs the chat retrieves (`bench answers` measures what its model reads)
ANSWER_MAX_TOKENS = 48
MIN_F1 = {"en": 0.55, "zh": 0.45}  # the targets of the retrieved-context answers
MIN_SHARE_OF_GOLD = 0.8  # English: retrieved-context F1 at least this share of the gold-paragraph F1


@dataclass(frozen=True)
class AnswerSetup:
    """One way of answering: which ``model`` reads which ``context`` (``retrieved`` or ``gold``)."""

    model: str
    context: str

    @property
    def label(self) -> str:
        return f"answers: {self.model}, {self.context}"


def answer_setups(model: str, baseline: Optional[str]) -> list[AnswerSetup]:
    """``model`` from retrieved and from gold paragraphs, then ``baseline`` (if any) from retrieved ones."""
    setups = [AnswerSetup(model, "retrieved"), AnswerSetup(model, "gold")]
    return setups + ([AnswerSetup(baseline, "retrieved")] if baseline else [])


def load_answer_model(name: str) -> Any:
    """The chat model ``name`` with the RAG chat's short-answer prompt, on every core (one answer at a time)."""
    from ..chat.prompt import RagPrompter
    from ..models import TrainableModule

    llm = TrainableModule(name, max_tokens=ANSWER_MAX_TOKENS, n_threads=os.cpu_count(), prompt_cache=False)
    return llm.prompt(RagPrompter("short"))


def answer_rows(data: Any, questions: list[Any], retrieve: Callable[[str], list[DocNode]],
                setups: list[AnswerSetup], models: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per setup: EM, F1, loop rate and seconds per answer over ``questions`` of ``data``."""
    from ..chat.prompt import numbered_context

    retrieved = {q: retrieve(q.text)[:ANSWER_CONTEXT] for q in questions}
    rows = []
    for setup in setups:
        llm = models[setup.model]
        em = f1 = loops = 0.0
        start = time.perf_counter()
        for q in questions:
            nodes = retrieved[q] if setup.context == "retrieved" else [gold_node(data, q.paragraph)]
            answer = str(llm(numbered_context(nodes, q.text))).strip()
            em += max(exact_match(answer, gold, data.language) for gold in q.answers)
            f1 += max(f1_score(answer, gold, data.language) for gold in q.answers)
            loops += repeats(answer)
        n = max(len(questions), 1)
        LOG.info("%s, %s: F1 %.3f over %d answers, %.1f s each", data.name, setup.label, f1 / n, len(questions),
                 (time.perf_counter() - start) / n)
        rows.append({"data": data.name, "lang": data.language, "route": setup.label, "questions": len(questions),
                     "em": em / n, "f1": f1 / n, "loop_rate": loops / n,
                     "s_per_answer": (time.perf_counter() - start) / n})
    return rows


def gold_node(data: Any, paragraph: int) -> DocNode:
    """The question's own paragraph as a node named like the retrieved ones (``pNNNNN.txt``)."""
    return DocNode(uid=f"gold-{paragraph}", text=data.paragraphs[paragraph],
                   global_metadata={"file_path": f"p{paragraph:05}.txt"})


def answer_notes(rows: list[dict[str, Any]], model: str) -> list[str]:
    """The targets: retrieved-context F1 per language (and against the gold ceiling for English), no loops."""
    notes = []
    by_key = {(r["data"], r["route"]): r for r in rows}
    for row in rows:
        if row["route"] != AnswerSetup(model, "retrieved").label:
            continue
        lang, f1 = row["lang"], row["f1"]
        notes.append(target_note(f"{row['data']}: F1 of {model} from retrieved paragraphs", f"{f1:.3f}",
                                 f"≥ {MIN_F1[lang]:.2f}", f1 >= MIN_F1[lang]))
        gold = by_key.get((row["data"], AnswerSetup(model, "gold").label))
        if lang == "en" and gold is not None:
            share = f1 / gold["f1"] if gold["f1"] else 0.0
            notes.append(target_note(f"{row['data']}: retrieved F1 / gold-paragraph F1", f"{share:.2f}",
                                     f"≥ {MIN_SHARE_OF_GOLD}", share >= MIN_SHARE_OF_GOLD))
    loops = [r for r in rows if r["loop_rate"]]
    notes.append(target_note("answers that loop (a 6-gram three times)",
                             ", ".join(f"{r['route']} {r['loop_rate']:.0%}" for r in loops) or "none", "none",
                             not loops))
    return notes
