"""Transforms that turn a document's nodes into the nodes of a node group."""
from ragjet.rag.transforms.base import NodeTransform
from ragjet.rag.transforms.sentence_splitter import SentenceSplitter
from ragjet.text.token_count import TokenCounter, approx_token_counts, tokenizer_counter

__all__ = ["NodeTransform", "SentenceSplitter", "TokenCounter", "approx_token_counts", "tokenizer_counter"]
