"""Node-group definitions: a name, a parent group and the transform that turns each parent node into children.

A transform may be a `NodeTransform` class (built with the group's kwargs), an instance, or any callable
returning strings or DocNodes (the lecture's ``lambda x: x.split('.')``). Children get deterministic uids from
(group, parent uid, position, text) and keep links both ways, so a retriever can map results between groups.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from ..doc_node import LAZY_ROOT_NAME, DocNode, make_uid
from .base import TRANSFORMS, NodeTransform, TransformArgs, function_identity
from .sentence_splitter import SentenceSplitter


class FuncTransform(NodeTransform):
    """A user function as a transform: it gets the node's text (or the node, with ``trans_node=True``)."""

    def __init__(self, func: Callable[[Any], Any], trans_node: bool = False) -> None:
        self.func = func
        self.trans_node = trans_node
        self._identity: Optional[str] = None

    def transform(self, node: DocNode) -> list[str | DocNode]:
        out = self.func(node if self.trans_node else node.get_text())
        return [out] if isinstance(out, (str, DocNode)) else out

    def identity(self) -> str:
        """Taken once, when a start first asks: a function that changes what it reads while it runs (a list it
        appends to) keeps the identity it started with, and is not rebuilt in the middle of its own run."""
        if self._identity is None:
            self._identity = f"FuncTransform(trans_node={self.trans_node}, {function_identity(self.func)})"
        return self._identity


@dataclass
class NodeGroup:
    """One node group of a document."""

    name: str
    transform: NodeTransform
    parent: str = LAZY_ROOT_NAME
    extra: dict[str, Any] = field(default_factory=dict)

    def build(self, parents: list[DocNode]) -> list[DocNode]:
        """Children of ``parents``; every returned item must be a string or a DocNode."""
        children: list[DocNode] = []
        for parent, items in zip(parents, self.transform.batch_forward(parents)):
            if isinstance(items, (str, DocNode)) or not hasattr(items, "__iter__"):
                items = [items]
            kids = []
            for pos, item in enumerate(items):
                node = self._child(parent, pos, item)
                if node is not None:
                    kids.append(node)
            if kids:
                parent.children[self.name] = kids
                children.extend(kids)
        return children

    def _child(self, parent: DocNode, pos: int, item: Any) -> Optional[DocNode]:
        if isinstance(item, str):
            if not item.strip():
                return None
            return DocNode(uid=make_uid(self.name, parent.uid, pos, item), text=item, group=self.name,
                           parent=parent, global_metadata=parent.global_metadata,
                           metadata=dict(parent._metadata) if parent._metadata else None)
        if isinstance(item, DocNode):
            item._group = self.name
            item._parent = parent
            item._uid = make_uid(self.name, parent.uid, pos, item.text)
            if item._global_metadata is None:
                item._global_metadata = parent.global_metadata
            return item
        raise TypeError(f"the transform of node group {self.name!r} returned {type(item).__name__} "
                        f"({item!r:.60}); a transform must return strings or DocNodes")


def lineage(groups: Mapping[str, NodeGroup], name: str) -> list[str]:
    """Group ``name`` and its ancestors in ``groups``, up to the root group (the last one)."""
    chain = [name]
    while chain[-1] != LAZY_ROOT_NAME:
        chain.append(groups[chain[-1]].parent)
    return chain


def make_transform(group: str, transform: Any, trans_node: bool = False, **kwargs: Any) -> NodeTransform:
    """Turn what a user passed as ``transform`` into a NodeTransform, or say clearly why it can't be: a
    NodeTransform class (built with ``kwargs``) or its registered name, an instance, a function, or LazyLLM's
    `TransformArgs` / dict form."""
    if isinstance(transform, dict):
        transform = TransformArgs.from_dict(transform)
    if isinstance(transform, TransformArgs):
        if transform.pattern is not None:
            raise ValueError(f"node group {group!r}: a per-file pattern= in the transform is not supported; make "
                             f"one node group per kind of file")
        return make_transform(group, transform.f, bool(transform.trans_node), **{**transform.kwargs, **kwargs})
    if isinstance(transform, str):
        transform = TRANSFORMS.get(transform)
    if isinstance(transform, type) and issubclass(transform, NodeTransform):
        return transform(**kwargs)
    if kwargs:
        raise TypeError(f"node group {group!r}: kwargs {sorted(kwargs)} only apply when transform is a "
                        f"NodeTransform class")
    if isinstance(transform, NodeTransform):
        return transform
    if callable(transform):
        return FuncTransform(transform, trans_node)
    raise TypeError(f"node group {group!r}: transform must be a callable, a NodeTransform class or instance, "
                    f"got {type(transform).__name__}")


# The lecture's built-in groups: (chunk_size, chunk_overlap) in model tokens.
BUILTIN_GROUPS: dict[str, tuple[int, int]] = {
    "CoarseChunk": (1024, 100),
    "MediumChunk": (256, 25),
    "FineChunk": (128, 12),
}


def builtin_groups() -> dict[str, NodeGroup]:
    """Fresh built-in groups (fresh splitters, so one document's tokenizer never leaks into another's)."""
    return {name: NodeGroup(name, SentenceSplitter(chunk_size=size, chunk_overlap=overlap))
            for name, (size, overlap) in BUILTIN_GROUPS.items()}
