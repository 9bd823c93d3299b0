"""Errors as OpenAI-compatible clients expect them: ``{"error": {"message", "type"}}`` with a status code."""
from __future__ import annotations

from typing import Any, Optional

from fastapi.responses import JSONResponse


def error_response(status: int, message: str, kind: str, headers: Optional[dict[str, str]] = None) -> JSONResponse:
    """An OpenAI-style error: ``{"error": {"message", "type"}}``."""
    return JSONResponse(error_body(message, kind), status_code=status, headers=headers)


def error_body(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}


def error_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
