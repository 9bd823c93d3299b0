"""`LlamaCpp`: GGUF models on the CPU through llama.cpp's OpenAI-compatible servers.

``deploy.LlamaCpp`` is the CPU default. It becomes the best of three engines installed:

* `LlamaServer`, llama.cpp's own C++ server binary (``llama-server``), when one is found (``$RAGJET_LLAMA_SERVER``,
  ``$RAGJET_HOME/bin/llama-server`` or ``PATH``: one built from llama.cpp's sources). It has *parallel
  slots* (``parallel``, default 4) with continuous batching: concurrent requests share each forward pass, so
  total throughput grows with the clients. Its known arguments are the flags its ``--help`` lists.
* `LlamaEngineServer`, the same C++ server from the prebuilt xllamacpp wheel that ragjet's in-process model
  runs on (``python -m ragjet.models.llama_cpp.engine``): the same slots and API with nothing to build; its known
  arguments are the engine process's options (``ctx-size``, ``parallel``, ``threads``, ``threads-batch``,
  ``pooling``).
* `LlamaCppPython`, llama-cpp-python's server (``python -m llama_cpp.server``, ``pip install
  'ragjet[llama-cpp-python]'``, which compiles). It holds one ``Llama`` (one context, one sequence) behind a
  lock and has no parallel slots, so concurrent clients are served one after another. By default it
  *interrupts* a streaming answer as soon as another request waits (``interrupt_requests``), which would cut
  answers short under concurrency: ragjet turns that off. Its known arguments are the fields of the installed
  server's settings.

Each engine answers as in-process `LocalChat` does: where a server's defaults differ (the Python server's
``logits_all``, batch threads), ragjet passes the in-process values, and every request carries the model's
decoding options (``temperature``, ``repeat_penalty``, ``max_tokens``). ``n_ctx`` and ``n_threads`` mean the
same for all (the C++ server's ``ctx-size`` is shared by its slots, so ragjet gives it ``n_ctx`` per slot).
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar, Mapping, Optional

from ..home import ragjet_home
from ..models.llama_cpp.engine import engine_options
from ..models.llama_cpp.threads import DEFAULT_THREADS
from ..settings import config
from .base import DeployMethod, EngineNotInstalled

# Set by ragjet from start()'s arguments, so not engine arguments a user passes.
_MANAGED = frozenset({"model", "model_alias", "host", "port", "alias"})
DEFAULT_SLOTS = 4
DEFAULT_CTX = 2048
BUILD_HINT = ("put a llama.cpp build's llama-server on PATH or in $RAGJET_LLAMA_SERVER (`--deploy llamacpp` serves the "
              "same slots from the prebuilt xllamacpp wheel without it)")


def llama_server_binary() -> Optional[Path]:
    """The C++ ``llama-server`` to run: ``$RAGJET_LLAMA_SERVER``, ``$RAGJET_HOME/bin/llama-server``, then PATH."""
    for candidate in (config["llama_server"], ragjet_home() / "bin" / "llama-server",
                      shutil.which("llama-server")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


class LlamaCpp(DeployMethod):
    """llama.cpp on the CPU: `LlamaServer` (parallel slots) when its binary is found, else `LlamaEngineServer`
    (the same server, prebuilt) when xllamacpp is installed, else `LlamaCppPython`.

    ``n_threads`` defaults to the in-process model's measured choice (`DEFAULT_THREADS`); the batch threads to
    ``n_threads`` on the Python server, as `LocalChat` does, and to every core on the C++ one (its batches hold
    the concurrent slots)."""

    name: ClassVar[str] = "llamacpp"
    package: ClassVar[str] = "xllamacpp (pip install 'ragjet[local]')"

    def __new__(cls, *args: Any, **kwargs: Any) -> "LlamaCpp":
        return super().__new__(cls._engine())

    @classmethod
    def _engine(cls) -> type["LlamaCpp"]:
        """The class that serves: this one, or for ``LlamaCpp`` itself the best server installed."""
        if cls is not LlamaCpp:
            return cls
        return next((engine for engine in ENGINES if engine.installed()), LlamaEngineServer)

    @classmethod
    def installed(cls) -> bool:
        if cls is LlamaCpp:
            return any(engine.installed() for engine in ENGINES)
        return super().installed()

    @classmethod
    def require_installed(cls) -> None:
        if cls is LlamaCpp:
            cls._engine().require_installed()
        else:
            super().require_installed()

    @classmethod
    def known_args(cls) -> list[str]:
        return cls._engine().server_args()

    @classmethod
    def server_args(cls) -> list[str]:
        """The arguments of this server, in its spelling."""
        raise NotImplementedError


class LlamaCppPython(LlamaCpp):
    """llama-cpp-python's server: one request at a time."""

    name: ClassVar[str] = "llamacpp-python"
    package: ClassVar[str] = "llama-cpp-python[server] (pip install 'ragjet[llama-cpp-python]', which compiles)"
    modules: ClassVar[tuple[str, ...]] = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                                          "pydantic_settings")
    # As llama_cpp.Llama (LocalChat) has them: the server's own defaults differ (logits_all=True computes the
    # vocabulary's logits for every prompt token, slowing prompt processing; n_threads_batch = all cores).
    ARGS: ClassVar[Mapping[str, Any]] = {"n_ctx": DEFAULT_CTX, "n_threads": DEFAULT_THREADS, "n_threads_batch": None,
                                         "logits_all": False, "interrupt_requests": False}
    NAME_FLAG: ClassVar[str] = "--model_alias"
    SWITCH_BOOLS: ClassVar[bool] = False

    @classmethod
    def server_args(cls) -> list[str]:
        return _python_server_settings()

    def program(self, model: str) -> list[str]:
        return [self.launcher.python, "-m", "llama_cpp.server", "--model", model]

    def command_args(self, model: str) -> dict[str, Any]:
        args = super().command_args(model)
        args["n_threads_batch"] = args["n_threads_batch"] or args["n_threads"]
        return args


class _CppServer(LlamaCpp):
    """llama.cpp's C++ server with ``parallel`` slots (built or prebuilt); ``n_ctx`` is each slot's context.

    One sequence decodes with ``threads`` (the in-process choice); batches, which llama.cpp runs with
    ``threads-batch``, get every core by default: a prompt, and the slots of concurrent clients decoding
    together. Measured here (2 cores, SmolLM2 Q4_1, 4 clients): 1.2x the one-client throughput with one batch
    thread, 1.8x with two, one client unchanged."""

    ARGS: ClassVar[Mapping[str, Any]] = {"n_ctx": DEFAULT_CTX, "threads": DEFAULT_THREADS, "threads-batch": None,
                                         "parallel": DEFAULT_SLOTS}
    # llama-cpp-python's names for the same settings, so one args dict suits both servers.
    ALIASES: ClassVar[Mapping[str, str]] = {"n-threads": "threads", "n-threads-batch": "threads-batch",
                                            "n-batch": "batch-size", "n-ubatch": "ubatch-size", "slots": "parallel"}
    NAME_FLAG: ClassVar[str] = "--alias"
    HEALTH_PATH: ClassVar[str] = "/health"

    def command_args(self, model: str) -> dict[str, Any]:
        args = super().command_args(model)
        args["threads-batch"] = args["threads-batch"] or os.cpu_count() or args["threads"]
        args["ctx-size"] = int(args.pop("n_ctx")) * int(args["parallel"])
        return args

    def _flag(self, key: str, value: Any) -> list[str]:
        if key == "flash-attn" and isinstance(value, bool):  # llama-server takes on / off / auto
            return ["--flash-attn", "on" if value else "off"]
        return super()._flag(key, value)


class LlamaServer(_CppServer):
    """llama.cpp's own ``llama-server`` binary."""

    name: ClassVar[str] = "llama-server"
    package: ClassVar[str] = "llama-server (llama.cpp's C++ server)"
    modules: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def installed(cls) -> bool:
        return llama_server_binary() is not None

    @classmethod
    def require_installed(cls) -> None:
        if not cls.installed():
            raise EngineNotInstalled(f"the {cls.name} engine needs llama.cpp's C++ server binary; {BUILD_HINT}")

    @classmethod
    def server_args(cls) -> list[str]:
        return sorted({*cls.ARGS, *_llama_server_flags(str(cls.binary()))} - {"ctx-size"})

    @classmethod
    def binary(cls) -> Path:
        cls.require_installed()
        return llama_server_binary()

    def program(self, model: str) -> list[str]:
        return [str(self.binary()), "--model", model]


class LlamaEngineServer(_CppServer):
    """llama.cpp's C++ server from the prebuilt xllamacpp wheel, in its own process: `LlamaServer`'s slots,
    nothing to build."""

    name: ClassVar[str] = "llama-engine"
    package: ClassVar[str] = "xllamacpp (pip install 'ragjet[local]')"
    modules: ClassVar[tuple[str, ...]] = ("xllamacpp",)

    @classmethod
    def server_args(cls) -> list[str]:
        return sorted({*cls.ARGS, *engine_options()} - _MANAGED - {"ctx-size"})

    def program(self, model: str) -> list[str]:
        return [self.launcher.python, "-m", "ragjet.models.llama_cpp.engine", "--model", model]


ENGINES = (LlamaServer, LlamaEngineServer, LlamaCppPython)  # the order `LlamaCpp` prefers them in


@functools.cache
def _python_server_settings() -> list[str]:
    """The installed Python server's settings (its command-line options), less those ragjet sets."""
    LlamaCppPython.require_installed()
    from llama_cpp.server.settings import Settings

    return sorted(set(Settings.model_fields) - _MANAGED)


@functools.cache
def _llama_server_flags(binary: str) -> list[str]:
    """The long flags ``llama-server --help`` lists, less those ragjet sets."""
    shown = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    flags = set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", shown.stdout + shown.stderr))
    return sorted(flags - _MANAGED)
