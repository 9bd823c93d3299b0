"""LazyLLM's control flows: ``switch`` (the first matching case runs), ``ifs`` (one of two paths) and ``loop``
(steps repeated until a condition or a count).

Two of LazyLLM's behaviours are traps, and ragjet differs (docs/lazyllm-compat.md): a ``switch`` that no case
matches raises instead of returning None, and a ``loop`` with neither ``count`` nor ``stop_condition`` is
refused instead of running for ever.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Optional

from .base import FlowBase, package
from .pipeline import Pipeline

DEFAULT = "default"  # the case that matches every input, as in LazyLLM


def _split_judged(value: Any, kind: str) -> tuple[Any, Any]:
    """``judge_on_full_input=False``: the input is (what to judge, what to pass on...). What is passed on stays a
    package, one item too, as LazyLLM passes it: a loop ending on ``(done, 32)`` returns ``(32,)``."""
    if not isinstance(value, tuple) or len(value) < 2:
        raise ValueError(f"{kind}(judge_on_full_input=False) needs an input of two or more items: (what to judge, "
                         f"what to pass on), got {type(value).__name__}")
    return value[0], package(value[1:])


class Switch(FlowBase):
    """``switch(cond1, f1, cond2, f2, ...)``, ``switch({cond1: f1, ...})`` or ``with switch() as sw:
    sw.case[cond::f]`` (also ``sw.case[cond, f]``, ``sw.case(cond, f)``): the first case whose condition
    matches runs on the input. A condition matches when it is a callable returning True for the judged value,
    equals it, or is ``'default'``. ``conversion`` turns the input into the judged value first."""

    _kind = "switch"
    _step_word = "case"

    def __init__(self, *cases: Any, conversion: Optional[Callable[..., Any]] = None,
                 judge_on_full_input: bool = True) -> None:
        pairs = list(cases[0].items()) if len(cases) == 1 and isinstance(cases[0], dict) else None
        if pairs is None:
            if len(cases) % 2:
                raise ValueError("switch takes conditions and steps in pairs: switch(cond1, f1, cond2, f2, ...)")
            pairs = list(zip(cases[0::2], cases[1::2]))
        super().__init__(*(step for _, step in pairs))
        self._conds = [cond for cond, _ in pairs]
        self._conversion = conversion
        self._judge_on_full_input = judge_on_full_input

    @property
    def case(self) -> "_Cases":
        """Add a case: ``sw.case[cond::f]``, ``sw.case[cond, f]`` or ``sw.case(cond, f)``."""
        return _Cases(self)

    def _add_case(self, cond: Any, step: Callable[..., Any]) -> None:
        self._add(None, step)
        self._conds.append(cond)

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        if len(self._conds) != len(self._steps):
            raise ValueError("every step of a switch needs its condition: add steps with sw.case[cond::step]")
        judged = value
        if not self._judge_on_full_input:
            judged, value = _split_judged(value, self._kind)
        if self._conversion is not None:
            judged = self._conversion(*judged) if isinstance(judged, package) else self._conversion(judged)
        for i, cond in enumerate(self._conds):
            if _matches(cond, judged):
                return self._invoke(i, value, kwargs)
        shown = ", ".join(repr(c) for c in self._conds)
        raise ValueError(f"no case of this switch matches {judged!r} (cases: {shown}); add a 'default' case")


def _matches(cond: Any, judged: Any) -> bool:
    if isinstance(cond, str) and cond == DEFAULT:
        return True
    if callable(cond):
        return (cond(*judged) if isinstance(judged, package) else cond(judged)) is True
    return judged == cond or judged == package((cond,))


class _Cases:
    def __init__(self, switch: Switch) -> None:
        self._switch = switch

    def __call__(self, cond: Any, step: Callable[..., Any]) -> None:
        self._switch._add_case(cond, step)

    def __getitem__(self, key: Any) -> None:
        if isinstance(key, slice) and key.start is not None:
            step = key.step if key.step is not None else key.stop
            if callable(step) and (key.step is None or key.stop is None):
                return self._switch._add_case(key.start, step)
        elif isinstance(key, tuple) and len(key) == 2 and callable(key[1]):
            return self._switch._add_case(*key)
        raise TypeError(f"a case is sw.case[cond::step], sw.case[cond:step] or sw.case[cond, step], got {key!r}")


class IFS(FlowBase):
    """``ifs(cond, tpath, fpath)(x)`` → ``tpath(x)`` when ``cond(x)`` is true (``cond`` may be a plain value),
    else ``fpath(x)``."""

    _kind = "ifs"
    _step_word = "path"

    def __init__(self, cond: Any, tpath: Callable[..., Any], fpath: Callable[..., Any]) -> None:
        super().__init__(tpath, fpath)
        self._cond = cond

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        cond = self._cond
        flag = (cond(*value) if isinstance(value, package) else cond(value)) if callable(cond) else cond
        return self._invoke(0 if flag else 1, value, kwargs)


class Loop(Pipeline):
    """``loop(f, g, count=3)`` or ``loop(f, stop_condition=done)``: the steps run as a pipeline, again on their
    own output, until ``stop_condition(output)`` is true or ``count`` rounds have run. With
    ``judge_on_full_input=False`` each round's output is (what to judge, what to pass on...)."""

    _kind = "loop"

    def __init__(self, *steps: Any, stop_condition: Optional[Callable[..., Any]] = None, count: int = sys.maxsize,
                 judge_on_full_input: bool = True, **named_steps: Any) -> None:
        if stop_condition is not None and not callable(stop_condition):
            raise TypeError(f"stop_condition must be callable, got {type(stop_condition).__name__}")
        if count < 1:
            raise ValueError(f"a loop runs at least once: count must be >= 1, got {count}")
        if stop_condition is None and count == sys.maxsize:
            raise ValueError("this loop would never end: give count=N, stop_condition=f, or both")
        super().__init__(*steps, **named_steps)
        self._stop = stop_condition
        self._count = count
        self._judge_on_full_input = judge_on_full_input

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        for _ in range(self._count):
            value = super()._run(value, kwargs)
            kwargs = {}
            judged = value
            if not self._judge_on_full_input:
                judged, value = _split_judged(value, self._kind)
            if self._stop is not None and (self._stop(*judged) if isinstance(judged, package)
                                           else self._stop(judged)):
                break
        return value


switch = Switch
ifs = IFS
loop = Loop
