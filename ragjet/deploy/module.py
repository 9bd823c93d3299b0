"""`DeployedModel`: a chat model served by an engine, answering through the one OpenAI-compatible client.

``TrainableModule(name).deploy_method(deploy.X, {...})`` returns one. ``start()`` launches the engine (a
first call does it too); calls, streaming and ``prompt(...)`` then go through `OnlineChatModule` at the
engine's URL, so every engine is measured and used the same way; ``stop()`` (or ``with``) ends the engine.
"""
from __future__ import annotations

import threading
from typing import Any, Iterator, Mapping, Optional, Sequence

from ..flow.lifecycle import Startable
from ..models.deployment import attach_deployer
from ..models.chat_module import ChatModule
from ..models.online import OnlineChatModule
from ..models.prompter import ChatPrompter
from .base import DeployMethod
from .registry import MethodLike, make

REQUEST_TIMEOUT_S = 600.0  # a long answer from a CPU engine, queued behind other clients, takes minutes


class DeployedModel(ChatModule, Startable):
    """``model`` (a GGUF path or a hub id) served by ``method`` under ``served_name``; ``options``
    (``max_tokens``, ``temperature``...) go into every request."""

    def __init__(self, method: DeployMethod, model: str, served_name: str, stream: bool = False,
                 prompter: Optional[ChatPrompter] = None, options: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(stream)
        if prompter is not None:
            self.prompter = prompter
        self.method = method
        self.model = model
        self.served_name = served_name
        self.options = dict(options or {})
        self._client: Optional[OnlineChatModule] = None
        self._lock = threading.Lock()

    def start(self) -> "DeployedModel":
        """Launch the engine and wait until it answers (once; later calls return at once)."""
        self._connect()
        return self

    def _connect(self) -> OnlineChatModule:
        """The client of the running engine, starting the engine first if needed."""
        with self._lock:
            if self._client is None:
                self.method.start(self.model, self.served_name)
                self._client = OnlineChatModule(base_url=self.method.url, model=self.served_name,
                                                timeout=REQUEST_TIMEOUT_S,
                                                **{self.method.OPTION_NAMES.get(k, k): v
                                                   for k, v in self.options.items()})
            return self._client

    def stop(self) -> None:
        """Stop the engine (and every process it started)."""
        with self._lock:
            if self._client is not None:
                self._client.client.close()
                self._client = None
            self.method.stop()

    @property
    def url(self) -> str:
        return self.method.url

    def __enter__(self) -> "DeployedModel":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _chat(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]], stream: bool,
              **kw: Any) -> Iterator[str]:
        client = self._connect()
        client.prompter = self.prompter
        return client._chat(input, history, stream, **kw)

    def __repr__(self) -> str:
        return f"DeployedModel({self.model!r}, {self.method!r})"


def deploy_model(method: MethodLike, args: Optional[Mapping[str, Any]], *, model: str, served_name: str,
                 stream: bool, prompter: ChatPrompter, engine_defaults: Optional[Mapping[str, Any]] = None,
                 options: Optional[Mapping[str, Any]] = None) -> DeployedModel:
    """What a model's ``deploy_method`` returns: the engine built from ``method``/``args`` (taking
    ``engine_defaults`` where it knows them and they were not given) around ``model``."""
    engine = make(method, args).with_defaults(engine_defaults or {})
    return DeployedModel(engine, model, served_name, stream=stream, prompter=prompter, options=options)


attach_deployer(deploy_model)
