"""Round-based earliest arrival (RAPTOR) vectorised with numpy over flat per-pattern arrays.

Every stop position of every route pattern gets one slot in flat arrays; the departure and
arrival times of its trips lie in one contiguous run of cells (trips in FIFO order), keyed by
slot so that a single `searchsorted` finds, for all stops improved in the last round at once,
the earliest trip each can board. A running minimum of the boarded trip index along each pattern
(FIFO: a smaller index is no later anywhere downstream) gives the best trip at every later
position, so one round is a handful of array operations whatever the number of patterns. The
trip-scanning search in `transit_ea` costs about 2.5 microseconds per stop visited, which is
slow exactly when the answer is far away or missing and the whole reachable network has to be
explored; the rounds cost about 2 ms each and a long journey needs ten or so. Semantics are the
same as the trip-scanning search and the networkx reference: ready at a source at its time,
alight where drop-off is allowed, board again after max(stop minimum, query minimum) minutes
(never at a no-transfer stop) or after one footpath, never pass through an unusable stop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

# Larger than any time or bound sum, small enough that two of them never overflow int64.
NONE = 1 << 40
# Cell keys are slot * SLOT + minutes since the earliest departure.
SLOT = 1 << 36
# Trip index meaning "no trip"; also the spacing that keeps running minima inside a pattern.
NO_TRIP = (1 << 20) - 1

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class RaptorArrays:
    """Flat timetable: one slot per (pattern, position), one cell per (slot, trip)."""

    stop: Ints
    pickup: Bools
    dropoff: Bools
    first: Bools
    trips: Ints
    cell_start: Ints
    dep_key: Ints
    arr: Ints
    arr_key: Ints
    dep: Ints
    t0: int
    foot_from: Ints
    foot_to: Ints
    foot_minutes: Ints
    transfer: Ints
    # Stops where no change of trip is allowed: a ride ending there never makes one ready.
    no_transfer: Bools


class _Pattern(Protocol):
    """What `raptor_arrays` reads from a `transit_index.Pattern`."""

    @property
    def stops(self) -> Sequence[int]: ...
    @property
    def pickup(self) -> Sequence[bool]: ...
    @property
    def dropoff(self) -> Sequence[bool]: ...
    @property
    def trips(self) -> Sequence[int]: ...
    @property
    def dep(self) -> Sequence[Sequence[int]]: ...
    @property
    def arr(self) -> Sequence[Sequence[int]]: ...


def raptor_arrays(patterns: Sequence[_Pattern], footpaths: Sequence[Sequence[tuple[int, int]]],
                  transfer: Sequence[int], no_transfer: Sequence[bool] | None = None
                  ) -> RaptorArrays | None:
    """The flat arrays, or None when a pattern has too many trips for the index encoding."""
    if any(len(p.trips) >= NO_TRIP for p in patterns):
        return None
    stop = np.fromiter((s for p in patterns for s in p.stops), np.int64)
    pickup = np.fromiter((b for p in patterns for b in p.pickup), np.bool_)
    dropoff = np.fromiter((b for p in patterns for b in p.dropoff), np.bool_)
    lengths = np.fromiter((len(p.stops) for p in patterns), np.int64, len(patterns))
    counts = np.fromiter((len(p.trips) for p in patterns), np.int64, len(patterns))
    first = np.zeros(len(stop), np.bool_)
    first[np.cumsum(lengths) - lengths] = True
    trips = np.repeat(counts, lengths)
    cell_start = np.cumsum(trips) - trips
    dep = np.fromiter((t for p in patterns for row in p.dep for t in row), np.int64)
    arr = np.fromiter((t for p in patterns for row in p.arr for t in row), np.int64)
    t0 = int(dep.min()) if len(dep) else 0
    if len(dep) and int(arr.max()) - t0 >= SLOT:
        return None
    slot = np.repeat(np.arange(len(stop), dtype=np.int64), trips)
    pairs = [(u, v, w) for u, walks in enumerate(footpaths) for v, w in walks]
    foot = np.array(pairs, dtype=np.int64).reshape(-1, 3)
    return RaptorArrays(stop, pickup, dropoff, first, trips, cell_start, slot * SLOT + dep - t0,
                        arr, slot * SLOT + arr - t0, dep, t0, foot[:, 0].copy(),
                        foot[:, 1].copy(), foot[:, 2].copy(), np.array(transfer, dtype=np.int64),
                        np.array(no_transfer or [False] * len(transfer), dtype=np.bool_))


def raptor_earliest_arrival(
    ra: RaptorArrays,
    sources: dict[int, int],
    targets: dict[int, int],
    min_transfer_minutes: int,
    usable: Sequence[bool] | None,
    bound: Sequence[int],
) -> int | None:
    """Earliest arrival at any target plus its extra minutes; `bound` is the static lower bound
    to the targets (INF where none), which prunes arrivals that cannot beat the best so far."""
    n = len(ra.transfer)
    h = np.minimum(np.array(bound, dtype=np.int64), NONE)
    ready = np.full(n, NONE, np.int64)
    best = NONE
    for stop, t in sources.items():
        if h[stop] < NONE:
            ready[stop] = min(int(ready[stop]), t)
            if stop in targets:
                best = min(best, t + targets[stop])
    target = np.fromiter(targets, np.int64, len(targets))
    target_extra = np.fromiter(targets.values(), np.int64, len(targets))
    extra = np.full(n, NONE, np.int64)
    extra[target] = target_extra
    # NONE where no change of trip is allowed: an arrival there is never ready to board.
    mtt = np.where(ra.no_transfer, NONE, np.maximum(ra.transfer, min_transfer_minutes))
    if usable is None:
        ok_stop = np.ones(n, np.bool_)
        alight, reset = ra.dropoff, ra.first
    else:
        ok_stop = np.array(usable, dtype=np.bool_)
        ok_slot = ok_stop[ra.stop]
        # A trip may start at an unusable source but never reach one: the run restarts there.
        alight, reset = ra.dropoff & ok_slot, ra.first | ~ok_slot
    run = np.cumsum(reset) - 1
    # Later runs get smaller offsets, so one running minimum never leaks across runs.
    offset = (int(run[-1]) + 1 - run) * (NO_TRIP + 1) if len(run) else run
    walk_ok = ok_stop[ra.foot_to]
    foot_from, foot_to = ra.foot_from[walk_ok], ra.foot_to[walk_ok]
    foot_minutes = ra.foot_minutes[walk_ok]
    marked = ready < NONE
    while marked.any():
        boarding = np.flatnonzero(marked[ra.stop] & ra.pickup)
        when = np.clip(ready[ra.stop[boarding]] - ra.t0, 0, SLOT - 1)
        k = np.searchsorted(ra.dep_key, boarding * SLOT + when) - ra.cell_start[boarding]
        has = k < ra.trips[boarding]
        trip = np.full(len(ra.stop), NO_TRIP, np.int64)
        trip[boarding[has]] = k[has]
        trip = np.minimum.accumulate(trip + offset) - offset
        # The trip ridden into a slot is the best one boarded strictly upstream in its run.
        riding = np.empty_like(trip)
        riding[1:] = trip[:-1]
        riding[reset] = NO_TRIP
        slots = np.flatnonzero((riding != NO_TRIP) & alight)
        arrival = ra.arr[ra.cell_start[slots] + riding[slots]]
        at = ra.stop[slots]
        keep = arrival + h[at] < best
        arrived = np.full(n, NONE, np.int64)
        np.minimum.at(arrived, at[keep], arrival[keep])
        best = min(best, int((arrived[target] + target_extra).min(initial=NONE)))
        again = arrived + mtt
        walked = arrived[foot_from] + foot_minutes
        moved = walked < NONE
        if moved.any():
            walked, to = walked[moved], foot_to[moved]
            best = min(best, int((walked + extra[to]).min()))
            np.minimum.at(again, to, walked)
        better = again < ready
        ready = np.where(better, again, ready)
        marked = better & (again + h < best)
    return None if best >= NONE else best


def latest_ready(
    ra: RaptorArrays,
    deadline: Sequence[int],
    usable: Sequence[bool],
    min_transfer_minutes: int,
    rides: int,
) -> list[list[int]]:
    """Per number of rides r (index 0 to `rides`), the latest time one can be ready to board at
    each stop and still reach a stop by its deadline (the latest arrival from which its door leg
    ends in time; -NONE for stops with none) with at most r rides, walking at most one footpath
    after each ride and never touching an unusable stop; -NONE where it cannot be done.

    Backward RAPTOR: per round, the latest trip each slot can be alighted from in time, then a
    running maximum against the direction of travel gives the latest trip each earlier slot can
    board. Pickup/drop-off, transfer times and no-transfer stops are kept; carriers, fares and
    layover rules are not, so the times are upper bounds on what the multi-criteria search can
    do."""
    n = len(ra.transfer)
    ok_stop = np.array(usable, dtype=np.bool_)
    ok_slot = ok_stop[ra.stop]
    end = np.where(ok_stop, np.array(deadline, dtype=np.int64), -NONE)
    mtt = np.maximum(ra.transfer, min_transfer_minutes)
    reset = ra.first | ~ok_slot
    run = np.cumsum(reset) - 1
    # Against the direction of travel, earlier runs come later and get larger offsets.
    offset = (int(run[-1]) - run) * (NO_TRIP + 2) if len(run) else run
    alight = np.flatnonzero(ra.dropoff & ok_slot)
    board_ok = ra.pickup & ok_slot
    walk_ok = ok_stop[ra.foot_to] & ok_stop[ra.foot_from]
    foot_from, foot_to = ra.foot_from[walk_ok], ra.foot_to[walk_ok]
    foot_minutes = ra.foot_minutes[walk_ok]
    ready = np.full(n, -NONE, np.int64)
    out = [ready.tolist()]
    for _ in range(rides):
        # Latest arrival at each stop from which the rest can still be done.
        again = (ready > -NONE) & ~ra.no_transfer
        onward = np.maximum(end, np.where(again, ready - mtt, -NONE))
        then = np.maximum(end, ready)[foot_to] - foot_minutes
        np.maximum.at(onward, foot_from, np.where(then > -NONE // 2, then, -NONE))
        by = onward[ra.stop[alight]]
        can = by > -NONE // 2
        slots, by = alight[can], by[can]
        when = np.clip(by - ra.t0, -1, SLOT - 1)
        k = np.searchsorted(ra.arr_key, slots * SLOT + when, side="right") - 1
        k -= ra.cell_start[slots]
        trip = np.full(len(ra.stop), -1, np.int64)
        trip[slots] = k
        # The latest trip alightable strictly downstream in the same run.
        rev = (trip + 1 + offset)[::-1]
        best = (np.maximum.accumulate(rev)[::-1] - offset) - 1
        riding = np.full_like(best, -1)
        riding[:-1] = best[1:]
        riding[np.flatnonzero(reset)[1:] - 1] = -1
        if len(riding):
            riding[-1] = -1
        board = np.flatnonzero(board_ok & (riding >= 0))
        dep = ra.dep[ra.cell_start[board] + riding[board]]
        ready = ready.copy()
        np.maximum.at(ready, ra.stop[board], dep)
        out.append(ready.tolist())
    return out
