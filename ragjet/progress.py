"""`Progress`: long work shows how far it is, on a terminal and in a log.

On a terminal it is a tqdm bar. Elsewhere (a server's background indexing, a CI log) a bar draws nothing, so
a line goes to `ragjet.LOG` every `LOG_EVERY_S` seconds instead: the count, the share done and an estimate
of the time left.
"""
from __future__ import annotations

import time
from typing import Any

from tqdm import tqdm

from .log import LOG

LOG_EVERY_S = 30.0


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


class Progress:
    """``with Progress(total, "embedding MediumChunk", "chunk") as p: ... p.update(n)``."""

    def __init__(self, total: int, desc: str, unit: str) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self._bar = tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False)
        self._done = 0
        self._start = self._logged = time.monotonic()

    def update(self, n: int) -> None:
        self._bar.update(n)
        self._done += n
        now = time.monotonic()
        if self._bar.disable and now - self._logged >= LOG_EVERY_S and self._done < self.total:
            self._logged = now
            left = (now - self._start) / self._done * (self.total - self._done)
            LOG.info("%s: %d of %d %ss (%.0f%%), about %s left", self.desc, self._done, self.total, self.unit,
                     100 * self._done / self.total, _duration(left))

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._bar.close()
