"""Deploy methods by name, and `make`, which turns every form the lecture writes into one `DeployMethod`."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional, Union

from ..registry import Registry
from .auto import auto
from .base import DeployMethod
from .lightllm import Lightllm
from .llama_cpp import LlamaCpp, LlamaCppPython, LlamaEngineServer, LlamaServer
from .lmdeploy import LMDeploy
from .vllm import Vllm

MethodLike = Union[str, DeployMethod, Callable[..., DeployMethod], tuple]

DEPLOY_METHODS: Registry[Callable[..., DeployMethod]] = Registry(
    "deploy method", hint="Pass deploy.LlamaCpp, deploy.Vllm, deploy.LMDeploy, deploy.Lightllm or deploy.auto.")
for _method in (LlamaCpp, LlamaCppPython, LlamaServer, LlamaEngineServer, Vllm, Lightllm, LMDeploy):
    DEPLOY_METHODS.register(_method.name, _method)
DEPLOY_METHODS.register("auto", auto)


def make(method: MethodLike, args: Optional[Mapping[str, Any]] = None) -> DeployMethod:
    """A deploy method from ``deploy.Vllm`` (with ``args``), ``(deploy.Vllm, {...})``, a name (``'vllm'``),
    ``deploy.auto`` or an already built ``deploy.Vllm({...})``."""
    if isinstance(method, tuple):
        if args is not None or len(method) != 2:
            raise TypeError("pass deploy_method((Engine, {args})) or deploy_method(Engine, {args}), not both")
        method, args = method
    if isinstance(method, str):
        method = DEPLOY_METHODS.get(method)
    if isinstance(method, DeployMethod):
        if args:
            raise TypeError(f"{method!r} is already built; pass its arguments to its constructor")
        return method
    built = method(args) if callable(method) else None
    if not isinstance(built, DeployMethod):
        raise TypeError(f"not a deploy method: {method!r}; {DEPLOY_METHODS.hint}")
    return built
