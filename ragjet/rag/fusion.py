"""Hybrid retrieval: fuse the ranked node lists of several routes (dense, BM25, ...) into one ranking.

Two methods. ``rrf`` (reciprocal rank fusion) scores a node ``Σ wᵢ / (k + rankᵢ)`` over the routes that
returned it (rank from 1, ``k`` = 60 as in Cormack et al.): it needs no comparable scores, only ranks, so it
suits routes as different as cosine and BM25. ``weighted`` min-max normalises each route's
``similarity_score`` to [0, 1] and sums ``wᵢ · scoreᵢ``: it keeps how far apart scores are, which helps when
one route is sure and the other is not, but lets an outlier stretch a route's scale.

Use it as a flow step after parallel retrievers::

    with pipeline() as ppl:
        ppl.routes = parallel(dense, lexical).astuple
        ppl.fuse = fuse | bind(method="rrf", topk=5)

or let one retriever run the routes: ``Retriever(doc, group, similarity=['cosine', 'bm25'], weights=[0.5, 0.5],
fusion='rrf')``, where each route contributes its best ``max(topk, ROUTE_DEPTH)`` candidates.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from .doc_node import DocNode

RRF_K = 60
ROUTE_DEPTH = 50
METHODS = ("rrf", "weighted")


def fuse(*rankings: Any, method: str = "rrf", topk: Optional[int] = None,
         weights: Optional[Sequence[float]] = None, k: int = RRF_K) -> list[DocNode]:
    """One ranking from several, best first, as copies carrying the fused score in ``similarity_score``.

    ``rankings`` are lists of DocNodes, best first, given as separate arguments (a parallel's default output)
    or as one tuple or list of them (``.astuple`` / ``.aslist``). A node returned by several routes appears
    once (the first route's copy); ``weights`` (default: equal) weigh the routes; ``topk`` cuts the result.
    """
    routes = _routes(rankings)
    weights = check_weights(weights, len(routes))
    if method == "rrf":
        if k < 0:
            raise ValueError(f"the RRF constant k must be non-negative, got {k}")
        scores = rrf_scores(routes, weights, k)
    elif method == "weighted":
        scores = weighted_scores(routes, weights)
    else:
        raise ValueError(f"unknown fusion method {method!r}; choose one of {', '.join(METHODS)}")
    first: dict[str, DocNode] = {}
    for route in routes:
        for node in route:
            first.setdefault(node.uid, node)
    ranked = sorted(first, key=lambda uid: -scores[uid])  # stable: ties keep route, then rank, order
    return [first[uid].with_score(scores[uid]) for uid in ranked[:topk]]


def rrf_scores(routes: Sequence[Sequence[DocNode]], weights: Sequence[float], k: int = RRF_K) -> dict[str, float]:
    """``Σ wᵢ / (k + rankᵢ)`` per uid; a node listed twice by one route counts at its best rank."""
    return rank_fusion([[node.uid for node in route] for route in routes], weights, k)


def rank_fusion(rankings: Sequence[Sequence[str]], weights: Sequence[float], k: int = RRF_K) -> dict[str, float]:
    """`rrf_scores` over rankings of uids."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[str] = set()
        for rank, uid in enumerate(ranking, 1):
            if uid not in seen:
                seen.add(uid)
                scores[uid] = scores.get(uid, 0.0) + weight / (k + rank)
    return scores


def merge_embed_keys(hits: Sequence[Sequence[tuple[str, float]]], comparable: bool,
                     topk: int) -> list[tuple[str, float]]:
    """One ranking of (uid, score), best first, from several embed keys' hits (each best first).

    Scores of keys of one kind (cosines of dense keys) are comparable, so a node keeps its best one. A dense
    and a sparse key are not (a cosine is at most 1, a BM25 inner product is unbounded), so their rankings
    are fused by reciprocal rank, with equal weights, and the fused score is the node's score (the callers
    search such keys ``ROUTE_DEPTH`` deep, as the retriever does its routes)."""
    if comparable:
        best: dict[str, float] = {}
        for key_hits in hits:
            for uid, score in key_hits:
                if score > best.get(uid, float("-inf")):
                    best[uid] = score
    else:
        best = rank_fusion([[uid for uid, _ in key_hits] for key_hits in hits], [1.0] * len(hits))
    return sorted(best.items(), key=lambda kv: -kv[1])[:topk]


def rank_embed_keys(keys: Sequence[str], comparable: bool, topk: int,
                    similarity_cut_off: "float | Mapping[str, float]",
                    search: Callable[[str, int], Iterable[tuple[str, float]]]) -> list[tuple[str, float]]:
    """One query over several embed keys, the one way every vector index does it: ``search(key, depth)`` gives
    each key's (uid, score) hits best first, searched ``topk`` deep (``ROUTE_DEPTH`` when the keys' scores are
    not ``comparable`` and must be rank-fused); each key's hits are cut at ``similarity_cut_off`` (a number, or
    a number per key), then merged (`merge_embed_keys`)."""
    depth = topk if comparable else max(topk, ROUTE_DEPTH)
    hits = []
    for key in keys:
        cut = similarity_cut_off.get(key, float("-inf")) if isinstance(similarity_cut_off, Mapping) \
            else similarity_cut_off
        hits.append([(uid, score) for uid, score in search(key, depth) if score >= cut])
    return merge_embed_keys(hits, comparable, topk)


def weighted_scores(routes: Sequence[Sequence[DocNode]], weights: Sequence[float]) -> dict[str, float]:
    """``Σ wᵢ · minmax(similarity_scoreᵢ)`` per uid; a route whose scores are all equal gives each node 1."""
    scores: dict[str, float] = {}
    for i, (route, weight) in enumerate(zip(routes, weights)):
        best: dict[str, float] = {}
        for node in route:
            if node.similarity_score is None:
                raise ValueError(f"weighted fusion needs similarity scores, but route #{i} returned {node!r} "
                                 "without one; use method='rrf'")
            best[node.uid] = max(best.get(node.uid, float("-inf")), node.similarity_score)
        if not best:
            continue
        low, high = min(best.values()), max(best.values())
        span = high - low
        for uid, score in best.items():
            scores[uid] = scores.get(uid, 0.0) + weight * ((score - low) / span if span > 0 else 1.0)
    return scores


def check_weights(weights: Optional[Sequence[float]], count: int) -> list[float]:
    """``weights`` as a list of ``count`` non-negative floats (equal weights when None)."""
    if weights is None:
        return [1.0] * count
    values = [float(w) for w in weights]
    if len(values) != count:
        raise ValueError(f"got {len(values)} weights for {count} routes; give one weight per route")
    if any(w < 0 for w in values) or (values and not any(values)):
        raise ValueError(f"weights must be non-negative and not all zero, got {values}")
    return values


def _routes(rankings: tuple[Any, ...]) -> list[list[DocNode]]:
    if len(rankings) == 1 and isinstance(rankings[0], (list, tuple)) \
            and all(isinstance(r, (list, tuple)) for r in rankings[0]):
        rankings = tuple(rankings[0])
    routes = [list(r) for r in rankings]
    for i, route in enumerate(routes):
        wrong = next((n for n in route if not isinstance(n, DocNode)), None)
        if wrong is not None:
            raise TypeError(f"fuse needs lists of DocNodes, but route #{i} holds a {type(wrong).__name__}; "
                            "give its retriever output_format=None")
    return routes
