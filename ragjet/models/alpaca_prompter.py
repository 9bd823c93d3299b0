"""`AlpacaPrompter`: the instruction format of Stanford Alpaca and the models fine-tuned on it, as LazyLLM offers it.

The prompt is one instruction block (the task, with the input's keys filled in) answered under a
``### Response:`` header; Alpaca has no conversation, so history is refused.
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from .prompter import ChatPrompter, Message

# Stanford Alpaca's published preamble (tatsu-lab/stanford_alpaca), which its fine-tunes expect verbatim.
ALPACA_PREAMBLE = ("Below is an instruction that describes a task. Write a response that appropriately "
                   "completes the request.")
INSTRUCTION_HEADER = "### Instruction:\n"
RESPONSE_HEADER = "### Response:\n"


class AlpacaPrompter(ChatPrompter):
    """``AlpacaPrompter('Summarize: {text}')('...')``: the input fills the instruction's slot (a dict fills its
    keys and ``extra_keys``); ``instruction`` may be ``{"system": ..., "user": ...}``, the user part following
    the instruction block. A chat model receives the block as its system message and the user part as the
    user message; `generate_prompt` gives the text a completion model reads, ending in ``### Response:``."""

    def __init__(self, instruction: str | Mapping[str, str] | None = None, extra_keys: Optional[Sequence[str]] = None,
                 show: bool = False, tools: Optional[list[dict[str, Any]]] = None) -> None:
        super().__init__(instruction, extra_keys, show=show, tools=tools)
        if not isinstance(instruction, Mapping):
            self.user = ""

    def system_template(self, values: Mapping[str, str]) -> str:
        return f"{ALPACA_PREAMBLE}\n\n{INSTRUCTION_HEADER}{self.system}"

    def user_template(self, values: Mapping[str, str]) -> str:
        return self.user or ("{query}" if values.get("query") else "")

    def messages(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None) -> list[Message]:
        if history:
            raise ValueError("AlpacaPrompter has no conversation history (Alpaca's format is one instruction); "
                             "use ChatPrompter for a chat with history")
        return super().messages(input)

    def generate_prompt(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None,
                        tools: Optional[list[dict[str, Any]]] = None, label: Optional[str] = None, *,
                        show: bool = False, return_dict: bool = False) -> str | dict[str, Any]:
        """The messages with ``return_dict=True``; else Alpaca's text: the instruction block, the user part,
        then ``### Response:`` (and ``label``, the expected answer, when building training text)."""
        if return_dict:
            return super().generate_prompt(input, history, tools, label, show=show, return_dict=True)
        messages = self.messages(input, history)
        self._show(messages, show)
        body = "\n\n".join(m["content"] for m in messages if m["content"])
        return f"{body}\n\n{RESPONSE_HEADER}{label or ''}"
