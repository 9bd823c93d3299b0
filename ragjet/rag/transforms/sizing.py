"""Chunks measured as the embedding model measures them: a node group's transform counts in the model's
tokens (never fewer than GPT-2's, LazyLLM's measure) and cuts no chunk longer than the models that embed the
group read, so none is truncated (truncated text is invisible to dense retrieval). `Document` calls
`fit_to_models` for each group before it splits anything; the transform's two sizing hooks
(`NodeTransform.set_token_counter`, `NodeTransform.fit_window`) do the rest."""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping

from ...log import LOG
from ...text.token_count import AtLeastGPT2
from .base import NodeTransform

if TYPE_CHECKING:
    from ..embedding import Embedder


def fit_to_models(group: str, transform: NodeTransform, embedders: Mapping[str, "Embedder"],
                  keys: Iterable[str]) -> None:
    """Give ``group``'s ``transform`` the first model's token counter that has one, and the narrowest window of
    the models of ``keys`` (the embed keys the group is embedded with)."""
    counter = next((e for e in embedders.values() if e.token_counter is not None), None)
    if counter is None or counter.token_counter is None:
        return
    sized = AtLeastGPT2(counter.token_counter, counter.model_id)
    if not transform.set_token_counter(sized, sized.name):
        return
    window = min((w for w in (embedders[k].content_window for k in keys if k in embedders) if w), default=None)
    if window and transform.fit_window(window):
        size = getattr(transform, "chunk_size", window)
        say = LOG.warning if size > window * 1.25 else LOG.info
        say("group %r: chunks of at most %d tokens instead of chunk_size=%d, the most %s reads without truncating",
            group, window, size, counter.model_id)
