"""Model modules: local embedders (dense, and the BM25 sparse one), chat and rerank models, online
(OpenAI-protocol) modules, prompters."""
from .alpaca_prompter import AlpacaPrompter
from .embed.embed_model import EmbedModel, EmbedModelBase
from .embed.local_embedding import LocalEmbedding
from .embed.rerank import EmbeddingRerank
from .embed.sparse_embedding import BM25SparseEmbedding
from .llama_cpp.local_chat import LocalChat
from .online import OnlineChatModule, OnlineEmbeddingModule, OnlineRerankModule
from .openai_client import OnlineModelError
from .prompter import ChatPrompter
from .registry import MODELS, ModelSpec, register_model
from .template_prompter import Prompter
from .trainable import TrainableModule

__all__ = ["AlpacaPrompter", "BM25SparseEmbedding", "ChatPrompter", "EmbedModel", "EmbedModelBase", "EmbeddingRerank", "LocalChat", "LocalEmbedding",
           "MODELS", "ModelSpec", "OnlineChatModule", "OnlineEmbeddingModule", "OnlineModelError", "OnlineRerankModule",
           "Prompter", "register_model", "TrainableModule"]
