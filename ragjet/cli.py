"""The ``ragjet`` command: ``search`` over a folder (the sample corpus by default) and ``bench`` measurements."""
from __future__ import annotations

import argparse
import sys
import textwrap
from importlib import resources
from pathlib import Path
from typing import Optional, Sequence

SAMPLE_QUESTION = "Why is the second start fast?"


def sample_corpus() -> Path:
    """The small corpus shipped inside the package, so ``ragjet search`` works with no arguments."""
    return Path(str(resources.files("ragjet") / "data" / "sample"))


def add_doc_options(parser: argparse.ArgumentParser) -> None:
    """Options every document command shares (search now; index, ask and serve later)."""
    parser.add_argument("--docs", type=Path, default=None,
                        help="folder (or file) to index; default: the sample corpus shipped with ragjet")
    parser.add_argument("--embed", default="all-MiniLM-L6-v2",
                        help="local embedding model name or folder; 'none' for lexical search only")
    parser.add_argument("--group", default="MediumChunk", help="node group to search (default: MediumChunk)")
    parser.add_argument("--similarity", default=None,
                        help="cosine (default with an embed model), bm25 or bm25_chinese")
    parser.add_argument("--topk", type=int, default=3, help="how many chunks to return")


def _search(args: argparse.Namespace) -> int:
    import ragjet

    docs_dir = args.docs or sample_corpus()
    embed = None if args.embed.lower() == "none" else ragjet.TrainableModule(args.embed)
    doc = ragjet.Document(docs_dir, embed=embed)
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


def _bench(args: argparse.Namespace) -> int:
    from .bench import BENCHES

    report = BENCHES.get(args.bench_name).run(args)
    print(report.table())
    if args.json:
        report.to_json(args.json)
        print(f"wrote {args.json}")
    if args.plot:
        report.plot(args.plot)
        print(f"wrote {args.plot}")
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragjet", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    search = sub.add_parser("search", help="index a folder and print the chunks closest to a question")
    add_doc_options(search)
    search.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="what to search for")
    search.set_defaults(func=_search)

    from .bench import BENCHES

    bench = sub.add_parser("bench", help="the lecture's measurements: " + ", ".join(BENCHES.names()))
    bench_sub = bench.add_subparsers(dest="bench_name", required=True)
    for name in BENCHES.names():
        module = BENCHES.get(name)
        p = bench_sub.add_parser(name, help=(module.__doc__ or "").strip().splitlines()[0])
        module.add_arguments(p)
        p.add_argument("--json", type=Path, help="also write the results as JSON to this file")
        p.add_argument("--plot", type=Path, help="also draw a PNG chart to this file")
        p.set_defaults(func=_bench)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError, KeyError, ImportError) as exc:
        print(f"ragjet: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
