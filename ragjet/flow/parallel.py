"""``parallel``: every branch runs on the same input at the same time; outputs keep branch order.

Branches run on one module-level thread pool (created on first use) plus the calling thread, which runs the
last branch itself: a parallel of N branches costs about its slowest branch plus a few tens of microseconds.
Each branch runs in a copy of the caller's context, so ``pipeline.input`` placeholders resolve inside it.

Nested parallels cannot deadlock on a full pool: before waiting on a branch, the caller takes it back from
the queue if no worker has started it and runs it itself, so a thread only ever waits on running work.
"""
from __future__ import annotations

import itertools
import operator
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import Context, copy_context
from functools import reduce
from typing import Any, Optional

from .base import FlowBase, FlowError, package

_POOL: Optional[ThreadPoolExecutor] = None
_POOL_LOCK = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        with _POOL_LOCK:
            if _POOL is None:
                _POOL = ThreadPoolExecutor(max_workers=max(8, (os.cpu_count() or 1) * 4),
                                           thread_name_prefix="ragjet-flow")
    return _POOL


def _sum(outputs: list[Any]) -> Any:
    first = outputs[0]
    try:
        if isinstance(first, str):
            return "".join(outputs)
        if isinstance(first, list):
            return list(itertools.chain.from_iterable(outputs))
        return reduce(operator.add, outputs)
    except TypeError as exc:
        types = ", ".join(type(o).__name__ for o in outputs)
        raise TypeError(f"parallel().sum cannot add the branch outputs ({types})") from exc


class Parallel(FlowBase):
    """``parallel(f, g)(x)`` → ``package((f(x), g(x)))``, or what ``.sum``/``.asdict``/... make of it.

    Output modes (each returns the parallel, so they chain with ``with``): ``.sum`` adds the outputs
    (lists concatenated, strings joined, numbers summed), ``.asdict`` maps branch names to outputs,
    ``.astuple``/``.aslist`` give a plain tuple/list, ``.join(sep='')`` joins the outputs as strings.
    The default `package` is a tuple that a following plain step receives spread over its arguments.
    Keyword arguments of the call go to every branch.
    """

    _kind = "parallel"
    _step_word = "branch"

    def __init__(self, *branches: Any, **named_branches: Any) -> None:
        super().__init__(*branches, **named_branches)
        self._mode: Optional[str] = None
        self._sep = ""

    def _set_mode(self, mode: str, sep: str = "") -> "Parallel":
        if self._mode is not None:
            raise ValueError(f"this parallel already outputs .{self._mode}; set one output mode only")
        self._mode, self._sep = mode, sep
        return self

    @property
    def sum(self) -> "Parallel":
        """Add the branch outputs: the lecture's two retrievers give one list of nodes."""
        return self._set_mode("sum")

    @property
    def asdict(self) -> "Parallel":
        """Output ``{branch name: output}``; every branch must be named."""
        return self._set_mode("asdict")

    @property
    def astuple(self) -> "Parallel":
        """Output a plain tuple, passed to the next step as one value."""
        return self._set_mode("astuple")

    @property
    def aslist(self) -> "Parallel":
        """Output a list, passed to the next step as one value."""
        return self._set_mode("aslist")

    def join(self, sep: str = "") -> "Parallel":
        """Output the branch outputs, as strings, joined by ``sep``."""
        if not isinstance(sep, str):
            raise TypeError(f"parallel().join needs a str separator, got {type(sep).__name__}")
        return self._set_mode("join", sep)

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        if self._mode == "asdict":
            unnamed = [f"#{i}" for i, name in enumerate(self._names) if name is None]
            if unnamed:
                raise ValueError(f"parallel().asdict needs every branch named; unnamed branches: {', '.join(unnamed)}")
        return self._post_process(self._run_branches(value, kwargs))

    def _run_branches(self, value: Any, kwargs: dict[str, Any]) -> list[Any]:
        last = len(self._steps) - 1
        outputs: list[Any] = [None] * (last + 1)
        contexts: list[Context] = [copy_context() for _ in range(last)]
        pool = _pool() if last else None
        futures: list[Future] = [pool.submit(ctx.run, self._invoke, i, value, kwargs)
                                 for i, ctx in enumerate(contexts)] if pool else []
        try:
            inline_error: Optional[FlowError] = None
            try:
                outputs[last] = self._invoke(last, value, kwargs)
            except FlowError as err:
                inline_error = err
            # Lower-numbered branches are checked first; a queued branch is taken back and run here, or
            # skipped once the inline branch has failed.
            for i, (ctx, future) in enumerate(zip(contexts, futures)):
                if not future.cancel():
                    outputs[i] = future.result()
                elif inline_error is None:
                    outputs[i] = ctx.run(self._invoke, i, value, kwargs)
            if inline_error is not None:
                raise inline_error
            return outputs
        finally:
            for future in futures:
                future.cancel()

    def _post_process(self, outputs: list[Any]) -> Any:
        mode = self._mode
        if mode is None:
            return package(outputs)
        if mode == "sum":
            return _sum(outputs)
        if mode == "asdict":
            return dict(zip(self._names, outputs))
        if mode == "astuple":
            return tuple(outputs)
        if mode == "aslist":
            return outputs
        return self._sep.join(str(o) for o in outputs)

    def __repr__(self) -> str:
        base = super().__repr__()
        if self._mode == "join":
            return f"{base}.join({self._sep!r})"
        return f"{base}.{self._mode}" if self._mode else base


parallel = Parallel
