"""Which GTFS-Realtime disruptions break an itinerary (pure: no database).

A late bus breaks the two-bus itinerary when its delay outlasts the hour's change at Kansas
City (walks in between take their planned time); a shorter delay is absorbed. A late last
trip breaks it only past the hold. Feeds are read from their bytes, a cancellation on another
service date touches nothing, and the part of a feed that touched a plan round-trips through
its stored form.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from google.transit import gtfs_realtime_pb2

from core.errors import InvalidInput
from logistics.return_plans.realtime import (
    leg_reasons,
    merged,
    read_disruptions,
    rides_delayed,
    touching,
)
from logistics.travel.feed_models import ItineraryPublic


def _leg(trip: str, mode: str, a: str, b: str, depart: str, arrive: str) -> dict[str, object]:
    return {"mode": mode, "carrier": "Bus Co" if trip else "", "route": "BUS" if trip else "",
            "trip_id": trip, "from": a, "to": b, "from_stop_id": a, "to_stop_id": b,
            "depart": depart, "arrive": arrive, "fare_cents": 0, "distance_m": 0,
            "layover_minutes": 0, "indoor_waiting": None, "overnight_layover": False}


TWO_BUSES = ItineraryPublic.model_validate({
    "depart": "2026-12-04T08:30:00-06:00", "arrive": "2026-12-05T09:10:00-06:00",
    "cost_cents": 5000, "transfers": 1, "overnight_layovers": 1, "escorted": False,
    "legs": [_leg("L1", "bus", "CHI", "KCY", "2026-12-04T08:30:00-06:00",
                  "2026-12-04T16:00:00-06:00"),
             _leg("", "walk", "KCY", "KCY2", "2026-12-04T16:00:00-06:00",
                  "2026-12-04T16:20:00-06:00"),
             _leg("L2", "bus", "KCY2", "DEN", "2026-12-04T17:00:00-06:00",
                  "2026-12-05T09:00:00-06:00"),
             _leg("", "walk", "DEN", "HOME", "2026-12-05T09:00:00-06:00",
                  "2026-12-05T09:10:00-06:00")]})
HOLD = datetime.fromisoformat("2026-12-05T10:00:00-06:00")


def _feed(*updates: tuple[str, str, int | None]) -> bytes:
    """(trip, service date, delay seconds or None for a cancellation) each."""
    feed = gtfs_realtime_pb2.FeedMessage()
    feed.header.gtfs_realtime_version = "2.0"
    for n, (trip, day, delay) in enumerate(updates):
        entity = feed.entity.add()
        entity.id = f"e{n}"
        entity.trip_update.trip.trip_id = trip
        entity.trip_update.trip.start_date = day
        if delay is None:
            entity.trip_update.trip.schedule_relationship = (
                gtfs_realtime_pb2.TripDescriptor.CANCELED)
        else:
            stop = entity.trip_update.stop_time_update.add()
            stop.stop_id = "KCY"
            stop.arrival.delay = delay
    return feed.SerializeToString()


def test_a_late_bus_breaks_the_connection_only_past_the_change() -> None:
    absorbed = read_disruptions(_feed(("L1", "20261204", 30 * 60)))
    assert rides_delayed(TWO_BUSES, absorbed)
    assert leg_reasons(TWO_BUSES, absorbed, HOLD) == []
    missed = read_disruptions(_feed(("L1", "20261204", 45 * 60)))
    [reason] = leg_reasons(TWO_BUSES, missed, HOLD)
    assert reason == ("trip L1 (Bus Co, BUS) is 45 min late: the connection to trip L2 at "
                      "KCY2 is missed")


def test_a_late_last_bus_breaks_the_plan_only_past_the_hold() -> None:
    assert leg_reasons(TWO_BUSES, read_disruptions(_feed(("L2", "20261204", 40 * 60))),
                       HOLD) == []
    [reason] = leg_reasons(TWO_BUSES, read_disruptions(_feed(("L2", "20261204", 60 * 60))),
                           HOLD)
    assert reason.endswith("the arrival comes after the bed hold lapses")
    # Without a hold to lapse, a late last trip breaks nothing.
    assert leg_reasons(TWO_BUSES, read_disruptions(_feed(("L2", "20261204", 60 * 60)))) == []


def test_cancellations_by_date_and_the_stored_part_round_trips() -> None:
    other_day = read_disruptions(_feed(("L2", "20261210", None)))
    assert leg_reasons(TWO_BUSES, other_day, HOLD) == []
    both = read_disruptions(_feed(("L2", "20261204", None), ("L1", "20261204", 50 * 60),
                                  ("X9", "20261204", None)))
    reasons = leg_reasons(TWO_BUSES, both, HOLD)
    assert len(reasons) == 2 and "is cancelled" in reasons[0]
    part = touching(TWO_BUSES, both)
    assert part["cancelled"] == {"L2": ["20261204"]}  # X9 is not on the way: not kept
    again = merged([part])
    assert leg_reasons(TWO_BUSES, again, HOLD) == reasons
    with pytest.raises(InvalidInput):
        read_disruptions(b"\xff\xff not a feed")
