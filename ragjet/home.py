"""ragjet's home directory: exported models and caches live here (``RAGJET_HOME``, default ~/.cache/ragjet)."""
from __future__ import annotations

import os
from pathlib import Path


def ragjet_home() -> Path:
    home = Path(os.environ.get("RAGJET_HOME") or Path.home() / ".cache" / "ragjet")
    home.mkdir(parents=True, exist_ok=True)
    return home
