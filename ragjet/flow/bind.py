"""``bind``: fix a step's extra arguments, including placeholders resolved per call (`placeholder`):
``pipeline.input``, an earlier step's output (``ppl.output('f1')`` or the step itself, ``bind(z=ppl.f1)``)
and ``_0`` … ``_9`` (the step's own positional arguments, to reorder them).

LazyLLM's forms: ``bind(func, *args, **kwargs)`` and ``func | bind(*args, **kwargs)`` (``__ror__``, so
lambdas and any callable work). On a call, bound keyword arguments are added to the call's own; bound
positional arguments, when there are any, *replace* the call's positional arguments (as in LazyLLM), so
``bind(f, ppl.input)`` calls ``f(original input)``. Without bound positionals the step input stays first:
``f | bind(query=ppl.input)`` calls ``f(step_input, query=original input)``.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Iterator, Optional

from .base import FlowBase, package
from .placeholder import Item, Output, resolve

_UNSET: Any = object()


class bind:
    """A callable with bound arguments; attribute reads fall through to the wrapped callable."""

    def __init__(self, func: Callable[..., Any] = _UNSET, *args: Any, **kwargs: Any) -> None:
        self._f = func
        self._args = args
        self._kw = kwargs

    def __ror__(self, func: Callable[..., Any]) -> "bind":
        if not callable(func):
            raise TypeError(f"only a callable can be bound with `func | bind(...)`, got {type(func).__name__}")
        args = self._args if self._f is _UNSET else (self._f, *self._args)
        return bind(func, *args, **self._kw)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._f is _UNSET:
            raise TypeError("this bind has no function; write `bind(func, ...)` or `func | bind(...)`")
        clash = kwargs.keys() & self._kw.keys()
        if clash:
            raise TypeError(f"arguments {sorted(clash)} are already bound")
        given = args
        if self._args:
            args = tuple(_positional(self._args, given))
        bound = {k: resolve(v, given) for k, v in self._kw.items()}
        return self._f(*args, **bound, **kwargs)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_f", "_args", "_kw"):
            raise AttributeError(name)
        return getattr(self._f, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("_f", "_args", "_kw"):
            object.__setattr__(self, name, value)
        else:  # a step added to a bound flow in its block: ``p1.p2.f3 = f3``
            setattr(self._f, name, value)

    @property
    def bound_flow(self) -> Optional[FlowBase]:
        """The flow this binds arguments to, if it is one."""
        return self._f if isinstance(self._f, FlowBase) else None

    def __enter__(self) -> "bind":
        """``with flow.bind(...) as ppl.x:``: the flow's block, the bound flow its step."""
        flow = self.bound_flow
        if flow is None:
            raise TypeError(f"only a bound flow opens a `with` block, not {self._f!r}")
        flow._open(sys._getframe(1))
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.bound_flow.__exit__(*exc_info)

    def __repr__(self) -> str:
        bound = [repr(a) for a in self._args] + [f"{k}={v!r}" for k, v in self._kw.items()]
        target = "?" if self._f is _UNSET else repr(self._f)
        return f"bind({', '.join([target, *bound])})"


Bind = bind
FlowBase._binder = bind


def _positional(bound: tuple[Any, ...], given: tuple[Any, ...]) -> Iterator[Any]:
    """The bound positional arguments resolved; an unpacked output's package fills several."""
    for arg in bound:
        value = resolve(arg, given)
        if isinstance(arg, (Output, Item)) and arg.unpack and isinstance(value, package):
            yield from value
        else:
            yield value
