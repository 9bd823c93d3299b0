"""ragjet's home directory: caches live here (``RAGJET_HOME``, default ~/.cache/ragjet).

Exported models go to ``RAGJET_MODELS`` (default ``<home>/models``), kept apart so a test or a user can
start from an empty embedding cache without exporting the model again.
"""
from __future__ import annotations

from pathlib import Path

from .settings import config


def ragjet_home() -> Path:
    home = Path(config["home"]).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def models_home() -> Path:
    path = Path(config["models"] or ragjet_home() / "models").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path
