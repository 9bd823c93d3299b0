"""What pipeline and parallel share: a container of (optionally named) steps and how a step is invoked.

Steps come from the constructor (``pipeline(f, g)``, ``pipeline(a=f, b=g)``) or from attribute assignment
inside a ``with`` block (``ppl.a = f``), in order; ``with parallel() as ppl.prl:`` therefore registers the
inner flow as a step of ``ppl`` before its own branches are assigned. Named steps read back as attributes.

A value is passed to a step as its single argument, except a `package` (a parallel's default output, or the
arguments of a multi-argument call), which is spread over a plain step's positional arguments; flows receive
a package whole and spread it over their own first steps. A failing step raises `FlowError`, whose message
walks the path of flow steps down to the failure and whose ``__cause__`` is the original exception.
"""
from __future__ import annotations

from typing import Any, Callable, Optional


class package(tuple):
    """A tuple meaning "several arguments": a plain step receives it spread as ``step(*values)``."""


class FlowError(RuntimeError):
    """A step of a flow failed. ``path`` names the steps from the outermost flow; ``cause`` is the original."""

    def __init__(self, path: tuple[str, ...], cause: BaseException) -> None:
        super().__init__(path, cause)
        self.path = path
        self.cause = cause

    def __str__(self) -> str:
        return f"{' > '.join(self.path)} failed: {type(self.cause).__name__}: {self.cause}"


_NO_KWARGS: dict[str, Any] = {}


def invoke(step: Callable[..., Any], value: Any, kwargs: dict[str, Any]) -> Any:
    """Call ``step`` with ``value``: spread when it is a package and the step is not a flow."""
    if isinstance(value, package) and not isinstance(step, FlowBase):
        return step(*value, **kwargs)
    return step(value, **kwargs)


class FlowBase:
    """Ordered steps, optionally named, captured from the constructor or a ``with`` block."""

    _kind = "flow"
    _step_word = "step"

    def __init__(self, *steps: Callable[..., Any], **named_steps: Callable[..., Any]) -> None:
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
        self._capturing = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._capturing = False

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
