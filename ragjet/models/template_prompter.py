"""`Prompter`: LazyLLM's plain template prompter, a format string filled from the input, for completion-style
models and fine-tuning formats (``Prompter.from_template('alpaca')``).

A chat model receives the filled template as its one user message. Conversation history goes where the
template names it (``{llm_chat_history}``, each turn joined by ``eoh`` and turns by ``eoa``); a template
without that slot gets the history as earlier messages. `get_response` cuts the model's echo of the prompt.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping, Optional, Sequence

from .prompter import _PLACEHOLDER, QUERY_KEY, ChatPrompter, Message, _fill, _text, history_messages

# Prompt formats that fine-tuned models were trained on, by name.
TEMPLATES: dict[str, dict[str, str]] = {
    # Alpaca-LoRA's template with an input (tloen/alpaca-lora, templates/alpaca.json)
    "alpaca": {
        "prompt": "Below is an instruction that describes a task, paired with an input that provides further "
                  "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
                  "{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
        "response_split": "### Response:",
    },
}


class Prompter(ChatPrompter):
    """``Prompter('Answer the following: {question}')('What is AI?')``: a str fills the template's one key, a
    dict fills every key (a missing one is an error naming it). ``response_split`` marks where the answer
    starts in a model's output (`get_response`); ``chat_prompt`` is the template used when there is history."""

    def __init__(self, prompt: Optional[str] = None, response_split: Optional[str] = None, *,
                 chat_prompt: Optional[str] = None, history_symbol: str = "llm_chat_history",
                 eoa: Optional[str] = None, eoh: Optional[str] = None, show: bool = False) -> None:
        super().__init__(show=show)
        self.prompt_template, self.response_split = prompt, response_split
        self.history_symbol, self.eoa, self.eoh = history_symbol, eoa or "", eoh or ""
        keys = list(dict.fromkeys(_PLACEHOLDER.findall(prompt or "")))
        if chat_prompt is not None:
            extra = set(_PLACEHOLDER.findall(chat_prompt)) - set(keys)
            if extra != {history_symbol} or history_symbol in keys:
                raise ValueError(f"chat_prompt must name the prompt's keys {keys} and {{{history_symbol}}}, "
                                 f"nothing else; it names {sorted(set(_PLACEHOLDER.findall(chat_prompt)))}")
        elif history_symbol in keys:
            chat_prompt = prompt
            keys.remove(history_symbol)
        self.chat_template = chat_prompt
        self.extra_keys = keys  # every key is filled from the input; the shrinking of a long prompt cuts them

    @classmethod
    def from_dict(cls, prompt: Mapping[str, Any], *, show: bool = False) -> "Prompter":
        """From ``{"prompt": ..., "response_split": ..., ...}`` (the constructor's arguments)."""
        return cls(**prompt, show=show)

    @classmethod
    def from_template(cls, template_name: str, *, show: bool = False) -> "Prompter":
        """A known format by name (`TEMPLATES`)."""
        if template_name not in TEMPLATES:
            raise ValueError(f"unknown prompt template {template_name!r}; known: {', '.join(sorted(TEMPLATES))}")
        return cls.from_dict(TEMPLATES[template_name], show=show)

    @classmethod
    def from_file(cls, fname: str | os.PathLike[str], *, show: bool = False) -> "Prompter":
        """From a JSON file holding the constructor's arguments."""
        with open(fname, encoding="utf-8") as fp:
            return cls.from_dict(json.load(fp), show=show)

    @classmethod
    def empty(cls) -> "Prompter":
        """A prompter that passes the input through unchanged."""
        return cls()

    def inputs(self, input: str | Mapping[str, Any]) -> dict[str, str]:
        if self.prompt_template is None:
            return {QUERY_KEY: _text(input)}
        if not isinstance(input, Mapping):
            if len(self.extra_keys) != 1:
                raise ValueError(f"the prompt {self.prompt_template!r} has the keys {self.extra_keys}: give a dict "
                                 f"with them, not a {type(input).__name__}")
            input = {self.extra_keys[0]: input}
        missing = [k for k in self.extra_keys if k not in input]
        if missing:
            raise KeyError(f"prompt input lacks key(s) {missing}; it has {sorted(map(str, input))}")
        return {QUERY_KEY: "", **{k: _text(input[k]) for k in self.extra_keys}}

    def render(self, values: Mapping[str, str], history: Sequence[Message] = ()) -> list[Message]:
        if self.prompt_template is None:
            return [*self.history, *history, {"role": "user", "content": values[QUERY_KEY]}]
        fields = {k: v for k, v in values.items() if k != QUERY_KEY}
        if self.chat_template is None:
            return [*history, {"role": "user", "content": _fill(self.prompt_template, fields)}]
        turns = [(history[i]["content"], history[i + 1]["content"] if i + 1 < len(history) else "")
                 for i in range(0, len(history), 2)]
        past = self.eoa.join(self.eoh.join(turn) for turn in turns)
        template = self.chat_template if history else self.prompt_template
        return [{"role": "user", "content": _fill(template, {**fields, self.history_symbol: past})}]

    def generate_prompt(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None,
                        tools: Optional[list[dict[str, Any]]] = None, label: Optional[str] = None, *,
                        show: bool = False, return_dict: bool = False) -> str | dict[str, Any]:
        """The filled template (``label`` appended, for training text); the messages with ``return_dict``."""
        if tools:
            raise ValueError("Prompter does not describe tools to a model; use ChatPrompter(tools=...)")
        messages = self.render(self.inputs(input), history_messages(history))
        self._show(messages, show)
        if return_dict:
            return {"messages": messages}
        return "\n\n".join(m["content"] for m in messages) + (label or "")

    def get_response(self, response: str, input: Optional[str] = None) -> str:
        """The answer in a model's output: without the echoed prompt ``input``, or after ``response_split``."""
        if input and response.startswith(input):
            return response[len(input):]
        return response if self.response_split is None else response.split(self.response_split)[-1]
