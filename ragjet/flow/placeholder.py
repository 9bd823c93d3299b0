"""What a bound argument can stand for, resolved when the bound step runs: a pipeline's input (``ppl.input``),
an earlier step's output (``ppl.output('f1')``, or the step itself: ``bind(z=ppl.f1)``), or one of the
step's own positional arguments (``_0`` … ``_9``).

Each pipeline call pushes a `Call` (the pipeline, its input, the outputs of its steps so far) onto a chain
held in a ContextVar, so a placeholder resolves within *its* pipeline's innermost running call: nested
pipelines, concurrent calls from several threads and parallel branches (which run in a copy of the caller's
context) each see their own values.
"""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, Optional, Sequence

_MISSING: Any = object()


class Call:
    """One running call of ``owner`` (a pipeline): its ``input`` and the outputs of the steps run so far."""

    __slots__ = ("owner", "input", "parent", "outputs")

    def __init__(self, owner: Any, value: Any, parent: Optional["Call"]) -> None:
        self.owner = owner
        self.input = value
        self.parent = parent
        self.outputs: dict[int, Any] = {}  # step index → its output in this call


_CALLS: ContextVar[Optional[Call]] = ContextVar("ragjet_flow_calls", default=None)


def _calls_of(owner: Any) -> Optional[Call]:
    call = _CALLS.get()
    while call is not None and call.owner is not owner:
        call = call.parent
    return call


class _Indexable:
    """``placeholder[key]`` stands for an item of what the placeholder stands for (``ppl.input['idx']``,
    ``ppl.output('f1')[0]``)."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> "Item":
        return Item(self, key)


class Item(_Indexable):
    __slots__ = ("base", "key")

    def __init__(self, base: Any, key: Any) -> None:
        self.base, self.key = base, key

    @property
    def unpack(self) -> bool:
        """An item (a slice) of an unpacked output is unpacked too: ``ppl.output('f1', unpack=True)[2:0:-1]``."""
        return getattr(self.base, "unpack", False)

    def resolve(self, args: Sequence[Any] = ()) -> Any:
        return self.base.resolve(args)[self.key]

    def __repr__(self) -> str:
        return f"{self.base!r}[{self.key!r}]"


class Input(_Indexable):
    """Stands for the original input of ``owner``'s current call; resolved when a bound step runs."""

    __slots__ = ("owner",)

    def __init__(self, owner: object) -> None:
        self.owner = owner

    def resolve(self, args: Sequence[Any] = ()) -> Any:
        call = _calls_of(self.owner)
        if call is None:
            raise RuntimeError(f"{self!r} was used outside a call of its pipeline; a bound pipeline.input only "
                               "resolves inside steps run by that pipeline")
        return call.input

    def __repr__(self) -> str:
        return f"<input of {type(self.owner).__name__} at {id(self.owner):#x}>"


class Output(_Indexable):
    """Stands for the output of step ``index`` of ``owner`` in its current call (``ppl.output('f1')``);
    with ``unpack``, a package output fills several positional arguments of the bound call."""

    __slots__ = ("owner", "index", "label", "unpack")

    def __init__(self, owner: object, index: int, label: str, unpack: bool = False) -> None:
        self.owner, self.index, self.label, self.unpack = owner, index, label, unpack

    def resolve(self, args: Sequence[Any] = ()) -> Any:
        call = _calls_of(self.owner)
        if call is None:
            raise RuntimeError(f"the output of step {self.label} was used outside a call of its pipeline")
        value = call.outputs.get(self.index, _MISSING)
        if value is _MISSING:
            raise RuntimeError(f"a step is bound to the output of step {self.label}, which has not run yet in "
                               f"this call: bind only to earlier steps")
        return value

    def __repr__(self) -> str:
        return f"<output of step {self.label}>"


class Arg(_Indexable):
    """``_0`` … ``_9``: the bound step's own positional argument ``index`` (its input, spread when it is a
    package), so ``bind(f, _1, _0)`` swaps two inputs."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def resolve(self, args: Sequence[Any] = ()) -> Any:
        if self.index >= len(args):
            raise IndexError(f"_{self.index} stands for positional argument {self.index}, but the step received "
                             f"{len(args)}")
        return args[self.index]

    def __repr__(self) -> str:
        return f"_{self.index}"


ARGS = tuple(Arg(i) for i in range(10))
PLACEHOLDERS = (Input, Output, Arg, Item)


def push_call(owner: object, value: Any) -> tuple[Call, Token]:
    """Record the start of ``owner``'s call on ``value``; pass the token to `pop_call`."""
    call = Call(owner, value, _CALLS.get())
    return call, _CALLS.set(call)


def pop_call(token: Token) -> None:
    _CALLS.reset(token)


def earlier_output(step: Any) -> Any:
    """The output of ``step`` when it is a step of a running pipeline that has already run it in this call
    (``bind(z=ppl.f1)``, as LazyLLM resolves it); else `_MISSING`."""
    call = _CALLS.get()
    while call is not None:
        for index, value in call.outputs.items():
            if call.owner._steps[index] is step:
                return value
        call = call.parent
    return _MISSING


def resolve(value: Any, args: Sequence[Any] = ()) -> Any:
    """``value`` itself, or what it stands for when it is a placeholder or an earlier step of a running
    pipeline."""
    if isinstance(value, PLACEHOLDERS):
        return value.resolve(args)
    if callable(value):
        output = earlier_output(value)
        if output is not _MISSING:
            return output
    return value
