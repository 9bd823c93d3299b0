"""Errors as OpenAI-compatible clients expect them: ``{"error": {"message", "type"}}`` with a status code."""
from __future__ import annotations

import uuid
from typing import Any, Optional

from fastapi.responses import JSONResponse

from ..log import LOG


def error_response(status: int, message: str, kind: str, headers: Optional[dict[str, str]] = None) -> JSONResponse:
    """An OpenAI-style error: ``{"error": {"message", "type"}}``."""
    return JSONResponse(error_body(message, kind), status_code=status, headers=headers)


def error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def server_error(method: str, path: str, exc: BaseException) -> JSONResponse:
    """A generic 500 for an unexpected failure: the traceback goes to the log under an error id, the client
    gets the id and no internals."""
    error_id = uuid.uuid4().hex[:12]
    LOG.error("%s %s failed (error %s)", method, path, error_id, exc_info=exc)
    return error_response(500, f"the server failed on this request (error {error_id}; its log has the details)",
                          "server_error")
