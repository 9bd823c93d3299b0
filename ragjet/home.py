"""ragjet's home directory: caches live here (``RAGJET_HOME``, default ~/.cache/ragjet).

Exported models go to ``RAGJET_MODELS`` (default ``<home>/models``), kept apart so a test or a user can
start from an empty embedding cache without exporting the model again.
"""
from __future__ import annotations

import os
from pathlib import Path


def ragjet_home() -> Path:
    home = Path(os.environ.get("RAGJET_HOME") or Path.home() / ".cache" / "ragjet")
    home.mkdir(parents=True, exist_ok=True)
    return home


def models_home() -> Path:
    path = Path(os.environ.get("RAGJET_MODELS") or ragjet_home() / "models")
    path.mkdir(parents=True, exist_ok=True)
    return path
