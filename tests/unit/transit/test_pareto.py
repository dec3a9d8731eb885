"""Multi-criteria search corner cases found by the property tests."""

from __future__ import annotations

from dataclasses import replace

from solvers.transit import (
    Carrier,
    Connection,
    Mode,
    Network,
    Place,
    StationType,
    Stop,
    Trip,
    TripQuery,
    build_timetable,
    plan_trips,
)

T0 = 28_000_000


def test_driven_to_the_destination_stop_does_not_hide_a_ride_there() -> None:
    """The origin is 111 km from stops 0 and 2, so a volunteer driver takes the traveller to
    either. Stop 0 is at the destination, but only a ride may end a trip: the label driven
    straight to stop 0 (which could still ride 0 -> 2 -> 0 later) must not dominate the ride
    2 -> 0 that arrives there a little later."""
    stops = tuple(Stop(f"S{i}", f"Stop {i}", 35.0 + y, -90.0 + x, "America/Chicago",
                       station_type=StationType.INDOOR)
                  for i, (x, y) in enumerate([(0, 0), (1, 1), (0, 2)]))
    conns = (Connection(0, 0, 0, 2, T0, T0 + 159, True, False),
             Connection(0, 1, 2, 0, T0 + 189, T0 + 199, True, True),
             Connection(1, 0, 0, 2, T0 + 600, T0 + 700), Connection(2, 0, 2, 0, T0 + 800, T0 + 810))
    rail = Carrier("r", "Rail", Mode.RAIL, fare_base_cents=500, fare_cents_per_100km=700)
    tt = build_timetable(Network(stops, (rail,), tuple(Trip(f"T{i}", 0) for i in range(3)), conns))
    query = TripQuery(Place(36.0, -90.0, "from"), Place(35.0, -90.0, "to"), T0,
                      has_photo_id=False, max_transfers=1,
                      max_overnight_layovers=0, min_transfer_minutes=0)
    (first, *_) = plan_trips(tt, query).itineraries
    assert [leg.mode for leg in first.legs] == [Mode.DRIVER, Mode.RAIL]
    assert first.arrive == T0 + 199


def test_a_flight_the_party_may_not_take_does_not_hide_a_slow_train() -> None:
    """The search window follows the fastest trip by any carrier: a two-hour flight ended it a
    day later, so without photo ID the three-day train was never searched and the answer was
    "no trip" (Houston -> New York on Amtrak plus the synthetic flights)."""
    stops = tuple(Stop(f"S{i}", f"Stop {i}", 35.0, -90.0 + 5 * i, "America/Chicago",
                       station_type=StationType.INDOOR) for i in range(2))
    rail = Carrier("r", "Rail", Mode.RAIL, fare_base_cents=500, fare_cents_per_100km=700)
    air = Carrier("a", "Air", Mode.AIR, needs_photo_id=True, fare_base_cents=4000)
    trips = (Trip("FLY", 1), Trip("TRAIN", 0))
    conns = (Connection(0, 0, 0, 1, T0 + 60, T0 + 180),
             Connection(1, 0, 0, 1, T0 + 120, T0 + 120 + 3 * 1440))
    tt = build_timetable(Network(stops, (rail, air), trips, conns))
    query = TripQuery(Place(35.0, -90.0), Place(35.0, -85.0), T0, min_transfer_minutes=0)
    with_id = plan_trips(tt, query).itineraries
    assert min(i.arrive for i in with_id) == T0 + 180
    without = plan_trips(tt, replace(query, has_photo_id=False))
    assert [leg.trip_id for i in without.itineraries for leg in i.legs if leg.trip_id] == ["TRAIN"]
    assert without.itineraries[0].arrive == T0 + 120 + 3 * 1440
