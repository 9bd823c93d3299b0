"""Transforms that turn a document's nodes into the nodes of a node group."""
from ragjet.rag.transforms.base import TRANSFORMS, NodeTransform, TransformArgs, register_transform
from ragjet.rag.transforms.character_splitter import CharacterSplitter, RecursiveSplitter
from ragjet.rag.transforms.sentence_splitter import SentenceSplitter
from ragjet.text.token_count import TokenCounter, approx_token_counts, tokenizer_counter

__all__ = ["TRANSFORMS", "CharacterSplitter", "NodeTransform", "RecursiveSplitter", "SentenceSplitter",
           "TokenCounter", "TransformArgs", "approx_token_counts", "register_transform", "tokenizer_counter"]
