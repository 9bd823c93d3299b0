"""Documents uploaded to a running server: read from the request, named safely, written atomically into the
document folder (the server then ingests them)."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from fastapi import Request

from ..log import LOG
from ..rag.readers import READERS

UPLOAD_PATH = "/v1/documents"
MAX_NAME_BYTES = 200
_UNSAFE_CHARS = re.compile(r"[^\w\-. ()\[\]]")


async def read_upload(request: Request) -> tuple[str, bytes]:
    """(client's file name, bytes) from a multipart form (field ``file``) or a raw body with ``?filename=``,
    sent as ``application/octet-stream`` (a ``text/plain`` body is what another site's page can post without
    a preflight, so it is refused)."""
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind not in ("", "application/octet-stream", "multipart/form-data"):
        raise ValueError(f"an upload is multipart/form-data (a 'file' field) or raw bytes sent as "
                         f"application/octet-stream, not {kind}")
    if kind == "multipart/form-data":
        async with request.form() as form:
            file = form.get("file")
            if file is None or isinstance(file, str):
                raise ValueError("the multipart form needs a 'file' field holding the document")
            return file.filename or "", await file.read()
    name = request.query_params.get("filename") or request.headers.get("x-filename")
    if not name:
        raise ValueError("send multipart/form-data with a 'file' field, or the raw bytes with ?filename=NAME")
    return name, await request.body()


def safe_filename(name: str) -> str:
    """A name safe to create in the document folder: its last path component (either slash), unusual
    characters replaced, no leading dot; only extensions ragjet can read. Raises ValueError otherwise."""
    if "\x00" in name:
        raise ValueError("the file name contains a NUL byte")
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    base = _UNSAFE_CHARS.sub("_", base).lstrip(".")
    if not base:
        raise ValueError(f"{name!r} is not a usable file name")
    suffix = Path(base).suffix.lower()
    if suffix not in READERS:
        raise ValueError(f"unsupported file type {suffix or '(none)'!r}; supported: {', '.join(READERS.names())}")
    stem = base[: len(base) - len(suffix)].encode()[: MAX_NAME_BYTES - len(suffix.encode())]
    return stem.decode("utf-8", "ignore") + base[len(base) - len(suffix):]


def store_upload(docs_dir: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``docs_dir/safe_filename(name)``, atomically (a same-named file is replaced)."""
    target = docs_dir / safe_filename(name)
    docs_dir.mkdir(parents=True, exist_ok=True)
    if target.resolve().parent != docs_dir.resolve():
        raise ValueError(f"{name!r} does not name a file inside the document folder")
    fd, tmp = tempfile.mkstemp(dir=docs_dir, prefix=".upload-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    LOG.info("stored upload %s (%d bytes)", target, len(data))
    return target
