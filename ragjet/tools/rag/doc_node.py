"""``from lazyllm.tools.rag.doc_node import MetadataMode`` as the lecture writes it."""
from ...rag.doc_node import DocNode, MetadataMode

__all__ = ["DocNode", "MetadataMode"]
