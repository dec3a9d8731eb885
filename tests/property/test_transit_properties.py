"""Hypothesis properties of the transit engine on random small networks.

Earliest arrival equals a networkx Dijkstra over a time-expanded graph of the same data; every
itinerary from `plan_trips` is time-consistent, respects every constraint of its query, and is
not dominated by another returned itinerary.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import replace
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.transit import (
    Avoid,
    Carrier,
    Connection,
    Footpath,
    Mode,
    Network,
    Place,
    StationType,
    Stop,
    Trip,
    TripQuery,
    UnscheduledService,
    build_timetable,
    earliest_arrival,
    plan_trips,
)
from solvers.transit.bound import INF
from solvers.transit.earliest_arrival import (
    earliest_arrival_multi,
    target_bounds,
    trip_scan_earliest_arrival,
)
from solvers.transit.index import local_minute
from solvers.transit.plan import _solve
from solvers.transit.raptor import NONE
from solvers.transit.reference import build_reference, reference_earliest_arrival
from solvers.transit.rules import NIGHT_END, night_free_minutes, spans_night

T0 = 28_000_000  # 2023-03-28 UTC, in epoch minutes
STATES = ("AA", "BB", "CC")
CARRIERS = (
    Carrier("r", "Rail", Mode.RAIL, fare_base_cents=500, fare_cents_per_100km=700),
    Carrier("b", "Bus", Mode.BUS, fare_base_cents=300, fare_cents_per_100km=400,
            min_age_alone=15, adult_alone_age=18, alone_max_minutes=300),
    Carrier("a", "Air", Mode.AIR, needs_photo_id=True, fare_base_cents=4000,
            fare_cents_per_100km=900, child_max_age=-1, min_age_alone=15, adult_alone_age=15),
)
NO_CAR = UnscheduledService(Mode.TAXI, "none", max_distance_m=0)
# TRANSIT_EXAMPLES raises the example count for a deeper run than the default quick one.
SETTINGS = settings(max_examples=int(os.environ.get("TRANSIT_EXAMPLES", "40")), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def networks(draw: st.DrawFn) -> Network:
    n = draw(st.integers(3, 7))
    # Stops on a one-degree grid: no two stops share a walk or taxi radius.
    cells = draw(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=n,
                          max_size=n, unique=True))
    stops = tuple(
        Stop(f"S{i}", f"Stop {i}", 35.0 + y, -90.0 + x, "America/Chicago",
             city=f"City{i}", state=draw(st.sampled_from(STATES)),
             station_type=draw(st.sampled_from(list(StationType))),
             min_transfer_minutes=draw(st.integers(0, 20)),
             no_transfer=draw(st.integers(0, 3)) == 0)
        for i, (x, y) in enumerate(cells)
    )
    trips, conns = [], []
    for t in range(draw(st.integers(1, 10))):
        carrier = draw(st.integers(0, 2))
        path = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=5))
        path = [s for i, s in enumerate(path) if i == 0 or s != path[i - 1]]
        if len(path) < 2:
            continue
        trips.append(Trip(f"T{t}", carrier, f"Route {t}"))
        now = T0 + draw(st.integers(0, 2880))
        for seq, (a, b) in enumerate(itertools.pairwise(path)):
            dep = now + draw(st.integers(0, 30))
            now = dep + draw(st.integers(10, 600))
            conns.append(Connection(len(trips) - 1, seq, a, b, dep, now,
                                    draw(st.booleans()) or draw(st.booleans()),
                                    draw(st.booleans()) or draw(st.booleans())))
    foot = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1),
                                   st.integers(1, 30)), max_size=3))
    paths = tuple(Footpath(a, b, m) for a, b, m in foot if a != b)
    return Network(stops, CARRIERS, tuple(trips), tuple(conns), paths)


@given(networks(), st.data())
@SETTINGS
def test_earliest_arrival_matches_networkx(net: Network, data: st.DataObject) -> None:
    n = len(net.stops)
    mtt = data.draw(st.integers(0, 30))
    tt = build_timetable(net)
    ref = build_reference(net, mtt)
    for _ in range(4):
        o, d = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
        start = T0 + data.draw(st.integers(0, 2000))
        expected = reference_earliest_arrival(ref, o, d, start)
        assert earliest_arrival(tt, o, d, start, min_transfer_minutes=mtt) == expected


@given(networks(), st.data())
@SETTINGS
def test_round_based_and_trip_scanning_searches_agree(net: Network, data: st.DataObject) -> None:
    """The numpy rounds and the trip-scanning A* give the same answer with several sources,
    targets with door-leg minutes, and stops that may not be touched (as in the Pareto window)."""
    n = len(net.stops)
    tt = build_timetable(net)
    assert tt.raptor is not None
    stop = st.integers(0, n - 1)
    sources = data.draw(st.dictionaries(stop, st.integers(T0, T0 + 2000), min_size=1,
                                        max_size=2))
    targets = data.draw(st.dictionaries(stop, st.integers(0, 60), min_size=1, max_size=2))
    usable = data.draw(st.none() | st.lists(st.booleans(), min_size=n, max_size=n))
    mtt = data.draw(st.integers(0, 30))
    bound = target_bounds(tt, targets, usable)
    fast = earliest_arrival_multi(tt, sources, targets, mtt, usable, bound)
    assert fast == trip_scan_earliest_arrival(tt, sources, targets, mtt, usable, bound)


@given(networks(), st.data())
@SETTINGS
def test_static_bound_never_exceeds_the_earliest_arrival(net: Network, data: st.DataObject) -> None:
    n = len(net.stops)
    tt = build_timetable(net)
    o, d = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    start = T0 + data.draw(st.integers(0, 2000))
    arrival = earliest_arrival(tt, o, d, start, min_transfer_minutes=data.draw(st.integers(0, 30)))
    bound = target_bounds(tt, {d: 0})[o]
    if arrival is not None:
        assert arrival - start >= bound
    if bound == INF:
        assert arrival is None


@given(networks(), st.data())
@SETTINGS
def test_unconstrained_plan_is_as_fast_as_earliest_arrival(
    net: Network, data: st.DataObject
) -> None:
    n = len(net.stops)
    tt = build_timetable(net)
    o, d = data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, n - 1))
    start = T0 + data.draw(st.integers(0, 2000))
    arrival = earliest_arrival(tt, o, d, start, min_transfer_minutes=5)
    a, b = net.stops[o], net.stops[d]
    query = TripQuery(Place(a.lat, a.lon), Place(b.lat, b.lon), start, max_transfers=12,
                      max_overnight_layovers=12, allow_outdoor_overnight=True,
                      min_transfer_minutes=5, taxi=NO_CAR, driver=NO_CAR)
    result = plan_trips(tt, query)
    best = min((i.arrive for i in result.itineraries), default=None)
    if o != d:
        assert best == arrival
    if best is None:
        assert result.reasons


@st.composite
def queries(draw: st.DrawFn, net: Network) -> TripQuery:
    n = len(net.stops)
    a, b = net.stops[draw(st.integers(0, n - 1))], net.stops[draw(st.integers(0, n - 1))]
    ages = tuple(draw(st.lists(st.integers(0, 70), min_size=1, max_size=3)))
    avoid_states = tuple(draw(st.lists(st.sampled_from(STATES), max_size=1)))
    return TripQuery(
        Place(a.lat, a.lon, "from"), Place(b.lat, b.lon, "to"), T0 + draw(st.integers(0, 2000)),
        traveller_ages=ages, has_photo_id=draw(st.booleans()),
        escort_available=draw(st.booleans()),
        budget_cents=draw(st.one_of(st.none(), st.integers(0, 60_000))),
        avoid=Avoid(states=avoid_states), max_transfers=draw(st.integers(0, 3)),
        max_overnight_layovers=draw(st.integers(0, 2)),
        min_transfer_minutes=draw(st.integers(0, 45)),
        allow_outdoor_overnight=draw(st.booleans()),
    )


@given(networks(), st.data())
@SETTINGS
def test_itineraries_are_consistent_safe_and_pareto(net: Network, data: st.DataObject) -> None:
    tt = build_timetable(net)
    query = data.draw(queries(net))
    result = plan_trips(tt, query)
    if not result.itineraries:
        assert result.reasons
    by_id = {s.stop_id: s for s in net.stops}
    trip_stops = _trip_stop_lists(net)
    adult = any(age >= 18 for age in query.traveller_ages)
    for it in result.itineraries:
        assert it.depart >= query.depart_after and it.arrive == it.legs[-1].arrive
        assert it.cost_cents == sum(leg.fare_cents for leg in it.legs)
        if query.budget_cents is not None:
            assert it.cost_cents <= query.budget_cents
        rides = [leg for leg in it.legs if leg.mode in (Mode.RAIL, Mode.BUS, Mode.AIR)]
        assert it.transfers == len(rides) - 1 <= query.max_transfers
        assert it.overnight_layovers == sum(leg.overnight_layover for leg in it.legs)
        assert it.overnight_layovers <= query.max_overnight_layovers
        prev = None
        for leg in it.legs:
            assert leg.arrive >= leg.depart
            if prev is not None:
                assert leg.depart >= prev.arrive
                assert leg.layover_minutes == leg.depart - prev.arrive
                if leg.overnight_layover and not query.allow_outdoor_overnight:
                    assert leg.indoor_waiting is True
                if leg in rides and prev in rides:
                    # transfers.txt type 3: no change of trip at this stop.
                    assert not by_id[leg.from_stop].no_transfer
                    mtt = max(query.min_transfer_minutes, by_id[leg.from_stop].min_transfer_minutes)
                    assert leg.depart - prev.arrive >= mtt
            prev = leg
        for leg in rides:
            carrier = next(c for c in CARRIERS if c.name == leg.carrier)
            assert query.has_photo_id or not carrier.needs_photo_id
            if not adult and not it.escorted:
                assert min(query.traveller_ages) >= carrier.min_age_alone
                if min(query.traveller_ages) < carrier.adult_alone_age:
                    assert len(rides) == 1
            touched = trip_stops[(leg.trip_id, leg.depart, leg.from_stop)]
            assert leg.to_stop in touched
            passed = touched[: touched.index(leg.to_stop) + 1]
            assert not any(by_id[s].state in query.avoid.states for s in passed)
        assert not it.escorted or (query.escort_available and not adult)
    triples = [(i.arrive, i.cost_cents, i.transfers) for i in result.itineraries]
    for x in triples:
        for y in triples:
            assert x == y or not all(p <= q for p, q in zip(y, x, strict=True))
    assert len(set(triples)) == len(triples)


@given(networks(), st.data())
@SETTINGS
def test_fare_floor_and_latest_ready_pruning_change_no_answer(
    net: Network, data: st.DataObject
) -> None:
    """The distance-based lower bound on fares still to pay and the latest ready times per
    rides left only drop labels that could not lead to a returned itinerary: the answers are
    those found without either."""
    tt = build_timetable(net)
    query = data.draw(queries(net))
    pruned = plan_trips(tt, query)
    no_floor = lambda lat, *_: [0] * len(lat)  # noqa: E731
    with patch("solvers.transit.pareto.fare_floor_cents", no_floor):
        assert plan_trips(tt, query) == pruned
    no_latest = lambda ra, deadline, *args: [[NONE] * len(deadline)] * (args[-1] + 1)  # noqa: E731
    with patch("solvers.transit.pareto.latest_ready", no_latest):
        assert plan_trips(tt, query) == pruned


@given(networks(), st.data())
@SETTINGS
def test_numpy_shortcuts_change_no_answer(net: Network, data: st.DataObject) -> None:
    """A timetable without its numpy arrays (the fallback paths: trip-scanning window, exact
    door-leg distances for every stop, no latest-ready bound) plans the same trips."""
    tt = build_timetable(net)
    query = data.draw(queries(net))
    plain = replace(tt, raptor=None, coords=None, longest_footpath_m=None)
    assert plan_trips(plain, query) == plan_trips(tt, query)


@given(networks(), st.data())
@SETTINGS
def test_existence_search_agrees_with_the_full_search(net: Network, data: st.DataObject) -> None:
    """The explanations ask only whether a relaxed query has any itinerary, best first and with
    fares counted as zero when there is no budget; the answer is the full search's."""
    tt = build_timetable(net)
    query = data.draw(queries(net))
    full, _ = _solve(tt, query)
    some, _ = _solve(tt, query, any_one=True)
    assert bool(some) == bool(full)


def _trip_stop_lists(net: Network) -> dict[tuple[str, int, str], list[str]]:
    out: dict[tuple[str, int, str], list[str]] = {}
    by_trip: dict[int, list[Connection]] = {}
    for c in net.connections:
        by_trip.setdefault(c.trip, []).append(c)
    for trip, rows in by_trip.items():
        rows.sort(key=lambda c: c.seq)
        for i, c in enumerate(rows):
            rest = [net.stops[r.to_stop].stop_id for r in rows[i:]]
            out[(net.trips[trip].trip_id, c.dep, net.stops[c.from_stop].stop_id)] = rest
    return out


@given(st.sampled_from(["America/Chicago", "America/New_York", "Asia/Kolkata", "UTC"]),
       st.integers(T0 - 2 * 1440, T0 + 400 * 1440), st.integers(-60, 3 * 1440))
def test_night_wait_in_constant_time_matches_a_minute_by_minute_walk(
    tz: str, start: int, wait: int
) -> None:
    """A wait spans a night when some minute of it falls between 00:00 and 05:00 local time
    (counted from the local time at its start, as the search does); `spans_night` answers it
    from the minutes left before the next night instead of walking the minutes."""
    local = local_minute(tz, start)
    walked = any((local + i) % 1440 < NIGHT_END for i in range(wait))
    assert spans_night(tz, start, start + wait) == walked
    assert (wait > night_free_minutes(tz, start)) == (walked if wait > 0 else False)
