"""ragjet: retrieval-augmented generation with LazyLLM's API, built to be fast.

``import ragjet as lazyllm`` runs the lecture's code: Document, Retriever, register_index, node groups.
"""
from .lazyllm_paths import install as _install_lazyllm_paths

_install_lazyllm_paths()

from . import tools  # noqa: E402  (built by the import hook just installed)
from . import deploy
from .deploy import launchers
from .flow import (_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, barrier, bind, diverter, graph, ifs, kwargs, loop, package, parallel,
                   pipeline, switch, warp)
from .flow.lifecycle import Startable
from .flow.module import ActionModule, ModuleBase
from .log import LOG
from .models import (AlpacaPrompter, BM25SparseEmbedding, ChatPrompter, EmbedModel, EmbedModelBase, OnlineChatModule,
                     OnlineEmbeddingModule, Prompter, TrainableModule)
from .rag import (DocNode, Document, IndexBase, MetadataMode, Reranker, Retriever, SentenceSplitter,
                  SimpleDirectoryReader, StoreBase, override, register_similarity)
from .settings import config
from .web import ServerModule, WebModule

__version__ = "0.1.0"

__all__ = ["LOG", "TrainableModule", "DocNode", "Document", "IndexBase", "MetadataMode", "Retriever",
           "SentenceSplitter", "SimpleDirectoryReader", "StoreBase", "override", "register_similarity", "tools",
           "bind", "parallel", "pipeline", "ChatPrompter", "OnlineChatModule", "OnlineEmbeddingModule", "Reranker",
           "WebModule", "BM25SparseEmbedding", "EmbedModel", "EmbedModelBase"]
__all__ += ["Startable", "barrier", "ActionModule", "AlpacaPrompter", "ModuleBase", "Prompter", "ServerModule", "config", "graph", "kwargs", "deploy", "launchers", "diverter", "ifs", "loop", "package", "switch", "warp",
            "_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9"]


def __getattr__(name: str) -> object:
    """``lazyllm.common``, ``lazyllm.launcher``...: LazyLLM's module paths, imported on first use."""
    from .lazyllm_paths import ALIASES

    if f"ragjet.{name}" in ALIASES:
        import importlib

        return importlib.import_module(f"ragjet.{name}")
    raise AttributeError(f"module 'ragjet' has no attribute {name!r}")
