"""Launchers: where an engine's command runs (LazyLLM's ``launchers``).

``empty()`` runs it here as a child process. ``slurm(...)``, ``sco(...)`` and ``remote(...)`` wrap it in a
cluster's submit command (``srun``/``sbatch``, ``sco acp jobs create``) with ``nnode`` nodes of ``ngpus``
GPUs; ragjet builds that command (`wrap`) but does not submit it, since the engine would then listen on a node
this process cannot name in advance. An engine started by a cluster launcher listens on all interfaces of its
node; a local one only on 127.0.0.1.
"""
from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Optional

from ..models.llama_cpp.threads import engine_env
from ..procs import spawn
from ..settings import config


@dataclass(frozen=True)
class Launcher:
    """Where an engine runs: ``nnode`` nodes with ``ngpus`` GPUs each; ``sync``: whether submitting waits for
    the job (slurm: ``srun`` rather than ``sbatch``)."""

    nnode: int = 1
    ngpus: int = 0
    sync: bool = True
    local: ClassVar[bool] = False
    host: ClassVar[str] = "0.0.0.0"
    python: ClassVar[str] = "python"

    def __post_init__(self) -> None:
        if self.nnode < 1 or self.ngpus < 0:
            raise ValueError(f"nnode must be >= 1 and ngpus >= 0, got nnode={self.nnode}, ngpus={self.ngpus}")

    def wrap(self, command: list[str], job_name: str) -> list[str]:
        """The command that runs ``command`` through this launcher."""
        raise NotImplementedError

    def launch(self, command: list[str], name: str) -> tuple[subprocess.Popen, Path]:
        """Run the wrapped command; only the local launcher can, here."""
        raise RuntimeError(f"{self!r} submits to a cluster; ragjet does not submit jobs. Run it there: "
                           f"{shlex.join(self.wrap(command, name))}")


@dataclass(frozen=True)
class EmptyLauncher(Launcher):
    """A child process of this one, on 127.0.0.1."""

    local: ClassVar[bool] = True
    host: ClassVar[str] = "127.0.0.1"
    python: ClassVar[str] = sys.executable

    def wrap(self, command: list[str], job_name: str) -> list[str]:
        return list(command)

    def launch(self, command: list[str], name: str) -> tuple[subprocess.Popen, Path]:
        return spawn(_resolve_program(command), name, env=engine_env())


@dataclass(frozen=True)
class SlurmLauncher(Launcher):
    """``srun`` (``sync``) or ``sbatch --wrap`` on partition ``partition`` (default: ``$RAGJET_SLURM_PART``)."""

    partition: Optional[str] = None

    def wrap(self, command: list[str], job_name: str) -> list[str]:
        partition = self.partition or config["slurm_part"]
        head = ["srun"] if self.sync else ["sbatch"]
        head += ["-p", partition] if partition else []
        head += ["-N", str(self.nnode), "--ntasks-per-node=1", f"--gres=gpu:{self.ngpus}", f"--job-name={job_name}"]
        return [*head, *command] if self.sync else [*head, "--wrap", shlex.join(command)]


@dataclass(frozen=True)
class ScoLauncher(Launcher):
    """SenseCore ``sco acp jobs create``: ``workspace``, ``partition`` (its AEC2 name), container ``image`` and
    worker ``spec`` (the machine type; ``.ngpus`` is appended) default to ``$RAGJET_SCO_WORKSPACE``,
    ``$RAGJET_SCO_PARTITION``, ``$RAGJET_SCO_IMAGE``, ``$RAGJET_SCO_SPEC``. A job is always submitted in the
    background; ``sync`` records whether its submitter means to wait for it."""

    workspace: Optional[str] = None
    partition: Optional[str] = None
    image: Optional[str] = None
    spec: Optional[str] = None
    framework: str = "pytorch"

    def wrap(self, command: list[str], job_name: str) -> list[str]:
        spec = self.spec or config["sco_spec"]
        options = {"--workspace-name": self.workspace or config["sco_workspace"],
                   "--aec2-name": self.partition or config["sco_partition"],
                   "--job-name": job_name,
                   "--container-image-url": self.image or config["sco_image"],
                   "--training-framework": self.framework,
                   "--worker-nodes": str(self.nnode),
                   "--worker-spec": f"{spec}.{self.ngpus}" if spec else str(self.ngpus),
                   "--command": shlex.join(command)}
        return ["sco", "acp", "jobs", "create", *(f"{k}={v}" for k, v in options.items() if v is not None)]


CLUSTER_LAUNCHERS: dict[str, type[Launcher]] = {"slurm": SlurmLauncher, "sco": ScoLauncher}


def empty() -> EmptyLauncher:
    """Run the engine here, as a child process."""
    return EmptyLauncher()


def slurm(nnode: int = 1, ngpus: int = 1, sync: bool = True, partition: Optional[str] = None) -> SlurmLauncher:
    return SlurmLauncher(nnode=nnode, ngpus=ngpus, sync=sync, partition=partition)


def sco(nnode: int = 1, ngpus: int = 1, sync: bool = True, **options: Optional[str]) -> ScoLauncher:
    """``options``: workspace, partition, image, spec, framework (see `ScoLauncher`)."""
    return ScoLauncher(nnode=nnode, ngpus=ngpus, sync=sync, **options)


def remote(nnode: int = 1, ngpus: int = 1, sync: bool = True, **options: Optional[str]) -> Launcher:
    """The cluster named by ``$RAGJET_LAUNCHER`` (``slurm``, the default, or ``sco``), as LazyLLM's ``remote``."""
    kind = config["launcher"]
    if kind not in CLUSTER_LAUNCHERS:
        raise ValueError(f"RAGJET_LAUNCHER={kind!r}; choose one of: {', '.join(CLUSTER_LAUNCHERS)}")
    return CLUSTER_LAUNCHERS[kind](nnode=nnode, ngpus=ngpus, sync=sync, **options)


def _resolve_program(command: list[str]) -> list[str]:
    """A bare program name (``vllm``, ``lmdeploy``) found on PATH, or else beside this Python (an unactivated
    virtual environment's console scripts)."""
    program = command[0]
    if os.sep in program or shutil.which(program):
        return command
    beside = Path(sys.executable).parent / program
    return [str(beside), *command[1:]] if beside.exists() else command
