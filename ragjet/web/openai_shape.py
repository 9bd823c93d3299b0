"""The OpenAI chat-completions shapes of an answer: the request's last user message in, and out either one
``chat.completion`` or ``chat.completion.chunk`` server-sent events.

Beyond OpenAI's fields: the sources of an answer (file, score, snippet; `ragjet.flow.source_view`) ride in an
extra ``sources`` field of the response or of the last stream chunk. When the flow numbered them for the model
(the RAG chat's prompt), ``cited`` lists the numbers the answer cites and each source says whether it was
cited; ``ungrounded`` lists the answer's key words that appear in none of its sources (`check_grounding`: a
non-empty list flags the answer as possibly made up, and a notice says so); ``unsupported`` is true for an answer
that shares no word beyond the question's with any sentence of its sources (flagged likewise); ``evidence`` quotes the one sentence of
the sources the answer rests on (``{"source": n, "text": ...}``, n its source's number; null when none: an
abstention, an answer sharing no content word with them); ``notices`` says what a step had
to change or the reader should know (a prompt cut to fit the context window). While a request
waits for the in-process model, stream chunks with no choices and a ``queue`` field (``{"position": n}``: n
requests ahead) tell the client.
"""
from __future__ import annotations

import json
import time
import uuid
from typing import Any, AsyncIterator, Optional

from fastapi.responses import JSONResponse, Response

from .answer_stream import Answer
from .errors import error_body, error_response


async def sse_events(answer: Answer, model: str, include_usage: bool = False) -> AsyncIterator[str]:
    """The answer as OpenAI ``chat.completion.chunk`` events; the last chunk carries ``sources`` (and
    ``cited``, ``notices``); a chunk without choices carries the ``queue`` position while the request waits;
    with ``include_usage`` (``stream_options``) a last chunk without choices carries ``usage``, as OpenAI's."""
    rid, created = completion_id(), int(time.time())

    def chunk(delta: Optional[dict[str, str]], finish: Optional[str] = None, **extra: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
        data = {"id": rid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": choices, **extra}
        return f"data: {compact_json(data)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    async for kind, value in answer.events():
        if kind == "token":
            yield chunk({"content": value})
        elif kind == "queue":
            yield chunk(None, queue={"position": value})
        elif kind == "end":
            usage = value.pop("usage")
            yield chunk({}, "stop", **value)
            if include_usage:
                yield chunk(None, usage=usage)
        else:
            yield f"data: {compact_json(error_body(value, 'server_error'))}\n\n"
    yield "data: [DONE]\n\n"


async def whole_answer(answer: Answer, model: str) -> Response:
    """The answer as one OpenAI ``chat.completion`` with ``usage`` (500 with an error body when the flow
    fails)."""
    pieces: list[str] = []
    extra: dict[str, Any] = {}
    async for kind, value in answer.events():
        if kind == "token":
            pieces.append(value)
        elif kind == "error":
            return error_response(500, value, "server_error")
        elif kind == "end":
            extra = value
    return JSONResponse({
        "id": completion_id(), "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                     "finish_reason": "stop"}],
        **extra})


def completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def compact_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
