"""Serving a flow over HTTP: `WebModule` (chat page + OpenAI-compatible API, ``ragjet serve``) and
`ServerModule` (one module as a JSON service).

Only the standard library is imported here; FastAPI and uvicorn (``ragjet[web]``) load when a server starts.
"""
from .server_module import ServerModule
from .web_module import WebModule

__all__ = ["ServerModule", "WebModule"]
