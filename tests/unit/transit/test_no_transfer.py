"""transfers.txt type 3 from a stop to itself (GTFS: no transfer possible there) on a tiny feed.

T1 runs S1 -> S2 -> S3 slowly; T2 leaves S2 for S3 half an hour after T1 reaches S2; T3 leaves
S4, a short walk from S2, a little later. With S2 marked "no transfer" the change T1 -> T2 at S2
is refused by every search (earliest arrival both ways, the Pareto search, the networkx
reference), while staying on T1 through S2 and walking to S4 to change there are still fine.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from logistics.travel.gtfs import build_calendar, read_feed
from solvers.transit import Mode, Place, Timetable, TripQuery, earliest_arrival, plan_trips
from solvers.transit.calendar import expand
from solvers.transit.earliest_arrival import target_bounds, trip_scan_earliest_arrival
from solvers.transit.index import build_timetable
from solvers.transit.model import Connection, Network
from solvers.transit.reference import build_reference, reference_earliest_arrival

FILES = {
    "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
    "A,Test Rail,http://x,UTC\n",
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
    "S1,One,40.0,-75.0\nS2,Two,40.5,-75.5\nS3,Three,41.0,-76.0\nS4,Two Bus,40.501,-75.5\n",
    "routes.txt": "route_id,agency_id,route_short_name,route_long_name,route_type\n"
    "R,A,,Line,2\nB,A,,Bus,3\n",
    "trips.txt": "route_id,service_id,trip_id\nR,D,T1\nR,D,T2\nB,D,T3\n",
    "stop_times.txt": "trip_id,arrival_time,departure_time,stop_id,stop_sequence\n"
    "T1,08:00:00,08:00:00,S1,1\nT1,10:00:00,10:05:00,S2,2\nT1,14:00:00,14:00:00,S3,3\n"
    "T2,10:30:00,10:30:00,S2,1\nT2,11:30:00,11:30:00,S3,2\n"
    "T3,10:45:00,10:45:00,S4,1\nT3,12:00:00,12:00:00,S3,2\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
    "start_date,end_date\nD,1,1,1,1,1,1,1,20230401,20230430\n",
}
WALK = "S2,S4,2,300\n"
DAY = date(2023, 4, 12)


def minute(h: int, m: int) -> int:
    return int(datetime(2023, 4, 12, h, m, tzinfo=UTC).timestamp()) // 60


def timetable(tmp_path: Path, transfers: str) -> Timetable:
    for name, text in {**FILES, "transfers.txt": transfers}.items():
        (tmp_path / name).write_text(text)
    return expand(build_calendar(read_feed(tmp_path)), DAY)


def arrivals(tt: Timetable) -> set[int | None]:
    """S1 -> S3 from 07:00 by every earliest-arrival search there is."""
    ix = {s.stop_id: i for i, s in enumerate(tt.network.stops)}
    o, d, t = ix["S1"], ix["S3"], minute(7, 0)
    scan = trip_scan_earliest_arrival(tt, {o: t}, {d: 0}, 0, None,
                                      target_bounds(tt, {d: 0}))
    # The same trips as plain connections for the networkx reference and build_timetable.
    net = tt.network
    conns = tuple(Connection(trip, j, pat.stops[j], pat.stops[j + 1], pat.dep[j][k],
                             pat.arr[j + 1][k], pat.pickup[j], pat.dropoff[j + 1])
                  for pat in tt.patterns for k, trip in enumerate(pat.trips)
                  for j in range(len(pat.stops) - 1))
    plain = Network(net.stops, net.carriers, net.trips, conns, net.footpaths)
    ref = reference_earliest_arrival(build_reference(plain), o, d, t)
    return {earliest_arrival(tt, o, d, t), earliest_arrival(build_timetable(plain), o, d, t),
            scan, ref}


def best_plan(tt: Timetable) -> tuple[int, list[tuple[str, str]]]:
    stops = {s.stop_id: s for s in tt.network.stops}
    query = TripQuery(Place(stops["S1"].lat, stops["S1"].lon),
                      Place(stops["S3"].lat, stops["S3"].lon), minute(7, 0),
                      min_transfer_minutes=0, walk_radius_m=50)
    result = plan_trips(tt, query)
    fastest = min(result.itineraries, key=lambda i: i.arrive)
    return fastest.arrive, [(leg.trip_id or leg.mode.value, leg.from_stop) for leg in fastest.legs
                            if leg.mode != Mode.WALK or leg.from_stop != leg.to_stop]


def test_without_the_row_the_quick_change_at_s2_wins(tmp_path: Path) -> None:
    tt = timetable(tmp_path, "from_stop_id,to_stop_id,transfer_type,min_transfer_time\n" + WALK)
    assert arrivals(tt) == {minute(11, 30)}
    assert best_plan(tt)[0] == minute(11, 30)


def test_no_change_at_s2_but_a_walk_to_s4_is_fine(tmp_path: Path) -> None:
    rows = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS2,S2,3,\n" + WALK
    tt = timetable(tmp_path, rows)
    assert [s.no_transfer for s in tt.network.stops] == [False, True, False, False]
    assert arrivals(tt) == {minute(12, 0)}
    arrive, legs = best_plan(tt)
    assert arrive == minute(12, 0)
    assert ("T2", "S2") not in legs and any(trip == "T3" for trip, _ in legs)


def test_staying_seated_through_a_no_transfer_stop(tmp_path: Path) -> None:
    rows = "from_stop_id,to_stop_id,transfer_type,min_transfer_time\nS2,S2,3,\n"
    tt = timetable(tmp_path, rows)
    assert arrivals(tt) == {minute(14, 0)}
    arrive, legs = best_plan(tt)
    assert arrive == minute(14, 0) and [trip for trip, _ in legs if trip.startswith("T")] == ["T1"]


@pytest.mark.parametrize("scope", ["from_route_id", "to_trip_id"])
def test_a_row_scoped_to_routes_or_trips_is_not_applied_stop_wide(tmp_path: Path,
                                                                  scope: str) -> None:
    value = "R" if scope.endswith("route_id") else "T2"
    rows = (f"from_stop_id,to_stop_id,transfer_type,min_transfer_time,{scope}\n"
            f"S2,S2,3,,{value}\n")
    tt = timetable(tmp_path, rows)
    assert not any(s.no_transfer for s in tt.network.stops)
    assert arrivals(tt) == {minute(11, 30)}
