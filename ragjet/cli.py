"""The ``ragjet`` command: ``search`` a folder (the sample corpus by default), ``ask`` it a question, ``serve`` it
as a chat, ``serve-store`` a database to several processes, and ``bench`` measurements."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap
from pathlib import Path
from typing import Any, Optional, Sequence

from .data import SAMPLE_FOLDERS, SAMPLE_QUESTION, sample_corpus


def parse_store(value: str) -> Optional[dict[str, Any]]:
    """``--store`` as a store_conf: ``map`` (memory), ``map:FILE.sqlite``, ``chroma:DIR``, ``chroma:http://...``,
    ``milvus:FILE.db`` or ``milvus:http://...`` (a remote Milvus; its token comes from ``MILVUS_TOKEN``)."""
    kind, _, where = value.partition(":")
    if kind == "map" and not where:
        return None
    if not where:
        raise argparse.ArgumentTypeError(f"--store {value!r}: say where, e.g. {kind}:PATH or {kind}:http://HOST:PORT")
    remote = where.startswith(("http://", "https://", "tcp://"))
    key = {"map": "uri", "milvus": "uri", "chroma": "uri" if remote else "dir"}.get(kind)
    if key is None:
        raise argparse.ArgumentTypeError(f"--store {value!r}: unknown store type {kind!r}; use map, chroma or milvus")
    kwargs: dict[str, Any] = {key: where}
    if kind == "milvus" and remote and os.environ.get("MILVUS_TOKEN"):
        kwargs["token"] = os.environ["MILVUS_TOKEN"]
    return {"type": kind, "kwargs": kwargs}


def docs_path(value: str) -> Path:
    """``--docs``: a folder or file; ``sample`` / ``sample-zh`` name the corpora shipped with ragjet (unless a
    folder of that name is here)."""
    path = Path(value)
    languages = {folder: lang for lang, folder in SAMPLE_FOLDERS.items()}
    return sample_corpus(languages[value]) if value in languages and not path.exists() else path


def add_doc_options(parser: argparse.ArgumentParser) -> None:
    """Options every document command shares (search, ask, serve)."""
    parser.add_argument("--docs", type=docs_path, default=None,
                        help="folder (or file) to index; 'sample' (the default) and 'sample-zh' are the English and "
                             "Chinese corpora shipped with ragjet")
    parser.add_argument("--store", type=parse_store, default=None, metavar="TYPE[:WHERE]",
                        help="map (default, in memory), map:FILE.sqlite, chroma:DIR, milvus:FILE.db, or a server "
                             "URL after chroma: / milvus:")
    parser.add_argument("--embed", default="all-MiniLM-L6-v2",
                        help="local embedding model name or folder; 'none' for lexical search only")
    parser.add_argument("--group", default="MediumChunk", help="node group to search (default: MediumChunk)")
    parser.add_argument("--similarity", default=None,
                        help="cosine (default with an embed model), bm25 or bm25_chinese (for Chinese documents: "
                             "the default embedder reads English only)")
    parser.add_argument("--topk", type=int, default=3, help="how many chunks to return")


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that answer with an LLM (ask, serve)."""
    from .chat import ANSWER_MAX_TOKENS, DEFAULT_LLM

    parser.add_argument("--llm", default=DEFAULT_LLM,
                        help="local chat model name or .gguf file; 'auto' (default): Qwen2.5-Coder-0.5B-Instruct "
                             "when installed, else SmolLM2-135M-Instruct; 'none' answers with the retrieved passages")
    parser.add_argument("--max-tokens", type=int, default=ANSWER_MAX_TOKENS,
                        help="longest answer, in tokens (default: %(default)s)")
    parser.add_argument("--deploy", default=None, metavar="ENGINE",
                        help="serve the LLM through an inference engine (llamacpp, llama-server, llamacpp-python, "
                             "vllm, lmdeploy, lightllm, auto) instead of in this process: llama-server's parallel "
                             "slots answer several web users at once")


def rag_chat(args: argparse.Namespace) -> Any:
    """The RAG chat the options describe (documents indexed, models loaded)."""
    from .chat import RagChat

    return RagChat(args.docs or sample_corpus(), embed=None if args.embed.lower() == "none" else args.embed,
                   group=args.group, similarity=args.similarity, topk=args.topk,
                   llm=None if args.llm.lower() == "none" else args.llm, max_tokens=args.max_tokens,
                   store_conf=args.store, deploy=args.deploy).start()


def _index(args: argparse.Namespace) -> int:
    import ragjet

    docs_dir = args.docs or sample_corpus()
    embed = None if args.embed.lower() == "none" else ragjet.TrainableModule(args.embed)
    doc = ragjet.Document(docs_dir, embed=embed, store_conf=args.store)
    ragjet.Retriever(doc, group_name=args.group, similarity=args.similarity).start()
    stats = doc.stats
    print(f"{docs_dir}: {stats.files_seen} files ({stats.files_parsed} parsed, {stats.files_deleted} removed), "
          f"{stats.chunks_embedded} chunks embedded, {stats.cache_hits} from the embedding cache, "
          f"{doc.store.count(args.group)} {args.group} chunks stored, in {stats.seconds.get('sync', 0.0):.2f} s")
    if doc.read_report and doc.read_report.total_skipped:
        print(doc.read_report.summary())
    return 0


def _search(args: argparse.Namespace) -> int:
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


def _ask(args: argparse.Namespace) -> int:
    from .flow.sources import collect_sources

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
    cited = sources.cited("".join(text)) or []
    for notice in sources.notices:
        print(f"\n\n(note: {notice})", end="")
    print("\n\nSources" + (" (* cited)" if cited else "") + ":")
    for rank, node in enumerate(sources.nodes, 1):
        score = node.relevance_score if node.relevance_score is not None else node.similarity_score
        source = Path(node.docpath).name if node.docpath else "?"
        snippet = textwrap.shorten(" ".join(node.text.split()), width=90, placeholder=" ...")
        mark = "*" if rank in cited else " "
        print(f"{mark}[{rank}] {source}  (score {score:.3f})  {snippet}")
    return 0


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

    index = sub.add_parser("index", help="index a folder into a store now (only what changed since the last run)")
    add_doc_options(index)
    index.set_defaults(func=_index)

    search = sub.add_parser("search", help="index a folder and print the chunks closest to a question")
    add_doc_options(search)
    search.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="what to search for")
    search.set_defaults(func=_search)

    ask = sub.add_parser("ask", help="answer a question from a folder with the local LLM, and show the sources")
    add_doc_options(ask)
    add_llm_options(ask)
    ask.add_argument("question", nargs="?", default=SAMPLE_QUESTION, help="the question")
    ask.set_defaults(func=_ask)

    from .web import cli_serve

    serve = sub.add_parser("serve", help="chat with a folder in the browser and over an OpenAI-compatible API",
                           description=cli_serve.__doc__)
    cli_serve.add_arguments(serve)
    serve.set_defaults(func=cli_serve.run)

    from .rag.store import serve as store_server

    serve_store = sub.add_parser("serve-store", help="serve a Chroma dir or a Milvus Lite .db file on 127.0.0.1 "
                                 "so several processes can share it")
    store_server.add_arguments(serve_store)
    serve_store.set_defaults(func=store_server.run)

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
