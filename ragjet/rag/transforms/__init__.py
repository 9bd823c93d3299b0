"""Transforms that turn a document's nodes into the nodes of a node group."""
from ragjet.rag.transforms.base import TRANSFORMS, NodeTransform, TransformArgs, register_transform
from ragjet.rag.transforms.character_splitter import CharacterSplitter, RecursiveSplitter
from ragjet.rag.transforms.code_splitter import CodeSplitter, GeneralCodeSplitter
from ragjet.rag.transforms.markdown_splitter import MarkdownSplitter
from ragjet.rag.transforms.markup_splitters import HTMLSplitter, XMLSplitter
from ragjet.rag.transforms.section_splitter import Section, SectionSplitter
from ragjet.rag.transforms.sentence_splitter import SentenceSplitter
from ragjet.rag.transforms.structured_splitters import JSONLSplitter, JSONSplitter, YAMLSplitter
from ragjet.text.token_count import TokenCounter, approx_token_counts, tokenizer_counter

__all__ = ["TRANSFORMS", "CharacterSplitter", "CodeSplitter", "GeneralCodeSplitter", "HTMLSplitter",
           "JSONLSplitter", "JSONSplitter", "MarkdownSplitter", "NodeTransform", "RecursiveSplitter", "Section",
           "SectionSplitter", "SentenceSplitter", "TokenCounter", "TransformArgs", "XMLSplitter", "YAMLSplitter",
           "approx_token_counts", "register_transform", "tokenizer_counter"]
