"""ragjet: retrieval-augmented generation with LazyLLM's API, built to be fast.

``import ragjet as lazyllm`` runs the lecture's code: Document, Retriever, register_index, node groups.
"""
from . import tools
from . import deploy
from .deploy import launchers
from .flow import (_0, _1, _2, _3, _4, _5, _6, _7, _8, _9, bind, diverter, ifs, loop, package, parallel,
                   pipeline, switch, warp)
from .log import LOG
from .models import (BM25SparseEmbedding, ChatPrompter, OnlineChatModule, OnlineEmbeddingModule,
                     TrainableModule)
from .rag import (DocNode, Document, IndexBase, MetadataMode, Reranker, Retriever, SentenceSplitter,
                  SimpleDirectoryReader, StoreBase, override, register_similarity)
from .web import WebModule

__version__ = "0.1.0"

__all__ = ["LOG", "TrainableModule", "DocNode", "Document", "IndexBase", "MetadataMode", "Retriever",
           "SentenceSplitter", "SimpleDirectoryReader", "StoreBase", "override", "register_similarity", "tools",
           "bind", "parallel", "pipeline", "ChatPrompter", "OnlineChatModule", "OnlineEmbeddingModule", "Reranker",
           "WebModule", "BM25SparseEmbedding"]
__all__ += ["deploy", "launchers", "diverter", "ifs", "loop", "package", "switch", "warp",
            "_0", "_1", "_2", "_3", "_4", "_5", "_6", "_7", "_8", "_9"]
