"""A chat model of a user's own (a `ChatModule` subclass) through `ragjet.testing.chat_contract`; the local and
online models run it beside their own tests (tests/models/llamacpp/test_local_llm.py, test_online.py)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from ragjet.models.chat_module import ChatModule
from ragjet.testing.chat_contract import QUESTION, ChatModelContract


class Rulebook(ChatModule):
    """Answers from a table, one word per piece, as many words as ``max_tokens`` allows."""

    ANSWERS = {QUESTION: "Paris."}

    def _chat(self, input: Any, history: Any, stream: bool, max_tokens: int = 256, **kw: Any) -> Iterator[str]:
        words = self.ANSWERS.get(str(input), "one, two, three, four, five, six, seven, eight").split(" ")
        return (word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words[:max_tokens]))


class TestAUserChatModule(ChatModelContract):
    @pytest.fixture
    def chat_model(self):
        return Rulebook()


def test_the_contract_catches_a_stream_that_is_not_the_whole_answer():
    class Chatty(Rulebook):
        def stream(self, input, history=None, **kw):
            return iter(["Sure! ", *super().stream(input, history, **kw)])

    with pytest.raises(AssertionError, match="streamed and whole answers differ"):
        ChatModelContract().test_the_stream_is_the_whole_answer_in_pieces(Chatty())
