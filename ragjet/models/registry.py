"""Known models by name: what kind each is and how to build it, so names resolve without if-chains."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    """A model ragjet can run locally: ``factories`` maps a module type ('embed', 'rerank', 'llm') to a
    constructor taking the module's keyword options."""

    name: str
    factories: dict[str, Callable[..., Any]] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    note: str = ""

    @property
    def default_type(self) -> str:
        return next(iter(self.factories))


MODELS: Registry[ModelSpec] = Registry(
    "model", hint="Pass a path to a model file instead, or register it with ragjet.models.MODELS.register().")


def register_model(spec: ModelSpec) -> ModelSpec:
    for name in (spec.name, *spec.aliases):
        MODELS.register(name, spec)
    return spec
