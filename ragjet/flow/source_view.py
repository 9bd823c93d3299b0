"""How a source is shown, the same to every reader: the web API's ``sources`` field, ``ragjet ask`` and
``ragjet search`` all describe a node as its file's name (never the server's path), its score (the
reranker's when there is one, else the retriever's) and a one-line snippet of its text."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

SNIPPET_CHARS = 280
MAX_SOURCES = 10


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """``text`` on one line, cut to ``limit`` characters at a space when one is near (Chinese has none)."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit * 0.8 else cut) + " …"


def file_name(node: Any) -> Optional[str]:
    """The name of the file a node comes from (None for a node made by hand): a source is never shown by the
    server's path."""
    return Path(node.docpath).name if getattr(node, "docpath", None) else None


def source_score(node: Any) -> Optional[float]:
    """The score a source is shown with: the reranker's when there is one, else the retriever's."""
    return node.relevance_score if node.relevance_score is not None else node.similarity_score


def describe_sources(nodes: Sequence[Any], cited: Optional[list[int]] = None, limit: int = MAX_SOURCES,
                     snippet_chars: int = SNIPPET_CHARS) -> list[dict[str, Any]]:
    """``{file, score, snippet}`` for each of the first ``limit`` nodes, best first; with ``cited`` (the
    1-based numbers an answer cited) each also says whether it was cited."""
    out = []
    for rank, node in enumerate(nodes[:limit], 1):
        score = source_score(node)
        source = {"file": file_name(node),
                  "score": None if score is None else round(float(score), 4),
                  "snippet": snippet(node.text, snippet_chars)}
        if cited is not None:
            source["cited"] = rank in cited
        out.append(source)
    return out
