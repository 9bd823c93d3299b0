"""NodeTransform: the base of every transform that turns one node into smaller pieces (a node group's rule)."""
from __future__ import annotations

import hashlib
import re
from types import CodeType
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional

from ragjet.rag.doc_node import DocNode
from ragjet.registry import Registry
from ragjet.text.token_count import TokenCounter

LONG_IDENTITY = 1000  # a function identity longer than this many characters is kept as its sha256


def _stable_repr(value: Any) -> str:
    """A repr that is the same in every process (no memory addresses), for `NodeTransform.identity`."""
    if value is None or isinstance(value, (str, bytes, int, float, bool)):
        return repr(value)
    if isinstance(value, re.Pattern):
        return f"re.compile({value.pattern!r}, {int(value.flags)})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_stable_repr(v) for v in value) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ", ".join(sorted(_stable_repr(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_stable_repr(k)}: {_stable_repr(v)}"
                               for k, v in sorted(value.items(), key=lambda kv: repr(kv[0]))) + "}"
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    target = value if hasattr(value, "__qualname__") else type(value)
    return f"{getattr(target, '__module__', None) or ''}.{target.__qualname__}"


def function_identity(func: Callable[..., Any]) -> str:
    """What defines a function's output: its compiled code (instructions, names and constants, nested functions
    included; not its comments or line numbers) and the values of the closure variables and globals it reads,
    so ``lambda x: x.split(SEP)`` changes identity when ``SEP`` does. Long descriptions are hashed.

    Why code, not source: it needs no source file (``python -c``, notebooks) and no tokenizing, which would
    cost a restart several milliseconds per function."""
    code = getattr(func, "__code__", None)
    if code is None:  # a builtin such as str.split, or a callable object
        return f"callable={getattr(func, '__qualname__', type(func).__qualname__)}"
    reads: dict[str, Any] = {}
    for name, cell in zip(code.co_freevars, getattr(func, "__closure__", None) or ()):
        try:
            reads[name] = cell.cell_contents
        except ValueError:  # a cell not filled yet
            continue
    scope = getattr(func, "__globals__", {})
    reads.update((name, scope[name]) for name in code.co_names if name in scope and name not in reads)
    body = ", ".join(f"{name}={_stable_repr(reads[name])}" for name in sorted(reads))
    described = f"code={_code_identity(code)}, reads={{{body}}}"
    if len(described) > LONG_IDENTITY:
        return "sha256:" + hashlib.sha256(described.encode("utf-8", "surrogatepass")).hexdigest()
    return described


def _code_identity(code: CodeType) -> str:
    consts = ", ".join(_code_identity(c) if isinstance(c, CodeType) else _stable_repr(c) for c in code.co_consts)
    return f"{code.co_code.hex()}/{','.join(code.co_names)}/({consts})"


class NodeTransform:
    """Turns a node into a list of texts (or nodes). Subclasses implement `transform`.

    `identity` describes the transform and its parameters so a stored node group can tell that its
    definition changed and must be rebuilt. A splitter that sizes chunks in tokens takes the embedding
    model's measure through two hooks a `Document` calls on every group's transform: `set_token_counter`
    (count in the model's tokens) and `fit_window` (no chunk longer than the model reads). Both answer whether
    they changed anything; the defaults, for a transform that does not count tokens, change nothing.
    """

    def __init__(self, num_workers: int = 0) -> None:
        """``num_workers`` is LazyLLM's (a subclass calls ``super().__init__(num_workers=0)``); ragjet runs
        transforms in the ingestion engine's own order and keeps the value only to accept it."""
        self._num_workers = num_workers

    def __call__(self, node: DocNode) -> list[str | DocNode]:
        return self.transform(node)

    def transform(self, node: DocNode) -> list[str]:
        raise NotImplementedError(f"{type(self).__name__} must implement transform(node)")

    def batch_forward(self, nodes: list[DocNode]) -> list[list[str | DocNode]]:
        """`transform` for many nodes, one list per node. Subclasses override it to batch work across nodes."""
        return [self.transform(node) for node in nodes]

    def set_token_counter(self, counter: TokenCounter, name: str) -> bool:
        """Count chunk sizes with ``counter`` (named ``name`` in the identity); whether that changed the
        measure."""
        return False

    def fit_window(self, tokens: int) -> bool:
        """Keep every chunk within ``tokens`` of the embedding model's window; whether that cut the size."""
        return False

    def _identity_params(self) -> dict[str, Any]:
        """The parameters that define the output; by default the public instance attributes."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def identity(self) -> str:
        """A stable string, class name and sorted parameters, e.g. ``SentenceSplitter(chunk_size=256, ...)``."""
        params = self._identity_params()
        body = ", ".join(f"{k}={_stable_repr(params[k])}" for k in sorted(params))
        return f"{type(self).__name__}({body})"


TRANSFORMS: Registry[type] = Registry(
    "transform", hint="Register one with ragjet.rag.transforms.register_transform(name) on a NodeTransform class.")


def register_transform(name: str) -> Callable[[type], type]:
    """Make a NodeTransform class usable by name: ``create_node_group(name, transform="SentenceSplitter")``."""
    return TRANSFORMS.register(name)


@dataclass(frozen=True)
class TransformArgs:
    """LazyLLM's description of a node group's transform: ``f`` (a NodeTransform class or its registered name,
    or a function), its ``kwargs``, ``trans_node`` (a function receives the node, not its text). Also given as
    a dict with these keys: ``create_node_group(transform=dict(f="SentenceSplitter", kwargs=...))``."""

    f: Any
    kwargs: dict = field(default_factory=dict)
    trans_node: Optional[bool] = None
    num_workers: int = 0
    pattern: Optional[str] = None

    @classmethod
    def from_dict(cls, given: dict) -> "TransformArgs":
        unknown = set(given) - {f.name for f in fields(cls)}
        if unknown:
            raise TypeError(f"transform dict keys {sorted(unknown)} are unknown; it takes f, kwargs, trans_node, "
                            f"num_workers and pattern")
        if "f" not in given:
            raise TypeError("a transform dict needs 'f': the transform (a NodeTransform class or name, or a function)")
        return cls(**given)
