"""``ragjet serve``: the RAG chat over a folder (the sample corpus by default) as a web page and an
OpenAI-compatible API, on 127.0.0.1 unless ``--host`` says otherwise."""
from __future__ import annotations

import argparse

from ..data import sample_corpus
from ..web.admission import DEFAULT_MAX_QUEUE
from ..web.origins import OriginPolicy
from ..web.web_module import API_KEY_ENV, READY_LINE, WebModule, api_key_of
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
    parser.add_argument("--no-auth", action="store_true",
                        help="serve a non-loopback --host without an API key (on a trusted network only)")
    parser.add_argument("--allowed-hosts", type=_names, default=[], metavar="NAMES",
                        help="comma-separated Host names served besides localhost and --host, e.g. the name of a "
                             "proxy in front ('*': every name)")
    parser.add_argument("--allowed-origins", type=_names, default=[], metavar="ORIGINS",
                        help="comma-separated browser origins (scheme://host[:port]) whose pages may call the API "
                             "(CORS); other sites' pages are refused")
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE,
                        help="chat requests waiting for the model beyond those its slots answer; more get 503 "
                             "with Retry-After (default: %(default)s; no bound with --llm none)")
    parser.add_argument("--title", default="ragjet", help="page title and model name")
    parser.add_argument("--upload", action="store_true",
                        help="accept documents on POST /v1/documents, stored in --docs and indexed at once")


def _names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    """Check the server's settings, index, load the models, serve until Ctrl+C."""
    api_key_of(args.api_key, args.host, args.no_auth)  # a refused setting fails before minutes of indexing
    OriginPolicy(args.host, args.allowed_hosts, args.allowed_origins)
    if args.upload and (args.docs is None or not args.docs.is_dir()):
        raise ValueError("--upload stores documents in the --docs folder: give an existing folder")
    docs_dir = args.docs or sample_corpus()
    from ..chat.rag_chat import SERVER_SLOTS

    if args.slots is None and args.deploy is None:
        args.slots = SERVER_SLOTS  # a server answers several users at once
    chat = rag_chat(args, defer_large=True)  # one huge file does not hold back the others
    web = WebModule(chat, port=args.port, title=args.title, host=args.host, api_key=args.api_key,
                    docs_dir=docs_dir if args.upload else None, on_upload=chat.refresh, no_auth=args.no_auth,
                    allowed_hosts=args.allowed_hosts, allowed_origins=args.allowed_origins,
                    max_queue=args.max_queue, slots=chat.slots).start()
    print(f"{READY_LINE} {web.url}  (Ctrl+C stops)", flush=True)
    web.wait()
    return 0

