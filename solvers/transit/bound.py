"""Static lower bounds on travel time to a target, used as A* potentials by the searches.

The timetable is collapsed into a static graph: an edge per consecutive pair of stops of a
route pattern, weighted by the fastest hop of any of its trips, and an edge per footpath. Waiting
and transfer times are dropped, so the shortest static time from a stop to the target (plus the
target's door-leg minutes) never exceeds any timetable journey from that stop: the bound is
admissible, and consistent along a trip, because a trip's arrival times grow at least by the
fastest hop between consecutive stops. A reverse Dijkstra from the targets gives every stop's
bound in a few milliseconds; a stop that cannot reach a target at all gets INF, which also
answers unreachable queries without scanning the timetable. The same collapse counts the fewest
rides from each stop to the destination, which bounds the multi-criteria search's rounds.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from solvers.geo import EARTH_RADIUS_M

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


@dataclass(frozen=True, slots=True)
class FlatPatterns:
    """Every route pattern's stop sequence concatenated, for vectorised ride counting."""

    stops: NDArray[np.int64]
    starts: NDArray[np.int64]
    segment: NDArray[np.int64]
    foot_from: NDArray[np.int64]
    foot_to: NDArray[np.int64]


def flat_patterns(
    pattern_stops: Sequence[Sequence[int]], footpaths: Sequence[Sequence[tuple[int, int]]]
) -> FlatPatterns:
    lengths = np.array([len(s) for s in pattern_stops], dtype=np.int64)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    stops = np.fromiter((v for s in pattern_stops for v in s), dtype=np.int64,
                        count=int(lengths.sum()))
    segment = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    pairs = [(u, v) for u, walks in enumerate(footpaths) for v, _ in walks]
    foot = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    return FlatPatterns(stops, starts, segment, foot[:, 0].copy(), foot[:, 1].copy())


def ride_bounds(
    flat: FlatPatterns, n: int, egress: Iterable[int], max_rides: int
) -> tuple[list[int], list[list[int]]]:
    """Fewest scheduled rides from each stop to an egress stop (more than `max_rides`: INF),
    and, per number b of rides left after the current one, the last position of each pattern
    worth alighting at (negative: none). A ride may end with one footpath, as in the search;
    pickup and drop-off rules are ignored, which keeps both bounds optimistic."""
    rides = np.full(n, INF, dtype=np.int64)
    rides[list(egress)] = 0
    index = np.arange(len(flat.stops), dtype=np.int64)
    last_useful: list[list[int]] = []
    for left in range(max_rides):
        good = rides <= left
        good[flat.foot_from[good[flat.foot_to]]] = True
        if len(flat.starts) == 0:
            last_useful.append([])
            continue
        last = np.maximum.reduceat(np.where(good[flat.stops], index, -1), flat.starts)
        last_useful.append((last - flat.starts).tolist())
        before = flat.stops[index < last[flat.segment]]
        rides[before] = np.minimum(rides[before], left + 1)
    return rides.tolist(), last_useful


def fare_floor_cents(
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    egress: Sequence[int],
    cents_per_km: float,
    free_m: int,
    slack_cents: int,
) -> list[int]:
    """Per stop, a lower bound on the fares still to pay to reach an egress stop.

    Fares grow with the along-route distance, which is at least the great-circle distance
    between where a ride boards and alights; footpaths are free and cover at most `free_m`
    metres in all, and fares round down by at most `slack_cents` in all. `cents_per_km` is the
    party's cheapest rate per kilometre over the carriers it may use."""
    if not egress or cents_per_km <= 0:
        return [0] * len(lat)
    phi, lam = np.radians(lat), np.radians(lon)
    e = np.asarray(egress, dtype=np.int64)
    best = np.full(len(lat), np.inf)
    for pe, le in zip(phi[e].tolist(), lam[e].tolist(), strict=True):
        h = (np.sin((phi - pe) / 2) ** 2
             + np.cos(phi) * np.cos(pe) * np.sin((lam - le) / 2) ** 2)
        best = np.minimum(best, 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, h))))
    # A metre per hop of rounding in route distances is far less than this kilometre.
    km = np.maximum(best - free_m - 1000, 0) / 1000
    cents = np.floor(km * cents_per_km) - slack_cents
    floor: list[int] = np.maximum(cents, 0).astype(np.int64).tolist()
    return floor
