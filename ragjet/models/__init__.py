"""Model modules: local embedders, chat and rerank models, online (OpenAI-protocol) modules, prompters."""
from .llama_cpp_llm import LocalChat
from .local_embedding import LocalEmbedding
from .online import OnlineChatModule, OnlineEmbeddingModule, OnlineRerankModule
from .openai_client import OnlineModelError
from .prompter import ChatPrompter
from .registry import MODELS, ModelSpec, register_model
from .rerank import EmbeddingRerank
from .trainable import TrainableModule

__all__ = ["ChatPrompter", "EmbeddingRerank", "LocalChat", "LocalEmbedding", "MODELS", "ModelSpec",
           "OnlineChatModule", "OnlineEmbeddingModule", "OnlineModelError", "OnlineRerankModule",
           "register_model", "TrainableModule"]
