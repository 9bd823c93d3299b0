"""Inference engines as deploy methods (LazyLLM's ``deploy``): ``TrainableModule(m).deploy_method(deploy.X, {...})``.

`LlamaCpp` (GGUF on the CPU: llama.cpp's C++ server with parallel slots, as a built `LlamaServer` binary or
from the prebuilt wheel, `LlamaEngineServer`; else llama-cpp-python's `LlamaCppPython`), `Vllm`, `LMDeploy`, `Lightllm`, and `auto`, which picks one for this machine;
`launchers` says where an engine runs. Each engine is started on a free port of 127.0.0.1, waited for on its
health endpoint, spoken to through the OpenAI-compatible client, and never outlives ragjet.
"""
from . import launchers
from .auto import auto, gpu_visible
from .base import DeployMethod, EngineNotInstalled
from .hub import GPU_MODELS, DeployableModel, register_hub_model
from .lightllm import Lightllm
from .llama_cpp import LlamaCpp, LlamaCppPython, LlamaEngineServer, LlamaServer
from .lmdeploy import LMDeploy
from .module import DeployedModel, deploy_model
from .quantize import gguf_level
from .registry import DEPLOY_METHODS, make
from .vllm import Vllm

__all__ = ["DEPLOY_METHODS", "DeployMethod", "DeployableModel", "DeployedModel", "EngineNotInstalled", "GPU_MODELS",
           "LMDeploy", "Lightllm", "LlamaCpp", "LlamaCppPython", "LlamaEngineServer", "LlamaServer", "Vllm", "auto",
           "deploy_model", "gguf_level", "gpu_visible", "launchers", "make", "register_hub_model"]
