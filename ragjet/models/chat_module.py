"""`ChatModule`: what every chat model shares, local, online or served by an engine: ``prompt()``, a call that
answers whole or streams, and the loop guard every answer passes."""
from __future__ import annotations

from typing import Any, Iterable, Iterator, Mapping, Optional, Sequence

from .loop_guard import DEFAULT_LOOP_RULES, LoopRules, stop_loops
from .prompter import ChatPrompter, as_prompter


class ChatModule:
    """What local and online chat models share: ``prompt()``, and ``__call__`` that returns the answer, or an
    iterator of text pieces when the module was made with ``stream=True``. Subclasses implement `_chat`.

    Every answer passes `stop_loops` with ``loop_rules`` (None turns it off): an answer that starts repeating
    itself ends there, whatever model or engine wrote it."""

    def __init__(self, stream: bool = False, loop_rules: Optional[LoopRules] = DEFAULT_LOOP_RULES) -> None:
        self._stream = stream
        self.loop_rules = loop_rules
        self.prompter = ChatPrompter()

    def prompt(self, prompter: ChatPrompter | str | Mapping[str, str] | None = None) -> "ChatModule":
        """Use ``prompter`` for every later call (as LazyLLM's ``llm.prompt(...)``); returns the module."""
        self.prompter = as_prompter(prompter)
        return self

    @property
    def _prompt(self) -> ChatPrompter:
        """LazyLLM's name of the module's prompter (programs render with ``llm._prompt.generate_prompt(...)``)."""
        return self.prompter

    def __call__(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None,
                 **kw: Any) -> str | Iterator[str]:
        if self._stream:
            return self.stream(input, history=history, **kw)
        return "".join(self._guarded(self._chat(input, history, stream=False, **kw)))

    def stream(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None,
               **kw: Any) -> Iterator[str]:
        """The answer as it is generated, piece by piece."""
        return self._guarded(self._chat(input, history, stream=True, **kw))

    def _guarded(self, pieces: Iterable[str]) -> Iterator[str]:
        return stop_loops(pieces, self.loop_rules) if self.loop_rules else iter(pieces)

    def _chat(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]], stream: bool,
              **kw: Any) -> Iterator[str]:
        raise NotImplementedError
