"""Round-based earliest arrival: trips ridden through, runs cut at unusable stops, footpaths."""

from __future__ import annotations

from solvers.transit import (
    Carrier,
    Connection,
    Footpath,
    Mode,
    Network,
    Stop,
    Trip,
    build_timetable,
)
from solvers.transit.earliest_arrival import (
    earliest_arrival_multi,
    target_bounds,
    trip_scan_earliest_arrival,
)
from solvers.transit.raptor import NONE, latest_ready

RAIL = Carrier("r", "Rail", Mode.RAIL)


def line() -> Network:
    """One trip 0-1-2 (10:00, 10:30, 11:00), a later trip 0-1-2 an hour on, a walk 2->3."""
    stops = tuple(Stop(f"S{i}", f"Stop {i}", 40.0 + i, -75.0, "UTC") for i in range(4))
    conns = []
    for t, start in enumerate((600, 660)):
        conns += [Connection(t, 0, 0, 1, start, start + 30), Connection(t, 1, 1, 2, start + 30,
                                                                       start + 60)]
    trips = (Trip("T0", 0), Trip("T1", 0))
    return Network(stops, (RAIL,), trips, tuple(conns), (Footpath(2, 3, 7),))


def test_rides_through_walks_on_and_adds_door_minutes() -> None:
    tt = build_timetable(line())
    assert tt.raptor is not None
    assert earliest_arrival_multi(tt, {0: 590}, {2: 0}) == 660
    assert earliest_arrival_multi(tt, {0: 590}, {3: 5}) == 672
    assert earliest_arrival_multi(tt, {0: 601}, {2: 0}) == 720
    # The earlier of two sources wins even when it is further away.
    assert earliest_arrival_multi(tt, {0: 590, 1: 700}, {2: 0}) == 660


def test_unusable_stop_cuts_the_trip_but_may_start_it() -> None:
    tt = build_timetable(line())
    usable = [True, False, True, True]
    assert earliest_arrival_multi(tt, {0: 590}, {2: 0}, usable=usable) is None
    assert earliest_arrival_multi(tt, {1: 600}, {2: 0}, usable=usable) == 660
    assert earliest_arrival_multi(tt, {0: 590}, {3: 0}, usable=[True, True, True, False]) is None


def test_trip_cut_by_an_unusable_stop_may_be_boarded_again_after_it() -> None:
    """Trip 0 runs 0-1-2-3 and stop 1 may not be passed; a fast late trip runs 0-3. Boarding
    trip 0 at stop 0 is cut at stop 1, which must not stop stop 2 from boarding it."""
    stops = tuple(Stop(f"S{i}", f"Stop {i}", 40.0 + i, -75.0, "UTC") for i in range(4))
    conns = (Connection(0, 0, 0, 1, 600, 610), Connection(0, 1, 1, 2, 610, 620),
             Connection(0, 2, 2, 3, 620, 630), Connection(1, 0, 0, 3, 900, 905))
    tt = build_timetable(Network(stops, (RAIL,), (Trip("T0", 0), Trip("T1", 0)), conns))
    usable = [True, False, True, True]
    bound = target_bounds(tt, {3: 0}, usable)
    sources = {0: 590, 2: 615}
    assert trip_scan_earliest_arrival(tt, sources, {3: 0}, 0, usable, bound) == 630
    assert earliest_arrival_multi(tt, sources, {3: 0}, 0, usable, bound) == 630


def test_latest_ready_times_per_ride_count() -> None:
    tt = build_timetable(line())
    assert tt.raptor is not None
    no = -NONE
    # Stop 3 must be reached by 700: only the first trip, then the walk from stop 2, makes it.
    rounds = latest_ready(tt.raptor, [no, no, no, 700], [True] * 4, 0, 1)
    assert rounds == [[no] * 4, [600, 630, no, no]]
    # Stop 2 by 720: the second trip; stop 1 may not be passed, so stop 0 is cut off.
    rounds = latest_ready(tt.raptor, [no, no, 720, no], [True, False, True, True], 0, 2)
    assert rounds[1] == [no, no, no, no] and rounds[2] == [no, no, no, no]
    assert latest_ready(tt.raptor, [no, no, 720, no], [True] * 4, 0, 1)[1] == [660, 690, no, no]
