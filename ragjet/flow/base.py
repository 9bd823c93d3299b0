"""What pipeline and parallel share: a container of (optionally named) steps and how a step is invoked.

Steps come from the constructor (``pipeline(f, g)``, ``pipeline(a=f, b=g)``) or from attribute assignment
inside a ``with`` block (``ppl.a = f``), in order; ``with parallel() as ppl.prl:`` therefore registers the
inner flow as a step of ``ppl`` before its own branches are assigned, and makes its short name (``prl``)
usable inside the block, as LazyLLM does. A flow opened with ``with`` inside another's block without being
assigned (``with pipeline() as inner:``) becomes a step of the outer flow, named after its variable, when its
first step is added: never silently dropped. Named steps read back as attributes.

A value is passed to a step as its single argument, except a `package` (a parallel's default output, or the
arguments of a multi-argument call), which is spread over a plain step's positional arguments, and a `kwargs`,
spread over its keyword arguments; flows receive them whole and spread them over their own first steps. A failing step raises `FlowError`, whose message
walks the path of flow steps down to the failure and whose ``__cause__`` is the original exception.
"""
from __future__ import annotations

import builtins
import sys
import threading
import types
from typing import Any, Callable, ClassVar, Optional


class package(tuple):
    """A tuple meaning "several arguments": a plain step receives it spread as ``step(*values)``.

    As LazyLLM's: ``package(1, 2, 3)`` or ``package([1, 2, 3])`` (one list, tuple or generator is the items),
    and a slice or a sum of packages is a package."""

    def __new__(cls, *items: Any) -> "package":
        if len(items) == 1 and isinstance(items[0], (tuple, list, types.GeneratorType)):
            return super().__new__(cls, items[0])
        return super().__new__(cls, items)

    def __getitem__(self, key: Any) -> Any:
        item = super().__getitem__(key)
        return package(item) if isinstance(key, slice) else item

    def __add__(self, other: tuple) -> "package":
        return package(tuple(self) + tuple(other))


class kwargs(dict):
    """A dict meaning "keyword arguments": a plain step receives it spread as ``step(**values)``
    (``lazyllm.kwargs``; a step returns one to name what it passes on)."""


class FlowError(RuntimeError):
    """A step of a flow failed. ``path`` names the steps from the outermost flow; ``cause`` is the original."""

    def __init__(self, path: tuple[str, ...], cause: BaseException) -> None:
        super().__init__(path, cause)
        self.path = path
        self.cause = cause

    def __str__(self) -> str:
        return f"{' > '.join(self.path)} failed: {type(self.cause).__name__}: {self.cause}"


_OPEN = threading.local()


def _open_flows() -> list["FlowBase"]:
    """The flows whose ``with`` blocks this thread is inside, innermost last."""
    stack = getattr(_OPEN, "flows", None)
    if stack is None:
        stack = _OPEN.flows = []
    return stack


def flow_in(step: Any) -> Optional["FlowBase"]:
    """The flow ``step`` is, or wraps with bound arguments (``pipeline().bind(extra=...)``); else None."""
    return step if isinstance(step, FlowBase) else getattr(step, "bound_flow", None)


def _functor_class(step: Any) -> bool:
    """A class whose instances are callable (it defines ``__call__``): LazyLLM makes such a step its instance.
    A class whose instances are not (``str``, a dataclass) stays what it is, a converter."""
    return isinstance(step, type) and any("__call__" in vars(k) for k in step.__mro__[:-1])


def invoke(step: Callable[..., Any], value: Any, extra: dict[str, Any]) -> Any:
    """Call ``step`` with ``value``: spread when it is a package or kwargs and the step is not a flow."""
    if isinstance(step, FlowBase):
        return step(value, **extra)
    if isinstance(value, package):
        return step(*value, **extra)
    if isinstance(value, kwargs):
        return step(**value, **extra)
    return step(value, **extra)


class FlowBase:
    """Ordered steps, optionally named, captured from the constructor or a ``with`` block."""

    _kind = "flow"
    _step_word = "step"

    def __init__(self, *steps: Callable[..., Any], auto_capture: bool = False,
                 **named_steps: Callable[..., Any]) -> None:
        self._auto_capture = auto_capture
        self._steps: list[Callable[..., Any]] = []
        self._names: list[Optional[str]] = []
        self._index: dict[str, int] = {}
        self._capturing = False
        if len(steps) == 1 and isinstance(steps[0], (list, tuple)):
            steps = tuple(steps[0])
        for step in steps:
            self._add(None, step)
        for name, step in named_steps.items():
            self._add(name, step)

    def _add(self, name: Optional[str], step: Callable[..., Any]) -> None:
        if self._capturing:
            self._join_enclosing_flow()
        step = step() if _functor_class(step) else step
        self._append(name, step)
        inner = flow_in(step)
        if name is not None and inner is not None and inner._capturing:
            inner._bind_short_name(name)

    def _append(self, name: Optional[str], step: Callable[..., Any]) -> None:
        label = f"{self._kind} {self._step_word} {name or f'#{len(self._steps)}'}"
        if not callable(step):
            raise TypeError(f"{label} must be callable, got {type(step).__name__}")
        if name is not None:
            if name in self._index:
                raise ValueError(f"{self._kind} already has a {self._step_word} named {name!r}")
            if hasattr(type(self), name):
                raise ValueError(f"{name!r} is reserved by {type(self).__name__}; give the {self._step_word} "
                                 "another name")
            self._index[name] = len(self._steps)
        self._steps.append(step)
        self._names.append(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        elif self._capturing:
            self._add(name, value)
        elif name in self._index:
            raise AttributeError(f"{self._kind} {self._step_word} {name!r} can only be set inside its `with` block")
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        index = self.__dict__.get("_index")
        if index is not None and name in index:
            return self._steps[index[name]]
        raise AttributeError(f"{type(self).__name__} has no attribute or {self._step_word} named {name!r}")

    def __enter__(self) -> "FlowBase":
        return self._open(sys._getframe(1))

    def _open(self, frame: Any) -> "FlowBase":
        """Start capturing steps assigned in the ``with`` block of ``frame`` (the user's code)."""
        if self._steps:
            raise ValueError(f"this {self._kind} was built with steps already; open an empty one with `with`")
        self._capturing = True
        self._frame = frame
        self._short_name: Optional[str] = None
        self._names_before = set(frame.f_locals) if self._auto_capture else set()
        _open_flows().append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._auto_capture and exc_info[0] is None:
            self._capture_new_variables()
        self._capturing = False
        stack = _open_flows()
        if stack and stack[-1] is self:
            stack.pop()
        frame, name = self.__dict__.get("_frame"), self.__dict__.get("_short_name")
        if name is not None and frame is not None and frame.f_locals is not frame.f_globals \
                and frame.f_globals.get(name) is self:
            del frame.f_globals[name]  # in a function the short name lives as long as the block
        self._frame = None

    def _capture_new_variables(self) -> None:
        """``auto_capture``: the variables the block defined become steps, in the order they were defined
        (LazyLLM's experimental form: ``with pipeline(auto_capture=True) as p: p1 = f1``)."""
        for name, value in list(self._frame.f_locals.items()):
            if name not in self._names_before and callable(value) and flow_in(value) is not self:
                self._add(name, value)

    # `bind`, set by flow/bind.py, which imports this module: the seam keeps the two out of an import cycle.
    _binder: ClassVar[Optional[Callable[..., Any]]] = None

    def bind(self, *args: Any, **kwargs: Any) -> Any:
        """This flow with bound arguments, as a step or a ``with`` block: ``with pipeline().bind(extra=
        p1.input[0]) as p1.p2:`` passes ``extra`` to the inner pipeline's first step on every call."""
        return FlowBase._binder(self, *args, **kwargs)

    def _join_enclosing_flow(self) -> None:
        """Add this flow to the flow whose ``with`` block it was opened in, if nobody assigned it there."""
        stack = _open_flows()
        if len(stack) < 2 or stack[-1] is not self:
            return
        outer = stack[-2]
        if any(flow_in(step) is self for step in outer._steps):
            return
        frame = self.__dict__.get("_frame")
        names = [k for k, v in (frame.f_locals.items() if frame is not None else ()) if v is self]
        name = names[0] if names and names[0] not in outer._index and not hasattr(type(outer), names[0]) else None
        outer._append(name, self)

    def _bind_short_name(self, name: str) -> None:
        """``with parallel() as ppl.prl:`` — let the block say ``prl.x = ...``: the name is bound in the
        block's globals when it is free there, or holds the flow of an earlier block (a function reads an
        unassigned name from its globals)."""
        frame = self.__dict__.get("_frame")
        stale = frame is not None and isinstance(frame.f_globals.get(name), FlowBase) \
            and not frame.f_globals[name]._capturing  # the short name of an earlier block
        taken = frame is None or (name in frame.f_locals or name in frame.f_globals) and not stale
        if taken or name in vars(builtins):
            return
        frame.f_globals[name] = self
        self._short_name = name

    def __len__(self) -> int:
        return len(self._steps)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Run the flow on one input (several positional arguments arrive as one `package`)."""
        value = args[0] if len(args) == 1 else package(args)
        if not self._steps:
            return value
        return self._run(value, kwargs)

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def _invoke(self, i: int, value: Any, kwargs: dict[str, Any]) -> Any:
        """Run step ``i``; a failure becomes a FlowError whose path starts with this step."""
        try:
            return invoke(self._steps[i], value, kwargs)
        except Exception as exc:
            name = self._names[i]
            label = f"{self._kind} {self._step_word} {name!r}" if name else f"{self._kind} {self._step_word} #{i}"
            if isinstance(exc, FlowError):
                err = FlowError((label, *exc.path), exc.cause)
            else:
                err = FlowError((label,), exc)
            raise err from err.cause

    def __repr__(self) -> str:
        items = [f"{n}={s!r}" if n else repr(s) for n, s in zip(self._names, self._steps)]
        return f"{self._kind}({', '.join(items)})"
