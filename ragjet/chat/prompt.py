"""The RAG chat's default prompt: numbered passages with their file names, and rules a small model follows.

A 0.5B model reads a context well only when the task is spelled out: which text to use, how long to answer,
in which language, and what to say when the answer is not there. `numbered_context` turns the retrieved
nodes into ``[1] (file.md)`` blocks and records them as the answer's numbered sources; `RagPrompter` writes
the rules in the question's language (English or Chinese, by `ragjet.lang.language_of`), which makes the model
answer in that language far more reliably than an English instruction saying "answer in Chinese".

Measured with Qwen2.5-Coder-0.5B on the sample corpora's questions (12 English, 7 Chinese, top-3 passages) and
on SQuAD: rules in the system message, then the passages and the question in the user message, answer best; a
strict "reply only: ..." refusal rule made the model refuse 7 of 10 answerable questions, so the rule is soft
("only if none of the passages mentions..."). Asked to cite passages by number, the model often answered with
the numbers alone ("[1] [2]", "[1] (01-stores.md)"): 9 of 12 right with the citation rule, 11 of 12 without,
and in Chinese 1 of 7 with it, 6 of 7 without. So the rules do not ask for citations; the answer's sources
are found from the words it shares with each passage (`ragjet.text.citations.overlap_numbers`), and ``[n]``
markers a model does write (a larger one, or an online model) are read as its citations.

Two styles share the passages: ``brief`` (the chat: one to three sentences) and ``short`` (the shortest phrase
that answers, as SQuAD and CMRC score it; the quality bench uses it).
Each passage is one line of text, so a prompt cut to fit the context window (`LocalChat`) loses whole
passages from the end, the lowest ranked first.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..flow.sources import passage_name, record_sources
from ..models.prompter import QUERY_KEY, ChatPrompter
from ..text.lang import language_of

CONTEXT_KEY = "context_str"
STYLES = ("brief", "short")

_TASK = {
    ("en", "brief"): "Answer the question using only the passages. Answer briefly, in one to three sentences, "
                     "in English.",
    ("en", "short"): "Answer the question using only the passages. Reply with the shortest phrase from the "
                     "passages that answers it, in English, and nothing else.",
    ("zh", "brief"): "只根据这些段落回答问题。用中文简要回答（一到三句话）。",
    ("zh", "short"): "只根据这些段落回答问题。用段落中能回答问题的最短词语回答，不要解释。",
}
_MISSING = {"en": " Only if none of the passages mentions what the question asks about, say that the documents "
                  "do not contain the answer.",
            "zh": "只有当所有段落都没有提到问题所问的内容时，才说文档中没有答案。"}
_PASSAGES = {"en": "Passages:\n{context_str}\n\n", "zh": "段落：\n{context_str}\n\n"}
_QUESTION = {"en": "Question: {query}", "zh": "问题：{query}"}
_ASSISTANT = {"en": "You are a helpful assistant.", "zh": "你是一个乐于助人的助手。"}


def instruction(language: str, style: str = "brief") -> dict[str, str]:
    """The system and user templates (with ``{context_str}`` and ``{query}``) for questions in ``language``:
    ``brief`` puts its rules in the system message, ``short`` between the passages and the question (for
    extracting a phrase, the rules read last work best: SQuAD F1 0.68 vs 0.66, CMRC 0.56 vs 0.49)."""
    if style not in STYLES:
        raise ValueError(f"unknown RAG prompt style {style!r}; styles: {', '.join(STYLES)}")
    task = _TASK[(language, style)]
    if style == "short":  # every SQuAD/CMRC question has its answer: no "not in the documents" rule
        return {"system": _ASSISTANT[language], "user": f"{_PASSAGES[language]}{task}\n\n{_QUESTION[language]}"}
    return {"system": task + _MISSING[language], "user": _PASSAGES[language] + _QUESTION[language]}


class RagPrompter(ChatPrompter):
    """``RagPrompter()`` renders ``{"query": ..., "context_str": numbered passages}``: the rules in the system
    message, then the passages and the question in the user message (the passages before the question, so
    two questions over the same passages share the prompt's prefix and its cached state), all written in the
    question's language. Use it with `numbered_context` as the step before the LLM."""

    def __init__(self, style: str = "brief") -> None:
        self.templates = {lang: instruction(lang, style) for lang in _QUESTION}
        super().__init__(self.templates["en"], extra_keys=[CONTEXT_KEY])
        self.style = style

    def system_template(self, values: Mapping[str, str]) -> str:
        return self.templates[language_of(values[QUERY_KEY])]["system"]

    def user_template(self, values: Mapping[str, str]) -> str:
        return self.templates[language_of(values[QUERY_KEY])]["user"]


def numbered_context(nodes: Sequence[Any], query: str) -> dict[str, str]:
    """The LLM's input: the query and the passages as ``[n] (file)`` blocks, best first, duplicates removed.
    Records the passages as the answer's numbered sources (`ragjet.flow.sources`)."""
    unique = list({getattr(n, "uid", id(n)): n for n in nodes}.values())
    record_sources(unique, numbered=True, question=query)
    return {QUERY_KEY: query, CONTEXT_KEY: format_passages(unique)}


def format_passages(nodes: Sequence[Any]) -> str:
    """``[1] (name.md)`` then the passage's text on one line, for each node; blocks apart by a blank line."""
    blocks = []
    for i, node in enumerate(nodes, 1):
        blocks.append(f"[{i}] ({passage_name(node)})\n{' '.join(node.get_content().split())}")
    return "\n\n".join(blocks)
