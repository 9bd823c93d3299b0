"""The RAG layer: documents → nodes → stores → indexes → retrieval."""
from .doc_node import LAZY_ROOT_NAME, DocNode, MetadataMode
from .document import Document
from .fusion import fuse
from .index.base import INDEXES, IndexBase, override
from .index.default import DefaultIndex
from .index.smart_embedding import SmartEmbeddingIndex
from .readers import SimpleDirectoryReader
from .reranker import RERANKERS, Reranker, register_reranker
from .retriever import Retriever
from .similarity import SIMILARITIES, register_similarity
from .store import STORES, MapStore, StoreBase
from .transforms import NodeTransform, SentenceSplitter

__all__ = ["LAZY_ROOT_NAME", "DocNode", "MetadataMode", "Document", "fuse", "INDEXES", "IndexBase", "override",
           "DefaultIndex", "SmartEmbeddingIndex", "SimpleDirectoryReader", "Retriever", "RERANKERS",
           "Reranker", "register_reranker", "SIMILARITIES", "register_similarity", "STORES", "MapStore",
           "StoreBase", "NodeTransform", "SentenceSplitter"]
