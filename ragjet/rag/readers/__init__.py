"""File readers: turn files into root DocNodes.

Importing this package registers the built-in formats (.txt/.md/.markdown, .html/.htm, .pdf, .docx); add one
with `register_reader`. PDF, Word and HTML need the ``readers`` extra (``pip install 'ragjet[readers]'``); without
it those files are skipped with a warning naming the extra.
"""
from ragjet.rag.readers import docx, html, pdf, text  # noqa: F401  (registers the formats)
from ragjet.rag.readers.directory import SimpleDirectoryReader
from ragjet.rag.readers.encoding import decode_bytes
from ragjet.rag.readers.registry import READERS, UnreadableFile, register_reader
from ragjet.rag.readers.report import ReadReport

__all__ = ["SimpleDirectoryReader", "READERS", "register_reader", "ReadReport", "UnreadableFile", "decode_bytes"]
