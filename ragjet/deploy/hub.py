"""`DeployableModel`: a model known by name whose weights are not here, run only through a GPU engine.

``TrainableModule('internlm2-chat-20b')`` returns one, so the lecture's
``TrainableModule(name).deploy_method(deploy.Vllm, {...})`` builds the engine's command for the hub id
(``internlm/internlm2-chat-20b``); the engine fetches the weights where it runs. The names come from a small
table, registered in the model registry (so an unknown name still fails at once, listing the known ones);
``register_hub_model`` adds one.
"""
from __future__ import annotations

import functools
from typing import Any, Iterator, Mapping, Optional, Sequence

from ..flow.lifecycle import Startable
from ..models.chat_module import ChatModule
from ..models.registry import ModelSpec, register_model
from ..models.trainable import local_stand_in
from .module import DeployedModel, deploy_model
from .registry import MethodLike

GPU_MODELS: dict[str, str] = {
    "internlm2-chat-7b": "internlm/internlm2-chat-7b",
    "internlm2-chat-20b": "internlm/internlm2-chat-20b",
    "Qwen2-7B-Instruct": "Qwen/Qwen2-7B-Instruct",
    "Qwen2-72B-Instruct": "Qwen/Qwen2-72B-Instruct",
    "Qwen2-72B-Instruct-AWQ": "Qwen/Qwen2-72B-Instruct-AWQ",
    "Qwen2.5-0.5B-Instruct": "Qwen/Qwen2.5-0.5B-Instruct",
    "Qwen2.5-7B-Instruct-AWQ": "Qwen/Qwen2.5-7B-Instruct-AWQ",
    "DeepSeek-R1": "deepseek-ai/DeepSeek-R1",
}
"""Short name (as the lecture writes it) → hub id the engine loads."""


class DeployableModel(ChatModule, Startable):
    """``hub_id`` served as ``name`` once deployed; ``options`` (``max_tokens``, ``temperature``...) go into
    every request of the deployed model."""

    def __init__(self, hub_id: str, name: Optional[str] = None, stream: bool = False, **options: Any) -> None:
        super().__init__(stream)
        self.hub_id = hub_id
        self.name = name or hub_id
        self.options = options

    def deploy_method(self, method: MethodLike, args: Optional[Mapping[str, Any]] = None) -> DeployedModel:
        """This model served by ``method`` (``deploy.Vllm``, ``(deploy.Vllm, {...})``...); call ``start()``."""
        return deploy_model(method, args, model=self.hub_id, served_name=self.name, stream=self._stream,
                            prompter=self.prompter, options=self.options)

    def start(self) -> "DeployableModel":
        """Not possible without an engine: the error says how to serve it, or what runs in its place here."""
        raise self._no_runtime()

    def _chat(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]], stream: bool,
              **kw: Any) -> Iterator[str]:
        raise self._no_runtime()

    def _no_runtime(self) -> RuntimeError:
        return RuntimeError(f"{self.name!r} has no local runtime (its weights are fetched by a GPU engine); serve it "
                            f"on a GPU machine: TrainableModule({self.name!r}).deploy_method(deploy.Vllm).start() (or "
                            f"deploy.LMDeploy, deploy.Lightllm); or, on this machine, {local_stand_in(self.name, 'llm')}")

    def __repr__(self) -> str:
        return f"DeployableModel({self.hub_id!r})"


def register_hub_model(name: str, hub_id: str) -> ModelSpec:
    """Make ``TrainableModule(name)`` (and ``TrainableModule(hub_id)``) a `DeployableModel` of ``hub_id``."""
    aliases = (hub_id,) if hub_id != name else ()
    return register_model(ModelSpec(name, {"llm": functools.partial(DeployableModel, hub_id, name)}, aliases=aliases,
                                    note=f"GPU model {hub_id}: served by deploy.Vllm / LMDeploy / Lightllm"))


for _name, _hub_id in GPU_MODELS.items():
    register_hub_model(_name, _hub_id)
