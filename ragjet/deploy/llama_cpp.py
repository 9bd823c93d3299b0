"""`LlamaCpp`: llama-cpp-python's OpenAI-compatible server, the engine for GGUF models on a CPU.

``python -m llama_cpp.server --model M.gguf --host 127.0.0.1 --port N --n_ctx .. --n_threads ..``. Its known
arguments are the fields of the installed server's settings (``llama_cpp/server/settings.py``), so every
option of that version can be passed.

What it cannot do: serve several requests at once. The server holds one ``Llama`` (one context, one
sequence) behind a lock; it has no parallel slots (``n_seq_max`` is not exposed, the C++ server's
``--parallel`` does not exist here), so concurrent clients are served one after another. By default it also
*interrupts* a streaming answer as soon as another request waits (``interrupt_requests``), which would cut
answers short under concurrency: ragjet turns that off. Where the server's defaults differ from in-process
llama-cpp-python's (``logits_all``, ``n_threads_batch``, the request's ``repeat_penalty``), ragjet passes the
in-process values, so a deployed model answers as `LocalChat` does, token for token.
"""
from __future__ import annotations

import functools
from typing import Any, ClassVar, Mapping

from ..models.llama_cpp_llm import DEFAULT_THREADS
from .base import DeployMethod

# Set by ragjet from start()'s arguments, so not engine arguments a user passes.
_MANAGED = frozenset({"model", "model_alias", "host", "port"})


class LlamaCpp(DeployMethod):
    """One GGUF model behind llama-cpp-python's server; ``n_threads`` defaults to the in-process model's
    measured choice (`DEFAULT_THREADS`) and ``n_threads_batch`` to ``n_threads``, as `LocalChat` does."""

    name: ClassVar[str] = "llamacpp"
    package: ClassVar[str] = "llama-cpp-python[server]"
    modules: ClassVar[tuple[str, ...]] = ("llama_cpp", "uvicorn", "fastapi", "sse_starlette", "starlette_context",
                                          "pydantic_settings")
    # As llama_cpp.Llama (LocalChat) has them: the server's own defaults differ (logits_all=True computes the
    # vocabulary's logits for every prompt token, slowing prompt processing; n_threads_batch = all cores).
    ARGS: ClassVar[Mapping[str, Any]] = {"n_ctx": 2048, "n_threads": DEFAULT_THREADS, "n_threads_batch": None,
                                         "logits_all": False, "interrupt_requests": False}
    NAME_FLAG: ClassVar[str] = "--model_alias"
    SWITCH_BOOLS: ClassVar[bool] = False
    # The server's requests default to repeat_penalty 1.1 where llama_cpp.Llama (LocalChat) uses 1.0: the same
    # model would answer differently, and a little slower, once deployed.
    REQUEST_OPTIONS: ClassVar[Mapping[str, Any]] = {"repeat_penalty": 1.0}

    @classmethod
    def known_args(cls) -> list[str]:
        return _server_settings()

    def program(self, model: str) -> list[str]:
        return [self.launcher.python, "-m", "llama_cpp.server", "--model", model]

    def command_args(self, model: str) -> dict[str, Any]:
        args = super().command_args(model)
        args["n_threads_batch"] = args["n_threads_batch"] or args["n_threads"]
        return args


@functools.cache
def _server_settings() -> list[str]:
    """The installed server's settings (its command-line options), less those ragjet sets."""
    LlamaCpp.require_installed()
    from llama_cpp.server.settings import Settings

    return sorted(set(Settings.model_fields) - _MANAGED)
