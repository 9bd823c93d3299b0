"""``from lazyllm.tools.rag import IndexBase, ...`` as the lecture writes it."""
from ...rag import (DocNode, Document, IndexBase, MetadataMode, NodeTransform, Retriever, SentenceSplitter,
                    SimpleDirectoryReader, StoreBase, override, register_similarity)

__all__ = ["DocNode", "Document", "IndexBase", "MetadataMode", "NodeTransform", "Retriever", "SentenceSplitter",
           "SimpleDirectoryReader", "StoreBase", "override", "register_similarity"]
