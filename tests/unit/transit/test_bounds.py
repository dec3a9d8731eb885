"""Static lower bounds behind the searches' pruning: fastest minutes and fewest rides."""

from __future__ import annotations

import numpy as np

from solvers.transit.bound import (
    INF,
    fare_floor_cents,
    flat_patterns,
    lower_bounds,
    ride_bounds,
    static_in_edges,
)


def test_time_bound_is_the_static_shortest_path_and_respects_blocked_stops() -> None:
    incoming = static_in_edges(4, [(0, 1, 30), (1, 2, 40), (0, 2, 90), (2, 3, 5), (0, 1, 50)])
    assert lower_bounds(incoming, {2: 7}) == [77, 47, 7, INF]
    # Stop 1 may not be passed: the direct edge is the only way, but 1 may still start a path.
    assert lower_bounds(incoming, {2: 0}, [True, False, True, True]) == [90, 40, 0, INF]


def test_ride_bound_counts_rides_ending_with_one_footpath() -> None:
    # Pattern 0 runs 0-1-2, pattern 1 runs 2-3; stop 3 walks to the destination stop 4.
    flat = flat_patterns([(0, 1, 2), (2, 3)], [[], [], [], [(4, 5)], []])
    rides, last = ride_bounds(flat, 5, [4], 3)
    assert rides == [2, 2, 1, INF, 0]
    assert last[0][0] < 0 and last[0][1] == 1
    assert last[1] == [2, 1]


def test_fare_floor_is_the_cheapest_rate_over_the_distance_left_less_the_slack() -> None:
    # One degree of latitude is about 111.2 km; the egress stop is stop 2.
    lat, lon = np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 0.0])
    assert fare_floor_cents(lat, lon, [2], 10.0, 0, 0) == [2213, 1101, 0]
    # Free footpaths of 10 km in all, a kilometre for rounding, 5 cents of rounding down.
    assert fare_floor_cents(lat, lon, [2], 10.0, 10_000, 5) == [2108, 996, 0]
    assert fare_floor_cents(lat, lon, [], 10.0, 0, 0) == [0, 0, 0]
