"""`Lightllm`: ``python -m lightllm.server.api_server --model_dir MODEL`` (token-level KV cache management)."""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

from .base import DeployMethod


class Lightllm(DeployMethod):
    """LightLLM's API server (OpenAI-compatible ``/v1/chat/completions``). ``tensor-parallel-size`` is
    accepted for its ``tp``."""

    name: ClassVar[str] = "lightllm"
    package: ClassVar[str] = "lightllm"
    modules: ClassVar[tuple[str, ...]] = ("lightllm",)
    OPTION_NAMES: ClassVar[Mapping[str, str]] = {"repeat_penalty": "repetition_penalty"}
    ARGS: ClassVar[Mapping[str, Any]] = {
        "tp": 1, "max_total_token_num": None, "max_req_total_len": None, "batch_max_tokens": None,
        "running_max_req_size": None, "data_type": None, "mode": None, "tokenizer_mode": None,
        "trust_remote_code": None, "nccl_port": None, "eos_id": None,
    }
    ALIASES: ClassVar[Mapping[str, str]] = {"tensor-parallel-size": "tp", "slots": "running-max-req-size"}
    NAME_FLAG: ClassVar[str] = "--model_name"
    HEALTH_PATH: ClassVar[str] = "/health"

    def program(self, model: str) -> list[str]:
        return [self.launcher.python, "-m", "lightllm.server.api_server", "--model_dir", model]
