"""`ChatPrompter`: turns a pipeline's input into chat messages (`ChatModule`, in chat_module.py, applies it).

The lecture's LLM step receives ``{"query": ..., "context_str": ...}`` and a prompter whose instruction names
``{context_str}``; the prompter renders that into an OpenAI-style message list (system instruction with the
extra keys filled in, prior turns, the user's query). Only the placeholders of known keys are replaced, so an
instruction may hold other braces (JSON examples) untouched. Local and online chat models apply the same
prompter, so a pipeline can swap one for the other.
"""
from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

from ..log import LOG

Message = dict[str, str]
QUERY_KEY = "query"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
EXTRA_MESSAGES = "Here are some extra messages you can referred to:\n\n"  # LazyLLM's words, kept as its users know them


class ChatPrompter:
    """``instruction`` is the system message (a str), or ``{"system": ..., "user": ...}`` where the user
    template places ``{query}`` itself. ``extra_keys`` are the input keys filled into the instruction
    (an extra key the instruction does not name is appended to the system message under its name).
    ``history`` is a fixed conversation put before each query: ``[[user, assistant], ...]`` or messages."""

    def __init__(self, instruction: str | Mapping[str, str] | None = None, extra_keys: Optional[Sequence[str]] = None,
                 show: bool = False, tools: Optional[list[dict[str, Any]]] = None,
                 history: Optional[Sequence[Any]] = None, *, extro_keys: Optional[Sequence[str]] = None) -> None:
        if extra_keys is not None and extro_keys is not None:
            raise TypeError("pass extra_keys or its alias extro_keys, not both")
        if isinstance(instruction, Mapping):
            unknown = set(instruction) - {"system", "user"}
            if unknown:
                raise ValueError(f"instruction dict keys must be 'system' and/or 'user', got {sorted(unknown)}")
            self.system = instruction.get("system") or ""
            self.user = instruction.get("user") or "{query}"
        else:
            self.system = instruction or ""
            self.user = "{query}"
        self.extra_keys: list[str] = list(extra_keys if extra_keys is not None else extro_keys or [])
        if QUERY_KEY in self.extra_keys:
            raise ValueError("'query' is always the user message; do not list it in extra_keys")
        self.history: list[Message] = history_messages(history)
        self.tools = tools
        self.show = show

    def inputs(self, input: str | Mapping[str, Any]) -> dict[str, str]:
        """``input`` as ``{"query": ..., key: ...}``; a plain string is the query with empty extra keys, or, as
        in LazyLLM, fills the instruction's one ``{slot}`` (``ChatPrompter('Translate: {text}')('bonjour')``).

        A dict fills the extra keys and every other key its templates name (``{instruction}``); its query is
        ``"query"``, or, as in LazyLLM, the one key left over (``dict(instruction=..., input=...)``), or empty
        when the templates name every key."""
        slots = [k for k in self.template_keys() if k not in self.extra_keys and k != QUERY_KEY]
        if isinstance(input, str):
            if len(slots) == 1:
                return {QUERY_KEY: "", slots[0]: input, **{k: "" for k in self.extra_keys}}
            return {QUERY_KEY: input, **{k: "" for k in self.extra_keys}}
        if not isinstance(input, Mapping):
            raise TypeError(f"a prompter takes a str or a dict with 'query', got {type(input).__name__}")
        named = [k for k in slots if k in input]
        left = [k for k in input if k not in (*self.extra_keys, *named)]
        query_key = QUERY_KEY if QUERY_KEY in input else left[0] if len(left) == 1 else None
        if query_key is None and not left and named:
            input, query_key = {**input, QUERY_KEY: ""}, QUERY_KEY
        missing = [k for k in ((QUERY_KEY,) if query_key is None else ()) + tuple(self.extra_keys) if k not in input]
        if missing:
            raise KeyError(f"prompter input lacks key(s) {missing}; it has {sorted(map(str, input))} and needs "
                           f"{[QUERY_KEY, *self.extra_keys]}")
        return {QUERY_KEY: _text(input[query_key]), **{k: _text(input[k]) for k in (*self.extra_keys, *named)}}

    def template_keys(self) -> list[str]:
        """The keys the instruction's templates name as ``{key}``."""
        return list(dict.fromkeys(_PLACEHOLDER.findall(self.system + self.user)))

    def generate_prompt(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None,
                        tools: Optional[list[dict[str, Any]]] = None, label: Optional[str] = None, *,
                        show: bool = False, return_dict: bool = False) -> str | dict[str, Any]:
        """LazyLLM's entry point: ``{"messages": [...]}`` (plus ``tools``) with ``return_dict=True``, as an
        OpenAI-compatible model receives them; else the same messages as one text, each under its role (a
        local model applies its own chat template to the messages instead)."""
        messages = self.messages(input, history)
        tools = tools or self.tools
        self._show(messages, show)
        if return_dict:
            return {"messages": messages, **({"tools": tools} if tools else {})}
        text = "\n\n".join(f"{m['role']}:\n{m['content']}" for m in messages)
        return text + "\n\nassistant:\n" + (label or "")

    def _show(self, messages: list[Message], show: bool) -> None:
        """Log the prompt when this call (``show``) or the prompter (``show=True`` at construction) asks."""
        if show or self.show:
            LOG.info("prompt: %s", messages)

    def messages(self, input: str | Mapping[str, Any], history: Optional[Sequence[Any]] = None) -> list[Message]:
        """The messages for one call: system, fixed history, the call's ``history``, then the user query."""
        return self.render(self.inputs(input), history_messages(history))

    def render(self, values: Mapping[str, str], history: Sequence[Message] = ()) -> list[Message]:
        """Messages from already checked ``values`` (see `inputs`); chat models re-render after shrinking them."""
        extras = {k: v for k, v in values.items() if k != QUERY_KEY}
        template = self.system_template(values)
        system = _fill(template, extras)
        named = template + self.user_template(values)
        appended = "".join(f"### {k}:\n{extras[k]}\n\n" for k in self.extra_keys if "{" + k + "}" not in named)
        if appended:
            system = "\n\n".join(p for p in (system, EXTRA_MESSAGES + appended.rstrip("\n")) if p)
        out = [{"role": "system", "content": system}] if system else []
        out += self.history + list(history)
        out.append({"role": "user", "content": _fill(self.user_template(values),
                                                     {**extras, QUERY_KEY: values[QUERY_KEY]})})
        return out


    def system_template(self, values: Mapping[str, str]) -> str:
        """The system message before its keys are filled: the instruction, whatever the input (a subclass
        may choose one per input, as the RAG prompt does by the question's language)."""
        return self.system

    def user_template(self, values: Mapping[str, str]) -> str:
        """The user message before its keys are filled (``{query}`` unless the instruction gave one)."""
        return self.user


def history_messages(history: Optional[Sequence[Any]]) -> list[Message]:
    """``[[user, assistant], ...]`` pairs or OpenAI-style messages as a message list."""
    out: list[Message] = []
    for turn in history or ():
        if isinstance(turn, Mapping):
            out.append({"role": str(turn["role"]), "content": _text(turn["content"])})
        elif isinstance(turn, (list, tuple)) and len(turn) == 2:
            out += [{"role": "user", "content": _text(turn[0])}, {"role": "assistant", "content": _text(turn[1])}]
        else:
            raise ValueError(f"a history turn is a [user, assistant] pair or a message dict, got {turn!r}")
    return out


def as_prompter(prompter: "ChatPrompter | str | Mapping[str, str] | None") -> ChatPrompter:
    """A prompter from what ``llm.prompt(...)`` accepts: a ChatPrompter, an instruction, or None (no system)."""
    return prompter if isinstance(prompter, ChatPrompter) else ChatPrompter(prompter)


def _fill(template: str, values: Mapping[str, str]) -> str:
    """Replace ``{key}`` for the known keys only, in one pass (a value holding ``{query}`` stays as it is)."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
