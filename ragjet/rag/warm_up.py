"""Loading a Document's embedding models in the background, when that costs the start nothing.

A restart embeds nothing, and a question asked before takes its vector from the embedding cache: until the
first answer the store alone is needed (a database client's import and connection, ~0.5 s of this
interpreter). Loading a model (~0.2 s of the same interpreter, which holds one lock) while the store connects,
or while a retrieval runs, only slows them down. So the models load once the store is ready and no retrieval
is in flight; a question that needs a model meanwhile loads it itself, on its own thread, while the store
connects. A service then finds its models loaded by its first new question.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator, Sequence

if TYPE_CHECKING:
    from ..models.embed.embed_model import EmbedModelBase
    from .store import StoreBase

POLL_S = 0.05  # how often the waiting load looks whether the script has ended


class ModelWarmUp:
    """The background load of one Document's models, held off by the retrievals in flight."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Event()
        self._idle.set()

    @contextmanager
    def held_off(self) -> Iterator[None]:
        """Mark a retrieval in flight: the load waits until none is."""
        with self._lock:
            self._in_flight += 1
            self._idle.clear()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                if not self._in_flight:
                    self._idle.set()

    def start(self, store: "StoreBase", models: Sequence["EmbedModelBase"]) -> None:
        """Load ``models`` on a thread once ``store`` is ready and no retrieval is in flight. The thread is not a
        daemon, so a script that ends during a load waits for it (the runtime aborts a process that exits in
        the middle of one); it loads nothing once the script's main thread has ended (a bm25-only script, or
        one whose questions needed no model)."""
        if models:
            threading.Thread(target=self._load, args=(store, models), name="ragjet model warm-up").start()

    def _load(self, store: "StoreBase", models: Sequence["EmbedModelBase"]) -> None:
        main = threading.main_thread()
        while not (store.wait_ready(POLL_S) and self._idle.wait(POLL_S)):
            if not main.is_alive():
                return
        if main.is_alive():
            for model in models:
                model.start()
