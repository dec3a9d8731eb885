"""The real 2023 Amtrak feed: the California Zephyr case and a city with no stop nearby."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from logistics.travel.gtfs import build_network, read_feed, read_stop_info
from solvers.transit import (
    Avoid,
    Mode,
    Place,
    StationType,
    Timetable,
    TripQuery,
    build_timetable,
    earliest_arrival,
    local_iso,
    plan_trips,
)
from tests.support import needs_shared_data

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
FEED = DATA / "amtrak_gtfs_2023"
pytestmark = needs_shared_data(FEED)

CHICAGO = Place(41.8789, -87.6397, "Chicago")
DENVER = Place(39.7392, -104.9903, "Denver")
NASHVILLE = Place(36.1627, -86.7816, "Nashville")


@cache
def timetable() -> Timetable:
    info = read_stop_info(DATA / "amtrak_stations_metadata" / "amtrak_stations.csv",
                          FEED / "stops_state_lookup.csv")
    net = build_network(read_feed(FEED), date(2023, 4, 12), date(2023, 4, 15), stop_info=info)
    return build_timetable(net)


def eight_eastern() -> int:
    return int(datetime(2023, 4, 12, 8, tzinfo=ZoneInfo("America/New_York")).timestamp()) // 60


def test_chicago_to_denver_is_the_california_zephyr() -> None:
    tt = timetable()
    ix = {s.stop_id: i for i, s in enumerate(tt.network.stops)}
    arrival = earliest_arrival(tt, ix["CHI"], ix["DEN"], eight_eastern())
    assert arrival is not None
    assert local_iso("America/New_York", arrival) == "2023-04-13T09:15:00-04:00"
    assert local_iso("America/Denver", arrival) == "2023-04-13T07:15:00-06:00"
    result = plan_trips(tt, TripQuery(CHICAGO, DENVER, eight_eastern()))
    fastest = min(result.itineraries, key=lambda i: i.arrive)
    rides = [leg for leg in fastest.legs if leg.mode == Mode.RAIL]
    assert [leg.route for leg in rides] == ["California Zephyr 5"]
    assert rides[0].arrive_local == "2023-04-13T07:15:00-06:00"
    assert rides[0].depart_local == "2023-04-12T14:00:00-05:00"
    assert rides[0].fare_cents > 0 and fastest.transfers == 0


def test_station_types_come_from_metadata() -> None:
    stops = {s.stop_id: s for s in timetable().network.stops}
    assert stops["CHI"].station_type == StationType.INDOOR
    assert stops["CHI"].state == "IL" and stops["DEN"].city == "Denver"


def test_nashville_has_no_stop_nearby_and_gets_a_first_mile_leg() -> None:
    result = plan_trips(timetable(), TripQuery(NASHVILLE, CHICAGO, eight_eastern()))
    assert any("no stop within 40 km of Nashville" in r for r in result.reasons)
    assert result.itineraries
    assert all(i.legs[0].mode == Mode.DRIVER for i in result.itineraries)


def test_avoiding_omaha_rules_out_the_zephyr_and_says_why() -> None:
    query = TripQuery(CHICAGO, DENVER, eight_eastern(), traveller_ages=(17,), has_photo_id=False,
                      budget_cents=25000, avoid=Avoid(cities=(("Omaha", "NE"),)),
                      min_transfer_minutes=30)
    result = plan_trips(timetable(), query)
    assert result.itineraries == ()
    assert any("place to avoid" in r for r in result.reasons)


def test_small_budget_gives_a_reason() -> None:
    query = TripQuery(CHICAGO, DENVER, eight_eastern(), budget_cents=2000)
    result = plan_trips(timetable(), query)
    assert result.itineraries == ()
    assert any(r.startswith("nothing by bus or rail within the budget") for r in result.reasons)


def test_child_travels_with_escort_whose_fare_counts() -> None:
    alone = plan_trips(timetable(), TripQuery(CHICAGO, DENVER, eight_eastern(),
                                              traveller_ages=(10,)))
    assert alone.itineraries == ()
    assert any("escort is required" in r for r in alone.reasons)
    escorted = plan_trips(timetable(), TripQuery(CHICAGO, DENVER, eight_eastern(),
                                                 traveller_ages=(10,), escort_available=True))
    adult = plan_trips(timetable(), TripQuery(CHICAGO, DENVER, eight_eastern()))
    assert escorted.itineraries and all(i.escorted for i in escorted.itineraries)
    cheapest_adult = min(i.cost_cents for i in adult.itineraries)
    # Escort pays adult fare, the 10-year-old half fare on rail.
    assert min(i.cost_cents for i in escorted.itineraries) > cheapest_adult


GREELEY = Place(40.4337, -104.6977, "Greeley")


def test_no_change_of_trip_at_denver_which_transfers_txt_marks_type_3() -> None:
    """Amtrak's transfers.txt has `DEN,DEN,3`: the Zephyr's Denver arrival cannot connect to
    the Thruway bus to Greeley there, though the times would allow it; riding through Denver
    on the Zephyr is still fine."""
    tt = timetable()
    ix = {s.stop_id: i for i, s in enumerate(tt.network.stops)}
    assert tt.network.stops[ix["DEN"]].no_transfer
    assert not tt.network.stops[ix["CHI"]].no_transfer
    assert earliest_arrival(tt, ix["CHI"], ix["GRE"], eight_eastern()) is None
    through = earliest_arrival(tt, ix["CHI"], ix["GSC"], eight_eastern())
    assert through is not None  # Glenwood Springs, on the Zephyr beyond Denver
    # The bus itself runs and is boardable at Denver by someone who starts there.
    denver_day = int(datetime(2023, 4, 13, 12, tzinfo=ZoneInfo("America/Denver")).timestamp())
    assert earliest_arrival(tt, ix["DEN"], ix["GRE"], denver_day // 60) is not None
    result = plan_trips(tt, TripQuery(CHICAGO, GREELEY, eight_eastern(), max_transfers=3))
    for it in result.itineraries:
        rides = [leg for leg in it.legs if leg.mode in (Mode.RAIL, Mode.BUS)]
        changes = [b.from_stop for a, b in itertools.pairwise(rides)
                   if a.to_stop == b.from_stop]
        assert "DEN" not in changes, it
