"""`LMDeploy`: ``lmdeploy serve api_server MODEL`` (TurboMind engine; AWQ weights via ``--model-format awq``)."""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional

from .base import DeployMethod


class LMDeploy(DeployMethod):
    """LMDeploy's OpenAI-compatible API server. ``tensor-parallel-size`` is accepted for its ``tp``; a model
    named ``...AWQ`` gets ``--model-format awq``."""

    name: ClassVar[str] = "lmdeploy"
    package: ClassVar[str] = "lmdeploy"
    modules: ClassVar[tuple[str, ...]] = ("lmdeploy",)
    OPTION_NAMES: ClassVar[Mapping[str, str]] = {"repeat_penalty": "repetition_penalty"}
    ARGS: ClassVar[Mapping[str, Any]] = {
        "tp": 1, "backend": None, "model-format": None, "session-len": None, "max-batch-size": None,
        "cache-max-entry-count": None, "quant-policy": None, "dtype": None, "max-prefill-token-num": None,
    }
    ALIASES: ClassVar[Mapping[str, str]] = {"tensor-parallel-size": "tp", "slots": "max-batch-size"}
    AWQ_FLAG: ClassVar[Optional[tuple[str, str]]] = ("model-format", "awq")
    HOST_FLAG: ClassVar[str] = "--server-name"
    PORT_FLAG: ClassVar[str] = "--server-port"
    NAME_FLAG: ClassVar[str] = "--model-name"

    def program(self, model: str) -> list[str]:
        return ["lmdeploy", "serve", "api_server", model]
