"""Known models by name: what kind each is and how to build it, so names resolve without if-chains."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Optional

from ..registry import Registry


class LLMType(str, Enum):
    """LazyLLM's model roles (``lazyllm.components.LLMType``), found by value in any case (``LLMType('embed')``);
    ``TrainableModule(name, type=LLMType.EMBED)`` takes them, as it takes ``type='embed'``.
    ragjet runs the LLM (CHAT), EMBED and RERANK roles; the others name models it has none of."""

    LLM = "LLM"
    CHAT = "CHAT"
    VLM = "VLM"
    SD = "SD"
    TEXT2IMAGE = "TEXT2IMAGE"
    TTS = "TTS"
    STT = "STT"
    EMBED = "EMBED"
    RERANK = "RERANK"
    OCR = "OCR"

    @classmethod
    def _missing_(cls, value: object) -> Optional["LLMType"]:
        if isinstance(value, str):
            return next((m for m in cls if m.value.casefold() == value.casefold()), None)
        return None

    @property
    def role(self) -> str:
        """The ragjet module type of this role ('llm', 'embed', 'rerank'...)."""
        return "llm" if self in (LLMType.LLM, LLMType.CHAT) else self.value.lower()


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
