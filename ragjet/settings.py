"""`config`: ragjet's settings by name, as LazyLLM's ``lazyllm.config`` offers them.

Each entry has a type, a default and the environment variable it reads: ``RAGJET_<ENV>`` first, then
LazyLLM's ``LAZYLLM_<ENV>`` (a LazyLLM user's environment keeps working). Unlike LazyLLM, an entry reads its
variable when it is read, not once at import, so a variable set later (a test, a notebook cell) takes effect
without `refresh`; ``config[name] = value`` overrides it until `refresh` (or the end of a `temp` block).
A library adds its own entries with `add`; an unknown name is an error that lists the known ones.
"""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

ENV_PREFIXES = ("RAGJET", "LAZYLLM")
_TRUE = {"1", "true", "on", "yes", "y"}
_UNSET = object()


@dataclass
class _Entry:
    type: type
    default: Any
    env: Optional[str]
    options: Optional[Sequence[Any]]
    description: str


class Config:
    """Named, typed settings backed by environment variables (see the module's docstring)."""

    def __init__(self, prefixes: Sequence[str] = ENV_PREFIXES) -> None:
        self.prefixes = tuple(p.upper() for p in prefixes)
        self._entries: dict[str, _Entry] = {}
        self._set: dict[str, Any] = {}
        self._lock = threading.RLock()

    def add(self, name: str, type: type, default: Any = None, env: Optional[str] = None, *,
            options: Optional[Sequence[Any]] = None, description: str = "") -> "Config":
        """Register setting ``name`` (read from ``<PREFIX>_<env>``); returns the config, so adds chain."""
        name = name.lower()
        if default is not None and not isinstance(default, type):
            raise TypeError(f"config {name!r}: the default {default!r} is not a {type.__name__}")
        with self._lock:
            self._entries[name] = _Entry(type, default, env.upper() if env else None, options, description)
        return self

    def getenv(self, name: str, type: type, default: Any = None) -> Any:
        """The variable ``<PREFIX>_<NAME>`` for the first prefix that has it, as ``type``; else ``default``."""
        for prefix in self.prefixes:
            raw = os.environ.get(f"{prefix}_{name.upper()}")
            if raw is not None and raw != "":
                return _convert(raw, type, f"{prefix}_{name.upper()}")
        return default

    def __getitem__(self, name: str) -> Any:
        name = self._known(name)
        with self._lock:
            if name in self._set:
                return self._set[name]
            entry = self._entries[name]
        value = self.getenv(entry.env, entry.type, _UNSET) if entry.env else _UNSET
        if value is _UNSET:
            return entry.default
        self._check_option(name, value)
        return value

    def __setitem__(self, name: str, value: Any) -> None:
        name = self._known(name)
        entry = self._entries[name]
        if value is not None and not isinstance(value, entry.type):
            raise TypeError(f"config {name!r} takes a {entry.type.__name__}, got {type(value).__name__}")
        self._check_option(name, value)
        with self._lock:
            self._set[name] = value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._normalize(name) in self._entries

    @contextmanager
    def temp(self, name: str, value: Any) -> Iterator[None]:
        """``name`` set to ``value`` inside the block, as it was after it (an override or the variable)."""
        name = self._known(name)
        with self._lock:
            before = self._set.get(name, _UNSET)
        self[name] = value
        try:
            yield
        finally:
            with self._lock:
                if before is _UNSET:
                    self._set.pop(name, None)
                else:
                    self._set[name] = before

    def refresh(self, targets: str | Sequence[str] | None = None) -> None:
        """Drop the overrides of ``targets`` (all when None): they read their variables again."""
        with self._lock:
            names = list(self._set) if targets is None else [targets] if isinstance(targets, str) else targets
            for name in names:
                self._set.pop(self._known(name), None)

    def get_all_configs(self) -> dict[str, Any]:
        """Every setting's current value."""
        return {name: self[name] for name in sorted(self._entries)}

    def describe(self) -> dict[str, str]:
        """Every setting's description, with the variable it reads."""
        return {name: f"{e.description} (${self.prefixes[0]}_{e.env})" if e.env else e.description
                for name, e in sorted(self._entries.items())}

    def _normalize(self, name: str) -> str:
        name = name.lower()
        for prefix in self.prefixes:
            name = name.removeprefix(f"{prefix.lower()}_")
        return name

    def _known(self, name: str) -> str:
        key = self._normalize(name)
        if key not in self._entries:
            raise KeyError(f"unknown config key {name!r}; known: {', '.join(sorted(self._entries))} "
                           f"(add one with config.add(name, type, default, env))")
        return key

    def _check_option(self, name: str, value: Any) -> None:
        options = self._entries[name].options
        if options is not None and value not in options:
            raise ValueError(f"config {name!r} is {value!r}; it takes one of {list(options)}")

    def __repr__(self) -> str:
        return f"Config({self.get_all_configs()})"


def environ(*names: str) -> Optional[str]:
    """The value of the first of ``names`` set in the environment, read as named (an empty value counts, so a
    caller can tell set-but-empty from unset). The one place ragjet reads a variable that is no `config` entry:
    another program's (``CUDA_VISIBLE_DEVICES``, ``MILVUS_TOKEN``), a service's key (``DEEPSEEK_API_KEY``), or
    one whose emptiness means something (``RAGJET_API_KEY``)."""
    return next((os.environ[name] for name in names if name in os.environ), None)


def environment(**values: str) -> dict[str, str]:
    """A copy of this process's environment with ``values`` on top: what a child process (an engine, a bench
    run) is started with."""
    return {**os.environ, **values}


def environment_list_add(name: str, item: str) -> None:
    """Add ``item`` to the comma-separated list in variable ``name`` of this process, unless it is there (the
    hosts of ``NO_PROXY``, for libraries that build their HTTP or gRPC clients from the environment)."""
    items = [i.strip() for i in os.environ.get(name, "").split(",") if i.strip()]
    if item not in items:
        os.environ[name] = ",".join(items + [item])


def environment_default(name: str, value: str) -> None:
    """Set variable ``name`` in this process unless the user set it (for libraries that read it once, at load:
    OpenMP's wait policy, Hugging Face's offline switch)."""
    os.environ.setdefault(name, value)


def _convert(raw: str, type: type, variable: str) -> Any:
    if type is bool:
        return raw.strip().lower() in _TRUE
    try:
        return type(raw)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"${variable}={raw!r} is not a {type.__name__}: {exc}") from None


config = (Config()
          .add("home", str, str(Path.home() / ".cache" / "ragjet"), "HOME",
               description="where ragjet keeps its caches, snapshots and exported models")
          .add("models", str, None, "MODELS", description="where exported models go (default: <home>/models)")
          .add("log_level", str, "INFO", "LOG_LEVEL", description="the level of ragjet.LOG at import")
          .add("model_aliases", str, "", "MODEL_ALIASES",
               description="NAME=MODEL[:TYPE],...: a model name ragjet cannot run (the course's bge-large-zh-v1.5, "
                           "bge-reranker-large...) served by a model it runs, so a program runs unedited")
          .add("path_aliases", str, "", "PATH_ALIASES",
               description="OLD=NEW,...: a dataset_path under OLD (a course program's /mnt/lustre/... folder) read "
                           "from NEW instead, so the program runs unedited")
          .add("parallel_multiprocessing", bool, False, "PARALLEL_MULTIPROCESSING",
               description="LazyLLM's setting, accepted for its users: ragjet runs parallel branches in threads "
                           "(True is refused: processes could not share a Document's store)",
               options=[False])
          .add("launcher", str, "slurm", "LAUNCHER",
               description="the cluster launcher a deploy method's launcher=None means on a cluster: slurm or sco")
          .add("slurm_part", str, None, "SLURM_PART", description="the slurm partition engines are submitted to")
          .add("sco_spec", str, None, "SCO_SPEC", description="sco: the resource spec of a submitted engine")
          .add("sco_workspace", str, None, "SCO_WORKSPACE", description="sco: the workspace name")
          .add("sco_partition", str, None, "SCO_PARTITION", description="sco: the aec2 partition")
          .add("sco_image", str, None, "SCO_IMAGE", description="sco: the container image URL")
          .add("llama_server", str, None, "LLAMA_SERVER",
               description="llama.cpp's llama-server binary (default: <home>/bin/llama-server, then PATH)")
          .add("ann_threshold", str, "", "ANN_THRESHOLD",
               description="rows above which a group's vectors get an HNSW graph: an integer, or off")
          .add("ann_ef", str, "", "ANN_EF", description="HNSW efSearch: a positive integer (default 96)")
          .add("thread_pool_worker_num", int, 16, "THREAD_POOL_WORKER_NUM",
               description="LazyLLM's setting, accepted for its users; ragjet sizes its pools itself"))
