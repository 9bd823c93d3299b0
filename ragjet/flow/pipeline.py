"""``pipeline``: steps run in order, each step's output is the next step's input."""
from __future__ import annotations

from typing import Any

from .base import FlowBase
from .placeholder import Input, Output, pop_call, push_call


class Pipeline(FlowBase):
    """``pipeline(f, g, h)(x) == h(g(f(x)))``; keyword arguments of the call go to the first step only.

    The last step's output is returned as is, so a generator from a streaming last step is not consumed.
    """

    _kind = "pipeline"
    _step_word = "step"

    @property
    def input(self) -> Input:
        """A placeholder for this pipeline's original input of the current call, for use in ``bind``."""
        return Input(self)

    def output(self, step: Any, unpack: bool = False) -> Output:
        """A placeholder for the output of ``step`` (its name, or the step itself) in the current call, for
        use in ``bind`` by a later step: ``ppl.f3 = f3 | bind(x=ppl.output('f1'))``. With ``unpack``, a
        package output given as a positional argument fills several: ``bind(f, ppl.output('prl', unpack=True))``."""
        if isinstance(step, str):
            if step not in self._index:
                raise KeyError(f"pipeline has no step named {step!r}; its steps: {', '.join(self._index) or '(none)'}")
            return Output(self, self._index[step], repr(step), unpack)
        for i, candidate in enumerate(self._steps):
            if candidate is step:
                return Output(self, i, repr(self._names[i] or f"#{i}"), unpack)
        raise KeyError(f"{step!r} is not a step of this pipeline")

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        call, token = push_call(self, value)
        try:
            value = self._invoke(0, value, kwargs)
            call.outputs[0] = value
            for i in range(1, len(self._steps)):
                value = self._invoke(i, value, {})
                call.outputs[i] = value
            return value
        finally:
            pop_call(token)


pipeline = Pipeline
