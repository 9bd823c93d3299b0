"""``ragjet ask``: answer a question from a folder with the local LLM, and show the sources."""
from __future__ import annotations

import argparse

from ..data import SAMPLE_QUESTION
from ..flow.source_view import describe_sources
from .options import add_doc_options, add_llm_options, rag_chat


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_doc_options(parser)
    add_llm_options(parser)
    parser.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="the question")


def run(args: argparse.Namespace) -> int:
    from ..flow.sources import collect_sources

    question = args.question.strip()
    if not question:
        raise ValueError("the question is empty: ask something, e.g. ragjet ask \"Why is the second start fast?\"")
    chat = rag_chat(args)
    with collect_sources() as sources:
        answer = chat(question)
        text = []
        for piece in [answer] if isinstance(answer, str) else answer:
            text.append(piece)
            print(piece, end="", flush=True)
    said = "".join(text)
    cited = sources.cited(said) or []
    evidence = sources.check_grounding(said).evidence
    if evidence:
        print(f"\n\nFrom [{evidence.source}]: “{evidence.text}”", end="")
    for notice in sources.notices:
        print(f"\n\n(note: {notice})", end="")
    print("\n\nSources" + (" (* cited)" if cited else "") + ":")
    for rank, source in enumerate(describe_sources(sources.nodes, cited, snippet_chars=90), 1):
        mark = "*" if source.get("cited") else " "
        score = "-" if source["score"] is None else f"{source['score']:.3f}"
        print(f"{mark}[{rank}] {source['file'] or '?'}  (score {score})  {source['snippet']}")
    return 0
