"""`DeployMethod`: an inference engine as a launch command, a readiness probe and a running process.

An engine class states what differs between engines: its program, its known arguments with their defaults
(``ARGS``, in the engine's own spelling), how it names host, port and the served model, its health endpoint
and the flag marking AWQ weights. Everything else is shared: argument checking (``tensor_parallel_size`` and
``tensor-parallel-size`` are one argument; an unknown one is an error listing the known ones), the command,
start on a free port through the launcher, readiness by polling the health endpoint (never by reading the
log), and stop. A running engine is spoken to over its OpenAI-compatible API at `url`.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional

from ..log import LOG
from ..http_client import http_ok
from ..procs import free_port, stop_group, wait_until_ready
from . import launchers
from .launchers import Launcher

DEFAULT_START_TIMEOUT_S = 600.0


class EngineNotInstalled(ImportError):
    """The engine's package is missing; the message names it and how to install it."""


class DeployMethod:
    """``Engine(args)``: ``args`` are engine arguments plus an optional ``'launcher'`` (default: this machine).

    ``start(model)`` returns once the engine answers its health endpoint, within ``start_timeout`` seconds;
    an engine that exits or stays silent raises RuntimeError with the end of its log. Use ``with`` or
    `stop` to end it; ragjet also ends it at exit and on SIGTERM/SIGINT."""

    name: ClassVar[str]
    package: ClassVar[str]
    modules: ClassVar[tuple[str, ...]]
    ARGS: ClassVar[Mapping[str, Any]] = {}
    # another engine's name for an argument (dashed) → this engine's; ``slots`` names how many requests the
    # engine decodes at once, in each engine's own spelling
    ALIASES: ClassVar[Mapping[str, str]] = {}
    AWQ_FLAG: ClassVar[Optional[tuple[str, str]]] = None
    HOST_FLAG: ClassVar[str] = "--host"
    PORT_FLAG: ClassVar[str] = "--port"
    NAME_FLAG: ClassVar[str] = "--served-model-name"
    HEALTH_PATH: ClassVar[str] = "/v1/models"
    SWITCH_BOOLS: ClassVar[bool] = True  # True: ``--flag`` for True, nothing for False; else ``--flag True``
    # A request option under this engine's own name (vLLM and LMDeploy say repetition_penalty)
    OPTION_NAMES: ClassVar[Mapping[str, str]] = {}

    def __init__(self, args: Optional[Mapping[str, Any]] = None, *,
                 start_timeout: float = DEFAULT_START_TIMEOUT_S) -> None:
        given = dict(args or {})
        self.launcher: Launcher = given.pop("launcher", None) or launchers.empty()
        self._given = {self._known_name(key): value for key, value in given.items()}
        self.args: dict[str, Any] = {**self.ARGS, **self._given}
        self.start_timeout = start_timeout
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.log_path: Optional[Path] = None
        self.served_name: Optional[str] = None

    # -- arguments ----------------------------------------------------------------------------------------
    @classmethod
    def known_args(cls) -> list[str]:
        """The engine arguments this method accepts, in the engine's spelling."""
        return sorted(cls.ARGS)

    @classmethod
    def _known_name(cls, key: str) -> str:
        canonical = {_canon(k): k for k in cls.known_args()}
        name = cls.ALIASES.get(_canon(key), key)
        if _canon(name) not in canonical:
            raise ValueError(f"unknown {cls.name} argument {key!r}; known arguments: {', '.join(cls.known_args())}, "
                             f"launcher (host, port and the model are set by ragjet)")
        return canonical[_canon(name)]

    def with_defaults(self, defaults: Mapping[str, Any]) -> "DeployMethod":
        """Take ``defaults`` (such as a local model's context size) for the known arguments not given."""
        known = {_canon(k): k for k in self.known_args()}
        for key, value in defaults.items():
            name = known.get(_canon(self.ALIASES.get(_canon(key), key)))
            if name is not None and name not in self._given:
                self.args[name] = value
        return self

    # -- the command --------------------------------------------------------------------------------------
    def program(self, model: str) -> list[str]:
        """The engine's program and the model argument."""
        raise NotImplementedError

    def build_command(self, model: str | Path, port: int, served_name: Optional[str] = None) -> list[str]:
        """The full launch command: the engine on ``port``, wrapped by the launcher."""
        model = str(model)
        command = [*self.program(model), self.HOST_FLAG, self.launcher.host, self.PORT_FLAG, str(port),
                   self.NAME_FLAG, served_name or _default_name(model)]
        for key, value in self.command_args(model).items():
            command += self._flag(key, value)
        return self.launcher.wrap(command, job_name=f"ragjet-{self.name}-{port}")

    def command_args(self, model: str) -> dict[str, Any]:
        """The arguments passed for ``model``: the given ones over the defaults, plus the AWQ flag for a model
        whose name says AWQ (``Qwen2-72B-Instruct-AWQ``) unless that argument was given."""
        args = dict(self.args)
        if self.AWQ_FLAG and "awq" in model.lower():
            key, value = self.AWQ_FLAG
            args[key] = args.get(key) or value
        return args

    def _flag(self, key: str, value: Any) -> list[str]:
        flag = f"--{key}"
        if value is None or (value is False and self.SWITCH_BOOLS):
            return []
        if isinstance(value, bool):
            return [flag] if self.SWITCH_BOOLS else [flag, str(value)]
        if isinstance(value, (list, tuple)):
            return [flag, *map(str, value)]
        if isinstance(value, dict):
            return [flag, json.dumps(value)]
        return [flag, str(value)]

    # -- the process --------------------------------------------------------------------------------------
    @classmethod
    def missing_modules(cls) -> list[str]:
        return [m for m in cls.modules if importlib.util.find_spec(m) is None]

    @classmethod
    def installed(cls) -> bool:
        return not cls.missing_modules()

    @classmethod
    def require_installed(cls) -> None:
        missing = cls.missing_modules()
        if missing:
            raise EngineNotInstalled(f"the {cls.name} engine needs the package {cls.package} (missing module(s): "
                                     f"{', '.join(missing)}); install it with: pip install '{cls.package}'")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def url(self) -> str:
        """The OpenAI-compatible base URL of the running engine."""
        if self.port is None:
            raise RuntimeError(f"the {self.name} engine is not running; call start() first")
        return f"http://{self.launcher.host}:{self.port}/v1"

    def start(self, model: str | Path, served_name: Optional[str] = None) -> "DeployMethod":
        """Start the engine serving ``model`` on a free port and wait until it answers."""
        if self.running:
            raise RuntimeError(f"the {self.name} engine already runs at {self.url}; stop() it first")
        if self.launcher.local:  # a cluster launcher refuses below; the engine is installed there, not here
            self.require_installed()
        port = free_port()
        command = self.build_command(model, port, served_name)
        began = time.perf_counter()
        self.proc, self.log_path = self.launcher.launch(command, self.name)
        LOG.info("starting %s on port %d (pid %d, log %s)", self.name, port, self.proc.pid, self.log_path)
        try:
            wait_until_ready(self.proc, lambda: self._answers(port), self.start_timeout, self.log_path,
                             f"{self.name} engine on {self.launcher.host}:{port}")
        except BaseException:
            self.stop()
            raise
        self.port, self.served_name = port, served_name or _default_name(str(model))
        LOG.info("%s serves %s at %s (ready in %.1f s)", self.name, self.served_name, self.url,
                 time.perf_counter() - began)
        return self

    def _answers(self, port: int) -> bool:
        """Our engine (not whatever else took the port) is alive and its health endpoint says it can serve."""
        return self.running and http_ok(self.launcher.host, port, self.HEALTH_PATH)

    def stop(self) -> None:
        """Stop the engine and every process it started; a no-op when it is not running. The log of an engine
        that served is removed; that of one that failed to start stays, for the error that names it."""
        if self.proc is not None:
            stop_group(self.proc)
            LOG.info("stopped %s (pid %d)", self.name, self.proc.pid)
            if self.port is not None and self.log_path is not None:
                self.log_path.unlink(missing_ok=True)
        self.proc, self.port = None, None

    def __enter__(self) -> "DeployMethod":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._given!r}, launcher={self.launcher!r})"


def _canon(key: str) -> str:
    return key.replace("_", "-")


def _default_name(model: str) -> str:
    """What the engine calls the model: a GGUF file's stem (``x.Q4_1.gguf`` → ``x.Q4_1``), else the id as given."""
    return Path(model).stem if model.lower().endswith(".gguf") else model
