"""The chat-model contract as a pytest mixin: `ChatModelContract`, what ragjet's flows, the RAG chat and the web
page rely on in a chat model (`ragjet.models.chat_module.ChatModule`), for ragjet's own and yours.

A test class inherits the mixin and gives the model as the ``chat_model`` fixture (made without
``stream=True``). Each call passes ``max_tokens`` and ``temperature=0``, keywords every chat model takes, so a
greedy model answers the same question the same way; ``deterministic = False`` skips the checks that need it.
What the checks hold a model to, and why:

- a whole answer is text, and the stream is that same answer in text pieces: the page streams what the API
  returns whole;
- a history of earlier turns is taken (the chat's follow-up questions);
- ``max_tokens`` bounds the answer (a piece holds at least one token);
- a stream left early (a reader who closed the page) leaves the model answering the next question as before.
"""
from __future__ import annotations

from typing import Any

__all__ = ["ChatModelContract", "QUESTION"]

QUESTION = "What is the capital of France? Answer in one word."
LONG_QUESTION = "Count from one to fifty in words, separated by commas."
HISTORY = [["Hello, who are you?", "I am an assistant that answers questions about your documents."]]


class ChatModelContract:
    """Inherit it and define the ``chat_model`` fixture."""

    deterministic: bool = True
    max_tokens: int = 8

    def ask(self, model: Any, question: str, stream: bool = False, **kw: Any) -> Any:
        options = {"max_tokens": self.max_tokens, "temperature": 0, **kw}
        return model.stream(question, **options) if stream else model(question, **options)

    def test_a_whole_answer_is_text(self, chat_model: Any) -> None:
        answer = self.ask(chat_model, QUESTION)
        assert isinstance(answer, str) and answer.strip(), f"a whole answer is non-empty text, got {answer!r}"

    def test_the_stream_is_the_whole_answer_in_pieces(self, chat_model: Any) -> None:
        pieces = list(self.ask(chat_model, QUESTION, stream=True))
        assert pieces and all(isinstance(piece, str) for piece in pieces), pieces
        if self.deterministic:
            assert "".join(pieces) == self.ask(chat_model, QUESTION), "streamed and whole answers differ"

    def test_a_history_is_taken(self, chat_model: Any) -> None:
        answer = self.ask(chat_model, QUESTION, history=HISTORY)
        assert isinstance(answer, str) and answer.strip()

    def test_max_tokens_bounds_the_answer(self, chat_model: Any) -> None:
        pieces = [piece for piece in self.ask(chat_model, LONG_QUESTION, stream=True, max_tokens=4) if piece]
        assert 0 < len(pieces) <= 4, f"max_tokens=4 gave {len(pieces)} pieces: {pieces}"

    def test_a_stream_left_early_leaves_the_model_answering(self, chat_model: Any) -> None:
        before = self.ask(chat_model, QUESTION)
        stream = self.ask(chat_model, LONG_QUESTION, stream=True, max_tokens=32)
        next(iter(stream))
        close = getattr(stream, "close", None)  # a generator's: what the web page calls when its reader leaves
        if close is not None:
            close()
        after = self.ask(chat_model, QUESTION)
        assert isinstance(after, str) and after.strip()
        if self.deterministic:
            assert after == before, "the answer changed after a stream was left"
