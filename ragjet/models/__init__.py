"""Model modules: local embedders (and, later, chat, rerank and online modules)."""
from .local_embedding import LocalEmbedding
from .registry import MODELS, ModelSpec, register_model
from .trainable import TrainableModule

__all__ = ["LocalEmbedding", "MODELS", "ModelSpec", "register_model", "TrainableModule"]
