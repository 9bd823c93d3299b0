"""``pipeline``: steps run in order, each step's output is the next step's input."""
from __future__ import annotations

from typing import Any

from .base import FlowBase
from .placeholder import Input, pop_input, push_input


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

    def _run(self, value: Any, kwargs: dict[str, Any]) -> Any:
        token = push_input(self, value)
        try:
            value = self._invoke(0, value, kwargs)
            for i in range(1, len(self._steps)):
                value = self._invoke(i, value, {})
            return value
        finally:
            pop_input(token)


pipeline = Pipeline
