"""Static lower bounds on travel time to a target, used as A* potentials by the searches.

The timetable is collapsed into a static graph: an edge per consecutive pair of stops of a
route pattern, weighted by the fastest hop of any of its trips, and an edge per footpath. Waiting
and transfer times are dropped, so the shortest static time from a stop to the target (plus the
target's door-leg minutes) never exceeds any timetable journey from that stop: the bound is
admissible, and consistent along a trip, because a trip's arrival times grow at least by the
fastest hop between consecutive stops. A reverse Dijkstra from the targets gives every stop's
bound in a few milliseconds; a stop that cannot reach a target at all gets INF, which also
answers unreachable queries without scanning the timetable.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

INF = 1 << 62


def static_in_edges(
    n: int,
    hops: Sequence[tuple[int, int, int]],
) -> list[tuple[tuple[int, int], ...]]:
    """Per stop, the incoming static edges (from stop, minimum minutes), one per neighbour."""
    best: dict[tuple[int, int], int] = {}
    for u, v, w in hops:
        if u != v and w < best.get((u, v), INF):
            best[(u, v)] = w
    incoming: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for (u, v), w in sorted(best.items()):
        incoming[v].append((u, w))
    return [tuple(edges) for edges in incoming]


def lower_bounds(
    incoming: Sequence[Sequence[tuple[int, int]]],
    targets: Mapping[int, int],
    usable: Sequence[bool] | None = None,
) -> list[int]:
    """Minutes from each stop to the nearest target plus its extra minutes (INF if none).

    A stop that may not be touched is never passed through, but may still start a path (the
    origin of a search is not checked against `usable`)."""
    dist = [INF] * len(incoming)
    heap: list[tuple[int, int]] = []
    for stop, extra in targets.items():
        if extra < dist[stop] and (usable is None or usable[stop]):
            dist[stop] = extra
            heap.append((extra, stop))
    heapq.heapify(heap)
    pop, push = heapq.heappop, heapq.heappush
    while heap:
        d, v = pop(heap)
        if d != dist[v] or (usable is not None and not usable[v]):
            continue
        for u, w in incoming[v]:
            nd = d + w
            if nd < dist[u]:
                dist[u] = nd
                push(heap, (nd, u))
    return dist
