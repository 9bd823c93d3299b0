"""``ragjet search``: index a folder and print the chunks closest to a question."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from ..data import SAMPLE_QUESTION, sample_corpus
from .options import add_doc_options


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_doc_options(parser)
    parser.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="what to search for")


def run(args: argparse.Namespace) -> int:
    import ragjet

    docs_dir = args.docs or sample_corpus()
    embed = None if args.embed.lower() == "none" else ragjet.TrainableModule(args.embed)
    doc = ragjet.Document(docs_dir, embed=embed, store_conf=args.store)
    retriever = ragjet.Retriever(doc, group_name=args.group, similarity=args.similarity, topk=args.topk)
    nodes = retriever(args.question)
    print(f"Top {len(nodes)} of {doc.store.count(args.group)} {args.group} chunks in {docs_dir} "
          f"for: {args.question}\n")
    for rank, node in enumerate(nodes, 1):
        source = Path(node.docpath).name if node.docpath else "?"
        print(f"{rank}. score {node.similarity_score:.3f}  {source}")
        snippet = textwrap.shorten(" ".join(node.text.split()), width=320, placeholder=" ...")
        print(textwrap.indent(textwrap.fill(snippet, 100), "   "), end="\n\n")
    return 0 if nodes else 1
