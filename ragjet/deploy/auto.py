"""`auto`: the engine for this machine: LlamaCpp without a GPU, else vLLM, LMDeploy or LightLLM, the first
installed, with the reason logged."""
from __future__ import annotations

import shutil
import subprocess
from typing import Any, Mapping, Optional

from ..log import LOG
from ..settings import environ
from .base import DeployMethod
from .lightllm import Lightllm
from .llama_cpp import LlamaCpp
from .lmdeploy import LMDeploy
from .vllm import Vllm

GPU_ENGINES: tuple[type[DeployMethod], ...] = (Vllm, LMDeploy, Lightllm)
_HIDDEN = {"", "-1", "none", "nodevfiles"}


def gpu_visible() -> tuple[bool, str]:
    """Whether this process sees an NVIDIA GPU, and why (``CUDA_VISIBLE_DEVICES``, then ``nvidia-smi -L``)."""
    devices = environ("CUDA_VISIBLE_DEVICES")
    if devices is not None and devices.strip().lower() in _HIDDEN:
        return False, f"CUDA_VISIBLE_DEVICES={devices!r} hides every GPU"
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False, "nvidia-smi not found"
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"nvidia-smi failed: {exc}"
    gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    if listed.returncode != 0 or not gpus:
        return False, f"nvidia-smi lists no GPU (exit code {listed.returncode})"
    return True, f"{len(gpus)} GPU(s), first: {gpus[0]}"


def auto(args: Optional[Mapping[str, Any]] = None, **options: Any) -> DeployMethod:
    """The deploy method this machine runs best, built with ``args`` (``options`` go to its constructor)."""
    visible, why = gpu_visible()
    if not visible:
        LOG.info("deploy.auto: LlamaCpp, as no GPU is visible (%s)", why)
        return LlamaCpp(args, **options)
    for engine in GPU_ENGINES:
        if engine.installed():
            LOG.info("deploy.auto: %s, the first installed of %s (%s)", engine.__name__,
                     ", ".join(e.__name__ for e in GPU_ENGINES), why)
            return engine(args, **options)
    LOG.warning("deploy.auto: LlamaCpp on the CPU: a GPU is visible (%s) but none of the packages %s is installed",
                why, ", ".join(e.package for e in GPU_ENGINES))
    return LlamaCpp(args, **options)
