"""An OpenAI chat-completions request, checked field by field before any work starts.

A malformed request must get a 400 that names the field (``messages[0].content[1].text``), never a 500 from
deep inside the pipeline: OpenAI's SDKs and browsers show that message to a person, and a 500 also makes
uvicorn close the keep-alive connection. Parameters ragjet cannot honour (``n > 1``, ``tools``) are refused
by name rather than silently ignored; sampling options (``temperature``, ``max_tokens``...) are the server's
own settings and are accepted when well-typed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

ROLES = ("system", "developer", "user", "assistant", "tool", "function")
NUMBER_FIELDS = ("temperature", "top_p", "presence_penalty", "frequency_penalty")
INTEGER_FIELDS = ("max_tokens", "max_completion_tokens", "seed")
UNSUPPORTED = ("tools", "functions", "tool_choice", "function_call")


class RequestError(ValueError):
    """A request that cannot be answered; the message names the field and what it should be."""


@dataclass(frozen=True)
class ChatRequest:
    """What ragjet uses of a chat request: the last user message, whether to stream, whether the stream's
    last chunk should carry ``usage``."""

    query: str
    stream: bool = False
    include_usage: bool = False


def parse_chat_request(body: Any) -> ChatRequest:
    """The request ``body`` (decoded JSON) as a `ChatRequest`; RequestError naming the first bad field."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {_kind(body)}")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty list of {role, content}")
    texts = [_message_text(m, i) for i, m in enumerate(messages)]
    query = next((text for m, text in zip(reversed(messages), reversed(texts)) if m["role"] == "user"), None)
    if query is None or not query.strip():
        raise RequestError("the last user message has no text: 'messages' needs a user message with content")
    stream = _optional(body, "stream", bool, "true or false") or False
    options = _optional(body, "stream_options", dict, "an object such as {\"include_usage\": true}") or {}
    include_usage = _optional(options, "include_usage", bool, "true or false", "stream_options.") or False
    if options and not stream:
        raise RequestError("'stream_options' is only allowed with \"stream\": true")
    n = _optional(body, "n", int, "an integer")
    if n is not None and n != 1:
        raise RequestError(f"'n' is {n}: ragjet returns one answer per request (n=1)")
    for name in UNSUPPORTED:
        if body.get(name):
            raise RequestError(f"'{name}' is not supported: ragjet's chat answers from its documents and calls "
                               f"no tools; leave '{name}' out")
    for name in NUMBER_FIELDS:
        _optional(body, name, (int, float), "a number")
    for name in INTEGER_FIELDS:
        _optional(body, name, int, "an integer")
    _optional(body, "model", str, "a string")
    return ChatRequest(query, stream, include_usage)


def _message_text(message: Any, i: int) -> str:
    """A message's text (its text parts joined); RequestError naming ``messages[i]...`` when malformed."""
    where = f"messages[{i}]"
    if not isinstance(message, dict):
        raise RequestError(f"'{where}' must be an object with 'role' and 'content', got {_kind(message)}")
    role = message.get("role")
    if role not in ROLES:
        raise RequestError(f"'{where}.role' must be one of {', '.join(ROLES)}, got {role!r}"[:300])
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return _valid_text(content, f"{where}.content")
    if not isinstance(content, list):
        raise RequestError(f"'{where}.content' must be a string or a list of parts, got {_kind(content)}")
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise RequestError(f"'{where}.content[{j}]' must be an object such as "
                               f"{{\"type\": \"text\", \"text\": \"...\"}}, got {_kind(part)}")
        kind = part.get("type", "text")
        if kind != "text":
            raise RequestError(f"'{where}.content[{j}].type' is {kind!r}: only text parts are supported"[:300])
        text = part.get("text")
        if not isinstance(text, str):
            raise RequestError(f"'{where}.content[{j}].text' must be a string, got {_kind(text)}")
        texts.append(_valid_text(text, f"{where}.content[{j}].text"))
    return "".join(texts)


def _valid_text(text: str, where: str) -> str:
    """``text`` if it is valid Unicode: JSON's ``\\ud800`` escapes can smuggle lone surrogates, which no
    tokenizer accepts."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise RequestError(f"'{where}' holds a lone UTF-16 surrogate (\\u{ord(text[exc.start]):04x} at "
                           f"character {exc.start}): send valid Unicode text") from None
    return text


def _optional(holder: dict, name: str, kind: Any, expected: str, prefix: str = "") -> Optional[Any]:
    """``holder[name]`` when it has type ``kind`` (booleans are not numbers), None when absent or null."""
    value = holder.get(name)
    if value is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise RequestError(f"'{prefix}{name}' must be {expected}, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    """A JSON value's type, as a client would name it."""
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
