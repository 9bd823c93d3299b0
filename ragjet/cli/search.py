"""``ragjet search``: index a folder and print the chunks closest to a question."""
from __future__ import annotations

import argparse
import textwrap

from ..data import SAMPLE_QUESTION
from ..flow.source_view import describe_sources
from .options import add_doc_options, document

SEARCH_TOPK = 3


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_doc_options(parser)
    parser.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="what to search for")


def run(args: argparse.Namespace) -> int:
    import ragjet

    doc, similarity = document(args)
    retriever = ragjet.Retriever(doc, group_name=args.group, similarity=similarity, topk=args.topk or SEARCH_TOPK)
    nodes = retriever(args.question)
    print(f"Top {len(nodes)} of {doc.store.count(args.group)} {args.group} chunks in {doc.dataset_path} "
          f"for: {args.question}\n")
    for rank, source in enumerate(describe_sources(nodes, limit=len(nodes), snippet_chars=320), 1):
        print(f"{rank}. score {source['score']:.3f}  {source['file'] or '?'}")
        print(textwrap.indent(textwrap.fill(source["snippet"], 100), "   "), end="\n\n")
    return 0 if nodes else 1
