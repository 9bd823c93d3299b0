"""Uploads indexed off the request: a large file's ingestion runs in the background and its request answers
at once (202, with a URL to ask how it went), so no HTTP request is held for minutes; a small file is indexed
before its request answers (201), as a client expects of a quick upload, unless it has to queue behind other
indexing work.
"""
from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Optional

from ..log import LOG

WAIT_UP_TO_BYTES = 64 << 10  # uploads up to this size are indexed before the request answers
# ... unless indexing takes longer than this (another upload, or the large files a server indexes after its
# start, come first): the request then answers 202 like a large upload's.
WAIT_UP_TO_SECONDS = 10.0
KEPT_JOBS = 200  # finished jobs remembered for their status URL
JOBS_PATH = "/v1/documents/jobs"


class IndexingJobs:
    """``start(path)`` runs ``on_upload(path)`` in ``pool``; ``status(id)`` says how it is going (``indexing``, ``done`` or ``failed`` with the error)."""

    def __init__(self, on_upload: Callable[[Path], Any], pool: ThreadPoolExecutor) -> None:
        self.on_upload = on_upload
        self.pool = pool
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, path: Path) -> tuple[str, Future]:
        """The job id, and a future done when the job is (it never raises: the status holds any error)."""
        job_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._jobs[job_id] = {"id": job_id, "file": path.name, "state": "indexing", "started": time.time()}
            while len(self._jobs) > KEPT_JOBS:
                self._jobs.popitem(last=False)
        return job_id, self.pool.submit(self._run, job_id, path)

    def _run(self, job_id: str, path: Path) -> None:
        try:
            self.on_upload(path)
            update: dict[str, Any] = {"state": "done"}
        except Exception as exc:  # the file is stored; its status says that ingesting it failed
            LOG.error("indexing the upload %s failed", path, exc_info=exc)
            update = {"state": "failed", "error": f"stored {path.name} but ingesting it failed: {exc}"}
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None:
                job.update(update, seconds=round(time.time() - job["started"], 3))

    def status(self, job_id: str) -> Optional[dict[str, Any]]:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else {k: v for k, v in job.items() if k != "started"}
