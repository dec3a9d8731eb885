"""Return-home transit engine: public entry points for earliest arrival and safe itineraries.

`build_timetable` indexes a `Network` once; `earliest_arrival` answers the fastest arrival time
between two stops (a trip-scanning Dijkstra over FIFO route patterns: each settled stop boards
the earliest trip of every pattern through it and scans that trip once, with RAPTOR's
"already boarded earlier" pruning); `plan_trips` runs the multi-criteria search with every safety
constraint and returns itineraries plus reasons. Semantics shared with the networkx reference:
the traveller is ready at the origin at `depart_after`; staying seated is always allowed;
alighting needs drop-off, boarding needs pickup; after alighting at a stop one may board again
after max(stop minimum transfer, query minimum transfer) minutes, or walk a one-hop footpath.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left

from solvers.transit_index import Timetable, build_timetable, distance_m, local_iso
from solvers.transit_model import (
    Avoid,
    AvoidPoint,
    Carrier,
    Connection,
    Footpath,
    Itinerary,
    Leg,
    Mode,
    Network,
    Place,
    SearchResult,
    StationType,
    Stop,
    TransitInputError,
    Trip,
    TripQuery,
    UnscheduledService,
)
from solvers.transit_plan import plan_trips

__all__ = [
    "Avoid",
    "AvoidPoint",
    "Carrier",
    "Connection",
    "Footpath",
    "Itinerary",
    "Leg",
    "Mode",
    "Network",
    "Place",
    "SearchResult",
    "StationType",
    "Stop",
    "Timetable",
    "TransitInputError",
    "Trip",
    "TripQuery",
    "UnscheduledService",
    "build_timetable",
    "distance_m",
    "earliest_arrival",
    "local_iso",
    "plan_trips",
]

INF = 1 << 62


def earliest_arrival(
    tt: Timetable,
    origin: int,
    target: int,
    depart_after: int,
    *,
    min_transfer_minutes: int = 0,
) -> int | None:
    """Earliest UTC epoch minute at which `target` can be reached, or None if unreachable."""
    n = len(tt.network.stops)
    if not (0 <= origin < n and 0 <= target < n):
        raise TransitInputError("stop", "origin or target stop index out of range")
    if min_transfer_minutes < 0:
        raise TransitInputError("min_transfer_minutes", "must not be negative")
    if origin == target:
        return depart_after
    patterns = tt.patterns
    stop_patterns = tt.stop_patterns
    footpaths = tt.footpaths
    mtt = [max(m, min_transfer_minutes) for m in tt.transfer_minutes]
    ready = [INF] * n
    ready[origin] = depart_after
    best = INF
    boarded: dict[int, list[tuple[int, int]]] = {}
    heap = [(depart_after, origin)]
    while heap:
        now, stop = heapq.heappop(heap)
        if now != ready[stop]:
            continue
        if now >= best:
            break
        for pi, pos in stop_patterns[stop]:
            pat = patterns[pi]
            deps = pat.dep[pos]
            k = bisect_left(deps, now)
            if k == len(deps):
                continue
            end = len(pat.stops)
            seen = boarded.get(pi)
            if seen is None:
                boarded[pi] = [(k, pos)]
            else:
                # FIFO: an earlier-or-same trip boarded upstream already reaches every later
                # stop no later than this one, so the scan stops where that one began.
                dominated = False
                for k2, pos2 in seen:
                    if k2 <= k:
                        if pos2 <= pos:
                            dominated = True
                            break
                        end = min(end, pos2 + 1)
                if dominated:
                    continue
                seen.append((k, pos))
            arr_rows = pat.arr
            pat_stops = pat.stops
            dropoff = pat.dropoff
            for j in range(pos + 1, end):
                a = arr_rows[j][k]
                if a >= best:
                    break
                if not dropoff[j]:
                    continue
                v = pat_stops[j]
                if v == target:
                    best = a
                    break
                r = a + mtt[v]
                if r < ready[v]:
                    ready[v] = r
                    heapq.heappush(heap, (r, v))
                for w, walk in footpaths[v]:
                    t = a + walk
                    if w == target:
                        if t < best:
                            best = t
                    elif t < ready[w]:
                        ready[w] = t
                        heapq.heappush(heap, (t, w))
    return None if best == INF else best
