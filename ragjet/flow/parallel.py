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
from contextvars import Context, ContextVar, copy_context
from functools import reduce
from typing import Any, Optional

from .base import FlowBase, FlowError, package

_POOL: Optional[ThreadPoolExecutor] = None
_POOL_LOCK = threading.Lock()
_BARRIER: ContextVar[Optional[threading.Barrier]] = ContextVar("ragjet_flow_barrier", default=None)
BARRIER_TIMEOUT = 60.0  # seconds a branch waits at a barrier for the others


def barrier(*args: Any) -> Any:
    """LazyLLM's ``barrier`` step: each branch of the enclosing parallel waits here until every branch has
    reached it, then passes its value on. In a sequential parallel, or outside one, it only passes it on."""
    shared = _BARRIER.get()
    if shared is not None:
        try:
            shared.wait(BARRIER_TIMEOUT)
        except threading.BrokenBarrierError:
            raise RuntimeError(f"barrier: not every branch of the parallel reached it within {BARRIER_TIMEOUT:.0f} s "
                               f"(a branch without the barrier, or one that could not start while the flow thread "
                               f"pool was full)") from None
    return args[0] if len(args) == 1 else package(args)


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
        self._concurrent = True

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
        return self._post_process(self._run_jobs(self._jobs(value), kwargs))

    @classmethod
    def sequential(cls, *branches: Any, **named_branches: Any) -> "Parallel":
        """The same flow with its branches run one after another on this thread (for steps that must not
        overlap)."""
        flow = cls(*branches, **named_branches)
        flow._concurrent = False
        return flow

    def _jobs(self, value: Any) -> list[tuple[int, Any]]:
        """(branch index, its input) for each call to make: every branch on the same input."""
        return [(i, value) for i in range(len(self._steps))]

    def _run_jobs(self, jobs: list[tuple[int, Any]], kwargs: dict[str, Any]) -> list[Any]:
        """Run ``jobs`` at once (the last on this thread); their outputs in order."""
        last = len(jobs) - 1
        if last < 0:
            return []
        if not self._concurrent:
            token = _BARRIER.set(None)  # one branch after another: nothing to wait for
            try:
                return [self._invoke(i, value, kwargs) for i, value in jobs]
            finally:
                _BARRIER.reset(token)
        outputs: list[Any] = [None] * (last + 1)
        shared = threading.Barrier(last + 1) if last else None  # the branches' `barrier` steps meet here
        contexts: list[Context] = [copy_context() for _ in range(last)]
        for ctx in contexts:
            ctx.run(_BARRIER.set, shared)
        pool = _pool() if last else None
        futures: list[Future] = [pool.submit(ctx.run, self._invoke, i, value, kwargs)
                                 for ctx, (i, value) in zip(contexts, jobs)] if pool else []
        token = _BARRIER.set(shared)
        try:
            inline_error: Optional[FlowError] = None
            try:
                outputs[last] = self._invoke(jobs[last][0], jobs[last][1], kwargs)
            except FlowError as err:
                inline_error = err
            # Lower-numbered jobs are checked first; a queued one is taken back and run here, or skipped once
            # the inline job has failed.
            for n, (ctx, future) in enumerate(zip(contexts, futures)):
                if not future.cancel():
                    outputs[n] = future.result()
                elif inline_error is None:
                    outputs[n] = ctx.run(self._invoke, jobs[n][0], jobs[n][1], kwargs)
            if inline_error is not None:
                raise inline_error
            return outputs
        finally:
            _BARRIER.reset(token)
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


def _elements(value: Any, count: Optional[int], names: list[Optional[str]], kind: str) -> list[Any]:
    """The parts of a scattered input: a package, tuple or list (of ``count`` items when given), or a dict
    read by branch name."""
    if isinstance(value, dict) and count is not None and all(names):
        missing = [n for n in names if n not in value]
        if missing:
            raise KeyError(f"{kind} input has no entry for branch(es) {', '.join(missing)}")
        return [value[n] for n in names]
    if isinstance(value, package) and len(value) == 1 and isinstance(value[0], (tuple, list)):
        value = value[0]
    if not isinstance(value, (tuple, list)):
        raise TypeError(f"{kind} splits its input over its branches: give a tuple or list"
                        f"{f' of {count} items' if count is not None else ''}, got {type(value).__name__}")
    if count is not None and len(value) != count:
        raise ValueError(f"{kind} has {count} branches but its input has {len(value)} items")
    return list(value)


class Diverter(Parallel):
    """``diverter(f, g)((a, b))`` → ``package((f(a), g(b)))``: branch i gets item i of the input (a tuple or
    list of as many items, or a dict keyed by branch name), all at once; output modes as `Parallel`'s."""

    _kind = "diverter"

    def _jobs(self, value: Any) -> list[tuple[int, Any]]:
        return list(enumerate(_elements(value, len(self._steps), self._names, self._kind)))


class Warp(Parallel):
    """``warp(f)((a, b, c))`` → ``package((f(a), f(b), f(c)))``: one step (several steps form a pipeline)
    applied to every item of the input at once; output modes as `Parallel`'s, except ``asdict``."""

    _kind = "warp"
    _step_word = "step"

    def __init__(self, *steps: Any, **named_steps: Any) -> None:
        super().__init__(*steps, **named_steps)
        self._fold()

    def __exit__(self, *exc_info: object) -> None:
        super().__exit__(*exc_info)
        self._fold()

    def _fold(self) -> None:
        if len(self._steps) > 1:
            from .pipeline import Pipeline

            self._steps, self._names, self._index = [Pipeline(*self._steps)], [None], {}

    @property
    def asdict(self) -> "Parallel":
        raise TypeError("warp has one step applied to every item: there are no branch names for .asdict")

    def _jobs(self, value: Any) -> list[tuple[int, Any]]:
        if len(self._steps) != 1:
            raise ValueError(f"warp needs one step, has {len(self._steps)}")
        return [(0, item) for item in _elements(value, None, self._names, self._kind)]


diverter = Diverter
warp = Warp
