"""`Vllm`: ``vllm serve MODEL`` (continuous batching, tensor and pipeline parallel, AWQ via ``--quantization``)."""
from __future__ import annotations

from typing import Any, ClassVar, Mapping, Optional

from .base import DeployMethod


class Vllm(DeployMethod):
    """vLLM's OpenAI-compatible server. The lecture's arguments: ``tensor-parallel-size``,
    ``pipeline-parallel-size``, ``max-num-batched-tokens``; a model named ``...AWQ`` gets ``--quantization awq``."""

    name: ClassVar[str] = "vllm"
    package: ClassVar[str] = "vllm"
    modules: ClassVar[tuple[str, ...]] = ("vllm",)
    OPTION_NAMES: ClassVar[Mapping[str, str]] = {"repeat_penalty": "repetition_penalty"}
    ARGS: ClassVar[Mapping[str, Any]] = {
        "tensor-parallel-size": 1, "pipeline-parallel-size": 1, "max-num-batched-tokens": None,
        "max-num-seqs": None, "max-model-len": None, "gpu-memory-utilization": None, "dtype": None,
        "quantization": None, "kv-cache-dtype": None, "block-size": None, "swap-space": None, "seed": None,
        "tokenizer": None, "revision": None, "download-dir": None, "trust-remote-code": None,
        "enforce-eager": None, "enable-prefix-caching": None, "enable-chunked-prefill": None,
    }
    ALIASES: ClassVar[Mapping[str, str]] = {"slots": "max-num-seqs"}
    AWQ_FLAG: ClassVar[Optional[tuple[str, str]]] = ("quantization", "awq")
    HEALTH_PATH: ClassVar[str] = "/health"

    def program(self, model: str) -> list[str]:
        return ["vllm", "serve", model]
