"""The deploy-method contract as a pytest mixin: `DeployMethodContract`, what ragjet relies on in an inference
engine (`ragjet.deploy.base.DeployMethod`), for the engines ragjet ships and one of your own.

A test class inherits the mixin, sets ``method`` (the `DeployMethod` class), ``args`` (its arguments for a
small, quick start) and ``missing_model_log`` (what the engine's log says of a model that is not there), and
gives the model the engine serves as the ``served_model`` fixture. What the checks hold an engine to, and why:

- an unknown argument is refused, listing the known ones (a typo must not start an engine with defaults);
- `start` returns once the engine answers, at its `url`, over the OpenAI protocol, whole and streamed (the
  one client ragjet speaks to every engine with);
- `stop` ends the engine and frees its port, and removes the log of an engine that served;
- a model that is not there fails `start` quickly, with the engine's own words from its log, and leaves no
  process behind.
"""
from __future__ import annotations

import re
import socket
import time
from pathlib import Path
from typing import Any, ClassVar, Mapping

import pytest

from ..deploy.base import DeployMethod
from ..http_client import http_ok
from ..models.online import OnlineChatModule
from ..procs import live_pids, stat_fields

__all__ = ["DeployMethodContract", "alive", "wait_gone"]

QUESTION = "What is the capital of France?"
GONE_WITHIN_S = 10.0


class DeployMethodContract:
    """Inherit it; set ``method``, ``args`` and ``missing_model_log``; define the ``served_model`` fixture."""

    method: ClassVar[type[DeployMethod]]
    args: ClassVar[Mapping[str, Any]] = {}
    missing_model_log: ClassVar[str] = ""
    start_timeout: ClassVar[float] = 120.0

    def engine(self) -> DeployMethod:
        return self.method(dict(self.args), start_timeout=self.start_timeout)

    def test_an_unknown_argument_lists_the_known_ones(self) -> None:
        with pytest.raises(ValueError, match=rf"unknown {re.escape(self.method.name)} argument "
                                             rf"'no-such-argument'; known arguments: "):
            self.method({"no-such-argument": 1})

    def test_start_serves_the_openai_protocol_and_stop_frees_everything(self, served_model: Any) -> None:
        with self.engine().start(served_model) as engine:
            pid, port, log = engine.proc.pid, engine.port, engine.log_path
            assert engine.running and engine.url.endswith(f":{port}/v1") and http_ok(
                engine.launcher.host, port, engine.HEALTH_PATH)
            chat = OnlineChatModule(base_url=engine.url, model=engine.served_name, max_tokens=8, temperature=0)
            assert chat(QUESTION).strip()
            pieces = list(chat.stream(QUESTION))
            assert pieces and all(isinstance(piece, str) for piece in pieces)
            assert pid in live_pids()
        assert engine.proc is None and not engine.running
        assert wait_gone(pid), f"the {self.method.name} engine (pid {pid}) outlived stop()"
        assert log is None or not log.exists(), "the log of an engine that served is removed at stop"
        with socket.socket() as sock:  # free for a server again (closed connections may linger in TIME_WAIT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((engine.launcher.host, port))

    def test_a_missing_model_fails_start_with_the_engine_log(self, tmp_path: Path) -> None:
        began = time.monotonic()
        with pytest.raises(RuntimeError, match=rf"exited with code[\s\S]*{re.escape(self.missing_model_log)}"):
            self.engine().start(tmp_path / "missing.gguf")
        assert time.monotonic() - began < self.start_timeout
        assert live_pids() == [], "a failed start leaves no process behind"


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie counts as ended). Linux's /proc, as the engines' own stack."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def wait_gone(pid: int, timeout: float = GONE_WITHIN_S) -> bool:
    """Whether process ``pid`` has ended within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not alive(pid)
