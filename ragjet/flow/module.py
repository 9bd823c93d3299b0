"""`ModuleBase` and `ActionModule`: LazyLLM's module bases, for users who subclass a module or wrap a flow in one.

A module is a callable with a lifecycle: ``start()`` starts what it holds (its submodules, and ragjet's
models, documents and retrievers assigned to it as attributes), depth first, once; ``stop()`` stops them.
Calling a module runs its `forward`. A `kwargs` input is spread over ``forward``'s keyword arguments, as in
LazyLLM.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from .lifecycle import Startable
from .base import FlowBase, kwargs
from .bind import bind
from .pipeline import pipeline


def _startable(value: Any) -> bool:
    """A value a module starts with itself: one that declares `Startable` (a module, a model, a document, a
    retriever); a user's own objects (a thread) are left alone."""
    return isinstance(value, Startable)


class ModuleExecutionError(RuntimeError):
    """A module failed where its caller cannot see the original exception (a served module: its type and
    message as the server reported them). LazyLLM's name (``lazyllm.module.module.ModuleExecutionError``)."""


class ModuleBase(Startable):
    """Subclass it and implement ``forward(*args, **kw)``; ``module(x)`` calls it. Modules and ragjet models
    set as public attributes are its `submodules`, started by `start` (LazyLLM's `update` does the same:
    ragjet does not fine-tune)."""

    def __init__(self, *, return_trace: bool = False) -> None:
        object.__setattr__(self, "_submodules", [])
        self._started = False
        self.return_trace = return_trace

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            self._adopt(value)
        object.__setattr__(self, name, value)

    def _adopt(self, value: Any) -> None:
        """Make ``value`` a submodule when it is one to start with this module (once)."""
        subs = self.__dict__.setdefault("_submodules", [])
        if _startable(value) and not any(s is value for s in subs):
            subs.append(value)

    @property
    def submodules(self) -> list[Any]:
        """What this module starts with itself, in assignment order."""
        return list(self.__dict__.get("_submodules", ()))

    def forward(self, *args: Any, **kw: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must implement forward(*args, **kw)")

    def __call__(self, *args: Any, **kw: Any) -> Any:
        if len(args) == 1 and isinstance(args[0], kwargs):
            return self.forward(**args[0], **kw)
        return self.forward(*args, **kw)

    def start(self) -> "ModuleBase":
        """Start the submodules (depth first), then this module's own `_start`; once."""
        if not self.__dict__.get("_started"):
            for sub in self.submodules:
                sub.start()
            self._start()
            self._started = True
        return self

    def update(self) -> "ModuleBase":
        """LazyLLM's train-deploy-evaluate: here, `start` (there is nothing to train)."""
        return self.start()

    def stop(self) -> None:
        """Stop this module's own service, then the submodules that can stop."""
        self._stop()
        for sub in reversed(self.submodules):
            stop = getattr(sub, "stop", None)
            if callable(stop):
                stop()
        self._started = False

    def _start(self) -> None:
        """What starting means for this module itself (a server binds its port); nothing by default."""

    def _stop(self) -> None:
        """What stopping means for this module itself; nothing by default."""

    def for_each(self, filter: Callable[[Any], bool], action: Callable[[Any], Any]) -> None:
        """Apply ``action`` to every module below this one (depth first) that ``filter`` accepts."""
        for sub in self.submodules:
            if filter(sub):
                action(sub)
            if isinstance(sub, ModuleBase):
                sub.for_each(filter, action)

    def __repr__(self) -> str:
        return f"<Module type={type(self).__name__}>"


class ActionModule(ModuleBase):
    """``ActionModule(f)`` or ``ActionModule(f, g, ...)`` (a pipeline of them): a function or flow as a module,
    so a flow's models start with it and it nests where a module is expected."""

    def __init__(self, *action: Any, return_trace: bool = False) -> None:
        super().__init__(return_trace=return_trace)
        if not action:
            raise TypeError("ActionModule needs an action: a function, a module or a flow")
        if len(action) == 1 and isinstance(action[0], (list, tuple)):
            action = tuple(action[0])
        self.action = action[0] if len(action) == 1 else pipeline(*action)
        for step in _steps_below(self.action):
            self._adopt(step)

    def forward(self, *args: Any, **kw: Any) -> Any:
        return self.action(*args, **kw)

    def __repr__(self) -> str:
        return f"<ActionModule {self.action!r}>"


def _steps_below(action: Any) -> Iterator[Any]:
    """The steps of a flow, and of the flows inside it (a bound step counts as what it wraps)."""
    if isinstance(action, FlowBase):
        for step in action._steps:
            yield from _steps_below(step)
    else:
        yield action._f if isinstance(action, bind) else action
