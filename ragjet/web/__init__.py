"""Serving a flow over HTTP: `WebModule` (chat page + OpenAI-compatible API) and ``ragjet serve``.

Only the standard library is imported here; FastAPI and uvicorn (``ragjet[web]``) load when a server starts.
"""
from .web_module import WebModule

__all__ = ["WebModule"]
