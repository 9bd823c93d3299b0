"""The options the document commands share (``--docs``, ``--store``, ``--embed``...) and the LLM commands
add (``--llm``, ``--max-tokens``, ``--deploy``), and the RAG chat they describe."""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Optional

from ..data import SAMPLE_FOLDERS, sample_corpus
from ..rag.store import STORES


def parse_store(value: str) -> Optional[dict[str, Any]]:
    """``--store TYPE[:WHERE]`` as a store_conf; each store type says what ``WHERE`` means
    (`StoreBase.location_kwargs`): ``map`` (memory), ``map:FILE.sqlite``, ``chroma:DIR``, ``chroma:http://...``,
    ``milvus:FILE.db``, ``milvus:http://...`` (its token from ``MILVUS_TOKEN``)."""
    kind, _, where = value.partition(":")
    if kind not in STORES:
        raise argparse.ArgumentTypeError(f"--store {value!r}: {STORES.unknown_message(kind)}")
    try:
        kwargs = STORES.get(kind).location_kwargs(where)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--store {value!r}: {exc}") from None
    return {"type": kind, "kwargs": kwargs} if kwargs else None


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
    parser.add_argument("--embed", default="auto",
                        help="local embedding model name or folder; 'auto' (default): all-MiniLM-L6-v2 for English "
                             "documents, the multilingual universal-sentence-encoder-multilingual-3 for documents "
                             "with Chinese; 'none' for lexical search only")
    parser.add_argument("--group", default="MediumChunk", help="node group to search (default: MediumChunk)")
    parser.add_argument("--similarity", default=None,
                        help="cosine (default with an embed model), bm25 or bm25_chinese (lexical only; without an "
                             "embed model the one for the documents' language)")
    parser.add_argument("--topk", type=int, default=None,
                        help="how many chunks to return (search: 3), or passages the model reads (ask, serve: 1 for "
                             "an English question, 2 for others)")


def add_llm_options(parser: argparse.ArgumentParser) -> None:
    """Options of the commands that answer with an LLM (ask, serve)."""
    from ..chat import ANSWER_MAX_TOKENS, DEFAULT_LLM

    parser.add_argument("--llm", default=DEFAULT_LLM,
                        help="local chat model name or .gguf file; 'auto' (default): Qwen2.5-Coder-0.5B-Instruct "
                             "when installed, else SmolLM2-135M-Instruct; 'none' answers with the retrieved passages")
    parser.add_argument("--max-tokens", type=int, default=ANSWER_MAX_TOKENS,
                        help="longest answer, in tokens (default: %(default)s)")
    parser.add_argument("--deploy", default=None, metavar="ENGINE",
                        help="serve the LLM through an inference engine (llamacpp, llama-server, llamacpp-python, "
                             "vllm, lmdeploy, lightllm, auto) instead of in this process")
    parser.add_argument("--slots", type=int, default=None, metavar="N",
                        help="how many answers the model decodes at once (llama.cpp's parallel slots: in this "
                             "process, default 1 for ask and 8 for serve; with --deploy llamacpp, default 4; "
                             "vLLM's max-num-seqs...)")


def document(args: argparse.Namespace) -> tuple[Any, Optional[str]]:
    """The Document the options describe and the similarity to search it with (None: the embedder's cosine).
    ``--embed auto`` and a lexical search with no ``--similarity`` are chosen for the documents' language."""
    import ragjet
    from ..chat.rag_chat import LEXICAL
    from ..rag.language import AUTO, routes_for

    docs_dir = args.docs or sample_corpus()
    name = None if args.embed.lower() == "none" else args.embed
    similarity = args.similarity
    if name is None or name.lower() == AUTO:  # an embedder, or a lexical route, for the documents' language
        name, lexical = routes_for(docs_dir, name and name.lower(), similarity)
        similarity = similarity or (lexical if name is None else None)
    embed = None if name is None or similarity in LEXICAL else ragjet.TrainableModule(name)
    return ragjet.Document(docs_dir, embed=embed, store_conf=args.store), similarity


def rag_chat(args: argparse.Namespace, defer_large: bool = False) -> Any:
    """The RAG chat the options describe (documents indexed, models loaded; with ``defer_large``, files over
    `LARGE_FILE_BYTES` indexed in the background)."""
    from ..chat import RagChat

    return RagChat(args.docs or sample_corpus(), embed=None if args.embed.lower() == "none" else args.embed,
                   group=args.group, similarity=args.similarity, topk=args.topk,
                   llm=None if args.llm.lower() == "none" else args.llm, max_tokens=args.max_tokens,
                   store_conf=args.store, deploy=args.deploy, slots=args.slots, defer_large=defer_large).start()
