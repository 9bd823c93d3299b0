"""SimpleDirectoryReader: a folder (or a list of files) in, one root DocNode per text part out.

It imitates LlamaIndex's / LazyLLM's reader of the same name. One bad file never aborts a load: it is skipped
with a warning that names it and the reason, and counted in `reader.report`, so a corpus with a stray binary or
an unsupported format still loads, and the user learns what was left out.
"""
from __future__ import annotations

import os
import stat
import sys
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence, Union

from tqdm import tqdm

from ragjet.home import aliased_path
from ragjet.log import LOG
from ragjet.rag.doc_node import LAZY_ROOT_NAME, DocNode, make_uid
from ragjet.rag.readers.registry import READERS, UnreadableFile, normalize_ext
from ragjet.rag.readers.report import ReadReport, decoding_notes

PathLike = Union[str, "os.PathLike[str]"]
UserReader = Callable[[Path], Any]
Part = tuple[str, dict[str, Any]]

# Below this many files a progress bar is more noise than help.
PROGRESS_MIN_FILES = 50


def _matches(pattern: str, rel: str, name: str) -> bool:
    """Glob match of ``pattern`` against a path relative to the input folder or its name; a leading "**/" also
    matches no folder at all, as in glob."""
    if fnmatch(rel, pattern) or fnmatch(name, pattern):
        return True
    return pattern.startswith("**/") and fnmatch(rel, pattern[3:])


def _extractor_matches(pattern: str, rel: str, name: str) -> bool:
    """A file_extractor key is a glob ("*.yml", "**/*.conf") or, as in LlamaIndex, a bare extension (".yml")."""
    if pattern.startswith(".") and not any(ch in pattern for ch in "*?["):
        return name.lower().endswith(pattern.lower())
    return _matches(pattern, rel, name)


def _parts(result: Any) -> list[Part]:
    """Normalise what a reader returned (str, list of str, of (str, dict) or of DocNode) to (text, metadata)."""
    if isinstance(result, str):
        return [(result, {})]
    if not isinstance(result, (list, tuple)):
        raise TypeError(f"a reader must return str, list[str], list[tuple[str, dict]] or list[DocNode], "
                        f"not {type(result).__name__}")
    parts: list[Part] = []
    for item in result:
        if isinstance(item, str):
            parts.append((item, {}))
        elif isinstance(item, DocNode):
            parts.append((item.text, {**item.global_metadata, **item.metadata}))
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], dict):
            parts.append(item)
        else:
            raise TypeError(f"a reader returned a part of type {type(item).__name__}; "
                            f"parts must be str, (str, dict) or DocNode")
    return parts


class SimpleDirectoryReader:
    """Read ``input_dir`` (a folder or a single file) or ``input_files`` into root DocNodes.

    ``exclude`` are glob patterns matched against each path relative to ``input_dir`` and against its name (a
    matching folder is not entered). ``required_exts`` keeps only those extensions. ``file_extractor`` maps a glob
    (or extension) to a reader tried before the built-in ones. Files are read in sorted order, so node order and
    uids are the same on every run. Call the reader, or its `load_data`, to get the nodes; `report` then says
    what was loaded and skipped.
    """

    def __init__(self, input_dir: Optional[PathLike] = None, input_files: Optional[Sequence[PathLike]] = None,
                 exclude: Optional[Sequence[str]] = None, exclude_hidden: bool = True, recursive: bool = False,
                 required_exts: Optional[Sequence[str]] = None,
                 file_extractor: Optional[Mapping[str, UserReader]] = None,
                 num_files_limit: Optional[int] = None) -> None:
        if input_dir is None and not input_files:
            raise ValueError("SimpleDirectoryReader needs input_dir or input_files")
        self.input_dir = Path(os.path.abspath(aliased_path(Path(input_dir)))) if input_dir is not None else None
        if self.input_dir is not None and not self.input_dir.exists():
            raise FileNotFoundError(f"input_dir {str(input_dir)!r} does not exist (resolved to {self.input_dir})")
        self.input_files = [Path(os.path.abspath(aliased_path(Path(f)))) for f in input_files or ()]
        for given, path in zip(input_files or (), self.input_files):
            if not path.is_file():
                raise FileNotFoundError(f"input file {str(given)!r} does not exist or is not a file")
        self.exclude = list(exclude or ())
        self.exclude_hidden = exclude_hidden
        self.recursive = recursive
        self.required_exts = {normalize_ext(e) for e in required_exts} if required_exts else None
        self.file_extractor = dict(file_extractor or {})
        self.num_files_limit = num_files_limit
        self.report = ReadReport()
        # Folder entries seen but not readable now (a broken link, a pipe): still there, so not deleted.
        self.unreadable_entries: list[str] = []

    # -- which files -------------------------------------------------------------------------------------
    @property
    def _base(self) -> Optional[Path]:
        """The folder paths are made relative to for pattern matching (None when only files were given)."""
        if self.input_dir is None:
            return None
        return self.input_dir if self.input_dir.is_dir() else self.input_dir.parent

    def list_files(self) -> list[Path]:
        """The absolute paths a load would read, in reading order. Explicit files (``input_files`` or a file
        given as ``input_dir``) are taken as they are; a folder is filtered by the options, and entries that are
        no file to read (a broken link, a pipe, a name that is not UTF-8) are skipped and reported."""
        if self.input_files:
            files = sorted(set(self.input_files))
        elif self.input_dir.is_file():
            files = [self.input_dir]
        else:
            files = sorted(self._walk())
        return files[:self.num_files_limit] if self.num_files_limit is not None else files

    def _walk(self) -> Iterable[Path]:
        for root, dirs, names in os.walk(self.input_dir):
            root_path = Path(root)
            if self.recursive:
                dirs[:] = [d for d in dirs if self._keep(root_path / d, is_dir=True)]
            else:
                dirs[:] = []
            for name in names:
                path = root_path / name
                if self._keep(path, is_dir=False) and self._is_readable_file(path):
                    yield path

    def _is_readable_file(self, path: Path) -> bool:
        """Whether a folder entry is a regular file whose name can be stored; else skip and report it."""
        try:
            str(path).encode("utf-8")
        except UnicodeEncodeError:
            shown = Path(os.fsencode(path).decode("utf-8", "backslashreplace"))  # the odd bytes as \xNN
            self._skip(shown, "unreadable", "its name is not valid UTF-8; rename the file")
            return False
        try:
            mode = path.stat().st_mode
        except OSError as exc:
            self._skip(path, "unreadable", f"{type(exc).__name__}: {exc.strerror or exc} (a broken link?)")
            self.unreadable_entries.append(str(path))
            return False
        if not stat.S_ISREG(mode):
            self._skip(path, "unreadable", "not a regular file (a pipe, socket or device)")
            self.unreadable_entries.append(str(path))
            return False
        return True

    def _keep(self, path: Path, is_dir: bool) -> bool:
        rel = path.relative_to(self.input_dir).as_posix()
        if self.exclude_hidden and path.name.startswith("."):
            return False
        if any(_matches(p, rel, path.name) for p in self.exclude):
            return False
        return is_dir or self.required_exts is None or path.suffix.lower() in self.required_exts

    # -- reading -----------------------------------------------------------------------------------------
    def __call__(self) -> list[DocNode]:
        return self.load_data()

    def load_data(self) -> list[DocNode]:
        """Read every file into root nodes (one per non-blank part); bad files are skipped and reported."""
        self.report = ReadReport()
        files = self.list_files()
        nodes: list[DocNode] = []
        quiet = len(files) < PROGRESS_MIN_FILES or not sys.stderr.isatty()
        for path in tqdm(files, desc="parsing files", unit="file", disable=quiet):
            file_nodes = self._load_file(path)
            if file_nodes is not None:
                self.report.loaded += 1
                nodes.extend(file_nodes)
        self.report.nodes = len(nodes)
        if self.report.total_skipped:
            LOG.info(self.report.summary())
        return nodes

    def _reader_for(self, path: Path) -> Optional[UserReader]:
        base = self._base
        rel = path.relative_to(base).as_posix() if base is not None and path.is_relative_to(base) else path.as_posix()
        for pattern, reader in self.file_extractor.items():
            if _extractor_matches(pattern, rel, path.name):
                return reader
        ext = path.suffix.lower()
        return READERS.get(ext) if ext in READERS else None

    def _skip(self, path: Path, category: str, reason: str) -> None:
        LOG.warning("skipped %s (%s): %s", path, category, reason)
        self.report.add_skipped(category, str(path))

    def _load_file(self, path: Path) -> Optional[list[DocNode]]:
        """The nodes of one file, or None (after a warning) when it is skipped."""
        reader = self._reader_for(path)
        if reader is None:
            ext = path.suffix.lower() or "(no extension)"
            self._skip(path, "unsupported", f"no reader for {ext}; built-in readers: {', '.join(READERS.names())}")
            return None
        try:
            stat = path.stat()
            with decoding_notes() as notes:
                parts = _parts(reader(path))
        except UnreadableFile as exc:
            self._skip(path, exc.category, exc.reason)
            return None
        except ImportError as exc:
            self._skip(path, "missing-extra", str(exc))
            return None
        except OSError as exc:
            self._skip(path, "unreadable", f"{type(exc).__name__}: {exc}")
            return None
        except Exception as exc:
            self._skip(path, "error", f"{type(exc).__name__}: {exc}")
            LOG.debug("reader traceback for %s", path, exc_info=True)
            return None
        if not any(text.strip() for text, _ in parts):
            self._skip(path, "empty", "no text in it")
            return None
        if notes:
            LOG.warning("%s: %s", path, "; ".join(notes))
            self.report.repaired[str(path)] = "; ".join(notes)
        abs_path = str(path)
        file_meta = {"file_path": abs_path, "file_name": path.name, "file_type": path.suffix.lower()[1:],
                     "file_size": stat.st_size, "last_modified": stat.st_mtime, "doc_id": abs_path}
        return [DocNode(uid=make_uid(LAZY_ROOT_NAME, abs_path, index, text), text=text, group=LAZY_ROOT_NAME,
                        metadata=dict(extra) if extra else None, global_metadata=file_meta)
                for index, (text, extra) in enumerate(parts) if text.strip()]
