"""``pipeline.input``: a placeholder for the original input of the pipeline's current call.

Each pipeline call pushes ``(pipeline, input)`` onto a chain held in a ContextVar, so a placeholder resolves
to the input of *its* pipeline's innermost running call: nested pipelines, concurrent calls from several
threads and parallel branches (which run in a copy of the caller's context) each see their own input.
"""
from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Any, Optional

_Frame = tuple  # (owner, input, parent frame or None)
_FRAMES: ContextVar[Optional[_Frame]] = ContextVar("ragjet_flow_inputs", default=None)


class Input:
    """Stands for the original input of ``owner``'s current call; resolved when a bound step runs."""

    __slots__ = ("owner",)

    def __init__(self, owner: object) -> None:
        self.owner = owner

    def resolve(self) -> Any:
        frame = _FRAMES.get()
        while frame is not None:
            if frame[0] is self.owner:
                return frame[1]
            frame = frame[2]
        raise RuntimeError(f"{self!r} was used outside a call of its pipeline; a bound pipeline.input only "
                           "resolves inside steps run by that pipeline")

    def __repr__(self) -> str:
        return f"<input of {type(self.owner).__name__} at {id(self.owner):#x}>"


def push_input(owner: object, value: Any) -> Token:
    """Record ``value`` as ``owner``'s input for the rest of this call; pass the token to `pop_input`."""
    return _FRAMES.set((owner, value, _FRAMES.get()))


def pop_input(token: Token) -> None:
    _FRAMES.reset(token)


def resolve(value: Any) -> Any:
    """``value`` itself, or what it stands for when it is a placeholder."""
    return value.resolve() if isinstance(value, Input) else value
