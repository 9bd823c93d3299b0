"""The RAG chat of ``ragjet ask`` / ``serve``: its flow (`RagChat`) and its default prompt (`RagPrompter`)."""
from .prompt import RagPrompter, format_passages, numbered_context
from .rag_chat import ANSWER_MAX_TOKENS, ANSWER_PASSAGES, DEFAULT_LLM, RagChat, passages

__all__ = ["ANSWER_MAX_TOKENS", "ANSWER_PASSAGES", "DEFAULT_LLM", "RagChat", "RagPrompter", "format_passages",
           "numbered_context", "passages"]
