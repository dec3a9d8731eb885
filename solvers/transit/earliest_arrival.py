"""Earliest-arrival core: a trip-scanning Dijkstra over FIFO route patterns.

Each settled stop boards the earliest trip of every pattern through it and scans that trip
once, with RAPTOR's pruning (an earlier-or-same trip already boarded upstream reaches every later
stop no later). Sources are stops with ready times, targets are stops with extra minutes (a door
leg), so the same code answers stop-to-stop queries and bounds the multi-criteria search window.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left

from solvers.transit.bound import INF, lower_bounds
from solvers.transit.index import Timetable
from solvers.transit.raptor import raptor_earliest_arrival


def earliest_arrival_multi(
    tt: Timetable,
    sources: dict[int, int],
    targets: dict[int, int],
    min_transfer_minutes: int = 0,
    usable: list[bool] | None = None,
    bound: list[int] | None = None,
) -> int | None:
    """Earliest arrival from stops ready at given times to any target stop plus its extra
    minutes (a door leg); `usable` masks stops that may not be touched. `bound` is the static
    lower bound to the targets (`target_bounds`), computed here when not given."""
    if tt.raptor is not None:
        # The rounds prune by the best arrival so far; the static bound's Dijkstra costs more
        # than the pruning it adds, so it is used only when a caller already has it.
        h = [0] * len(tt.transfer_minutes) if bound is None else bound
        return raptor_earliest_arrival(tt.raptor, sources, targets, min_transfer_minutes,
                                       usable, h)
    h = target_bounds(tt, targets, usable) if bound is None else bound
    return trip_scan_earliest_arrival(tt, sources, targets, min_transfer_minutes, usable, h)


def trip_scan_earliest_arrival(
    tt: Timetable,
    sources: dict[int, int],
    targets: dict[int, int],
    min_transfer_minutes: int,
    usable: list[bool] | None,
    h: list[int],
) -> int | None:
    """The trip-scanning A* search: fast when the answer is near, and the fallback when the
    timetable has no flat arrays."""
    patterns = tt.patterns
    stop_patterns = tt.stop_patterns
    footpaths = tt.footpaths
    transfer = tt.transfer_minutes
    no_transfer = tt.no_transfer or [False] * len(transfer)
    n = len(transfer)
    ready = [INF] * n
    best = INF
    heap: list[tuple[int, int]] = []
    for stop, t in sources.items():
        if h[stop] >= INF:
            continue
        ready[stop] = t
        heap.append((t + h[stop], stop))
        if stop in targets:
            best = min(best, t + targets[stop])
    heapq.heapify(heap)
    push, pop = heapq.heappush, heapq.heappop
    # Per pattern: [trip, boarding position, first position the scan could not pass].
    boarded: dict[int, list[list[int]]] = {}
    while heap:
        key, stop = pop(heap)
        if key >= best:
            break
        now = ready[stop]
        if key != now + h[stop]:
            continue
        for pi, pos in stop_patterns[stop]:
            pat = patterns[pi]
            deps = pat.dep[pos]
            k = bisect_left(deps, now)
            if k == len(deps):
                continue
            end = len(pat.stops)
            entry = [k, pos, end]
            seen = boarded.get(pi)
            if seen is None:
                boarded[pi] = [entry]
            else:
                # FIFO: an earlier-or-same trip boarded upstream already reaches every later
                # stop no later than this one, so the scan stops where that one began; unless
                # that scan was cut by a stop that may not be passed before reaching this one.
                dominated = False
                for k2, pos2, cut2 in seen:
                    if k2 <= k:
                        if pos2 <= pos < cut2:
                            dominated = True
                            break
                        if pos2 > pos:
                            end = min(end, pos2 + 1)
                if dominated:
                    continue
                seen.append(entry)
            arr_rows = pat.arr
            pat_stops = pat.stops
            dropoff = pat.dropoff
            for j in range(pos + 1, end):
                a = arr_rows[j][k]
                v = pat_stops[j]
                # The bound is consistent along a trip: once it reaches `best`, so do all
                # later stops of this trip. Not across a stop that may not be passed, where it
                # is INF: so the scan records where it stopped.
                if a + h[v] >= best or (usable is not None and not usable[v]):
                    entry[2] = j
                    break
                if not dropoff[j]:
                    continue
                if v in targets:
                    best = min(best, a + targets[v])
                    if targets[v] == 0:
                        break
                # No change of trip at a no-transfer stop: only a walk away from it.
                r = INF if no_transfer[v] else a + max(transfer[v], min_transfer_minutes)
                if r < ready[v]:
                    ready[v] = r
                    if r + h[v] < best:
                        push(heap, (r + h[v], v))
                for w, walk in footpaths[v]:
                    t = a + walk
                    if usable is not None and not usable[w]:
                        continue
                    if w in targets:
                        best = min(best, t + targets[w])
                    if t < ready[w]:
                        ready[w] = t
                        if t + h[w] < best:
                            push(heap, (t + h[w], w))
    return None if best == INF else best


def target_bounds(
    tt: Timetable, targets: dict[int, int], usable: list[bool] | None = None
) -> list[int]:
    """Static lower bound on the minutes from every stop to the targets (INF: unreachable)."""
    return lower_bounds(tt.static_in, targets, usable)
