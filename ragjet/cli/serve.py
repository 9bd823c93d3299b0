"""``ragjet serve``: the RAG chat over a folder (the sample corpus by default) as a web page and an
OpenAI-compatible API, on 127.0.0.1 unless ``--host`` says otherwise."""
from __future__ import annotations

import argparse

from ..data import sample_corpus
from ..web.web_module import API_KEY_ENV, READY_LINE, WebModule
from .options import add_doc_options, add_llm_options, rag_chat

DEFAULT_PORT = 23492


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The document options every command shares, then the LLM and the server's own."""
    add_doc_options(parser)
    add_llm_options(parser)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default: %(default)s; 0: a free one)")
    parser.add_argument("--api-key", default=None,
                        help=f"require 'Authorization: Bearer KEY' on the API (default: ${API_KEY_ENV} if set)")
    parser.add_argument("--title", default="ragjet", help="page title and model name")
    parser.add_argument("--upload", action="store_true",
                        help="accept documents on POST /v1/documents, stored in --docs and indexed at once")


def run(args: argparse.Namespace) -> int:
    """Index, load the models, serve until Ctrl+C."""
    if args.upload and (args.docs is None or not args.docs.is_dir()):
        raise ValueError("--upload stores documents in the --docs folder: give an existing folder")
    docs_dir = args.docs or sample_corpus()
    chat = rag_chat(args)
    web = WebModule(chat, port=args.port, title=args.title, host=args.host, api_key=args.api_key,
                    docs_dir=docs_dir if args.upload else None, on_upload=chat.refresh).start()
    print(f"{READY_LINE} {web.url}  (Ctrl+C stops)", flush=True)
    web.wait()
    return 0

