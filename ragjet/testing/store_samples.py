"""What the contract suites write and read: sample nodes with vectors and metadata, a folder's worth of
text, a long single-line text, and `StoreMaker`. Shared by the store, document and index contracts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..rag.doc_node import DocNode
from ..rag.store import StoreBase, create_store
from .embedders import RandomEmbedder


@dataclass
class StoreMaker:
    """Opens the store that ``conf`` (a ``store_conf``) describes, as often as asked."""

    conf: dict[str, Any]

    def __call__(self) -> StoreBase:
        return create_store(self.conf)


DIM = 16
SUBJECTS = ("bio", "chem", "phys")


EMBED = RandomEmbedder(DIM)


def make_nodes(n_chunks: int = 24) -> tuple[list[DocNode], list[DocNode]]:
    roots = [DocNode(uid=f"root{d}", text=f"file {d}", group="root",
                     global_metadata={"doc_id": f"/docs/f{d}.txt", "file_name": f"f{d}.txt"}) for d in range(3)]
    chunks = []
    for i in range(n_chunks):
        text = f"chunk {i} about {SUBJECTS[i % 3]}"
        chunks.append(DocNode(uid=f"c{i:02d}", text=text, group="chunk", parent=roots[i % 3],
                              metadata={"subject": SUBJECTS[i % 3], "level": i % 4, "tags": ["x", "y"]},
                              embedding={"default": EMBED(text)}))
        roots[i % 3].children.setdefault("chunk", []).append(chunks[-1])  # as node-group transforms link them
    return roots, chunks


def assert_same(got: DocNode, want: DocNode) -> None:
    assert (got.uid, got.text, got.group, got.parent_uid) == (want.uid, want.text, want.group, want.parent_uid)
    assert got.metadata == want.metadata and got.global_metadata == want.global_metadata
    assert sorted(got.embedding or {}) == sorted(want.embedding or {})
    for key, vec in (want.embedding or {}).items():
        assert np.allclose(got.embedding[key], vec, atol=1e-6)


def long_text(size: int, seed: str) -> str:
    """One line of about ``size`` UTF-8 bytes, Chinese and ASCII mixed (3-byte and 1-byte characters), so
    a cut at a byte limit can land inside a character: what a whole file as a root node looks like."""
    units, total, i = [], 0, 0
    while total < size:
        units.append(f"{seed}{i}：牛车水是新加坡的唐人街。Chinatown w{i} ")
        total += len(units[-1].encode("utf-8"))
        i += 1
    return "".join(units)


CORPUS = {
    "space.txt": "Mars is called the red planet. Jupiter is the largest planet of all. The Moon orbits the Earth "
                 "every month. Saturn has bright rings of ice.",
    "food.txt": "Bread is baked from flour and water. Cheese is made from milk. Rice grows in flooded fields. "
                "Red peppers taste sweet.",
    "animals.txt": "Cats purr when they are content. Dogs bark at strangers. Parrots imitate human speech. "
                   "Owls hunt at night.",
}
