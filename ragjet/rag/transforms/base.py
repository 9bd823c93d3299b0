"""NodeTransform: the base of every transform that turns one node into smaller pieces (a node group's rule)."""
from __future__ import annotations

from typing import Any

from ragjet.rag.doc_node import DocNode


def _stable_repr(value: Any) -> str:
    """A repr that is the same in every process (no memory addresses), for `NodeTransform.identity`."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_stable_repr(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_stable_repr(k)}: {_stable_repr(v)}"
                               for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    target = value if hasattr(value, "__qualname__") else type(value)
    return f"{target.__module__}.{target.__qualname__}"


class NodeTransform:
    """Turns a node into a list of texts (or nodes). Subclasses implement `transform`.

    `identity` describes the transform and its parameters so a stored node group can tell that its
    definition changed and must be rebuilt.
    """

    def __call__(self, node: DocNode) -> list[str | DocNode]:
        return self.transform(node)

    def transform(self, node: DocNode) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must implement transform(node)")

    def batch_forward(self, nodes: list[DocNode]) -> list[list[str | DocNode]]:
        """`transform` for many nodes, one list per node. Subclasses override it to batch work across nodes."""
        return [self.transform(node) for node in nodes]

    def _identity_params(self) -> dict[str, Any]:
        """The parameters that define the output; by default the public instance attributes."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def identity(self) -> str:
        """A stable string, class name and sorted parameters, e.g. ``SentenceSplitter(chunk_size=256, ...)``."""
        params = self._identity_params()
        body = ", ".join(f"{k}={_stable_repr(params[k])}" for k in sorted(params))
        return f"{type(self).__name__}({body})"
