"""Earliest-arrival core: a trip-scanning Dijkstra over FIFO route patterns.

Each settled stop boards the earliest trip of every pattern through it and scans that trip
once, with RAPTOR's pruning (an earlier-or-same trip already boarded upstream reaches every later
stop no later). Sources are stops with ready times, targets are stops with extra minutes (a door
leg), so the same code answers stop-to-stop queries and bounds the multi-criteria search window.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left

from solvers.transit_index import Timetable

INF = 1 << 62


def earliest_arrival_multi(
    tt: Timetable,
    sources: dict[int, int],
    targets: dict[int, int],
    min_transfer_minutes: int = 0,
    usable: list[bool] | None = None,
) -> int | None:
    """Earliest arrival from stops ready at given times to any target stop plus its extra
    minutes (a door leg); `usable` masks stops that may not be touched."""
    n = len(tt.network.stops)
    patterns = tt.patterns
    stop_patterns = tt.stop_patterns
    footpaths = tt.footpaths
    mtt = [max(m, min_transfer_minutes) for m in tt.transfer_minutes]
    ready = [INF] * n
    best = INF
    for stop, t in sources.items():
        ready[stop] = t
        if stop in targets:
            best = min(best, t + targets[stop])
    boarded: dict[int, list[tuple[int, int]]] = {}
    heap = sorted((t, stop) for stop, t in sources.items())
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
                v = pat_stops[j]
                if usable is not None and not usable[v]:
                    break
                if not dropoff[j]:
                    continue
                if v in targets:
                    best = min(best, a + targets[v])
                    if targets[v] == 0:
                        break
                r = a + mtt[v]
                if r < ready[v]:
                    ready[v] = r
                    heapq.heappush(heap, (r, v))
                for w, walk in footpaths[v]:
                    t = a + walk
                    if usable is not None and not usable[w]:
                        continue
                    if w in targets:
                        best = min(best, t + targets[w])
                    if t < ready[w]:
                        ready[w] = t
                        heapq.heappush(heap, (t, w))
    return None if best == INF else best
