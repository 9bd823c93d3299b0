"""ragjet's home directory: caches live here (``RAGJET_HOME``, default ~/.cache/ragjet).

Exported models go to ``RAGJET_MODELS`` (default ``<home>/models``), kept apart so a test or a user can
start from an empty embedding cache without exporting the model again.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from .settings import config


def ragjet_home() -> Path:
    home = Path(config["home"]).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    return home


def models_home() -> Path:
    path = Path(config["models"] or ragjet_home() / "models").expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def aliased_path(path: Path) -> Path:
    """``path`` with the longest matching prefix of ``config['path_aliases']`` (``OLD=NEW,...``) replaced: a
    program written for another machine's folders reads this machine's copy."""
    best: Optional[tuple[Path, Path]] = None
    for item in filter(None, (part.strip() for part in config["path_aliases"].split(","))):
        old, eq, new = item.partition("=")
        if not eq or not old.strip() or not new.strip():
            raise ValueError(f"path_aliases entry {item!r} is not OLD=NEW (e.g. /mnt/lustre/docs=./docs)")
        old_path = Path(old.strip()).expanduser()
        if (path == old_path or old_path in path.parents) and (best is None or len(old_path.parts) > len(best[0].parts)):
            best = (old_path, Path(new.strip()).expanduser())
    return path if best is None else best[1] / path.relative_to(best[0])
