"""The stored feeds' timetable (issue 16): any covered day, a 422 outside them, a new edition
of a feed replacing the old one, and the disk cache written at import and loaded at start."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from core.principal import SYSTEM
from logistics.travel import feeds as transport_service
from logistics.travel import search as transport_search
from logistics.travel.timetables import TimetableStore
from tests.api.test_travel_api import STOP_INFO, load_small, query, small_feed
from tests.support import AccountFactory

# Edition 2 of the small feed: new service ids and dates (2024 only, one day removed), Omaha
# renamed, a stop added (Lincoln), no shapes nor feed_info.
EDITION_2 = {
    "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n"
                 "CHI,Chicago Union Station,41.8787,-87.6394\n"
                 "OMA,Omaha Amtrak,41.2587,-95.9378\n"
                 "LNK,Lincoln,40.8150,-96.7130\n"
                 "DEN,Denver Union Station,39.7530,-105.0000\n",
    "routes.txt": "route_id,agency_id,route_long_name,route_type\nZEPHYR,R,Zephyr,2\n",
    "trips.txt": "route_id,service_id,trip_id\nZEPHYR,Y24,T5\n",
    "stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
                      "T5,CHI,1,14:00:00,14:00:00\nT5,OMA,2,23:00:00,23:05:00\n"
                      "T5,LNK,3,24:00:00,24:00:00\nT5,DEN,4,31:15:00,31:15:00\n",
    "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                    "start_date,end_date\nY24,1,1,1,1,1,1,1,20240101,20241231\n",
    "calendar_dates.txt": "service_id,date,exception_type\nY24,20240410,2\n",
}


def test_a_departure_outside_every_feed_is_a_422_naming_the_covered_range(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    load_small(services, tmp_path / "feed")
    advocate = make.account(Role.ADVOCATE)
    late = client.post("/v1/itineraries/search",
                       json=query(depart_after="2025-06-01T08:00:00-05:00"),
                       headers=advocate.headers)
    assert late.status_code == 422, late.text
    error = late.json()["errors"][0]
    assert error["field"] == "depart_after"
    assert "2023-01-01..2023-12-31" in late.text


def test_an_evening_departure_on_the_last_covered_day_is_searched(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    # 20:00 in Chicago on the feed's last day is 02:00 UTC the day after it: the service day
    # still runs, so the 23:30 train is found rather than a 422 for the UTC date.
    late = {"stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
                              "T1,CHI,1,23:30:00,23:30:00\nT1,OMA,2,30:00:00,30:05:00\n"
                              "T1,DEN,3,36:00:00,36:00:00\n",
            "trips.txt": "route_id,service_id,trip_id\nZEPHYR,D,T1\n"}
    with services.db.write_session() as session:
        transport_service.import_feed(
            session, actor=SYSTEM, name="late", source="test", kind="gtfs",
            files=transport_service.read_files(small_feed(tmp_path / "late", **late)),
            stop_info=STOP_INFO)
    advocate = make.account(Role.ADVOCATE)
    found = client.post("/v1/itineraries/search",
                        json=query(has_id=False, depart_after="2023-12-31T20:00:00-06:00"),
                        headers=advocate.headers)
    assert found.status_code == 200, found.text
    trains = [leg["depart"] for it in found.json()["itineraries"] for leg in it["legs"]
              if leg["mode"] == "rail"]
    assert trains and trains[0].startswith("2023-12-31T23:30"), found.text
    # Two UTC days past the end is outside every feed.
    gone = client.post("/v1/itineraries/search",
                       json=query(has_id=False, depart_after="2024-01-02T08:00:00-06:00"),
                       headers=advocate.headers)
    assert gone.status_code == 422, gone.text


def test_a_long_trip_is_found_days_ahead(client: TestClient, services: Services,
                                         make: AccountFactory, tmp_path: Path) -> None:
    # A five-day trip (times up to 110:00:00) is beyond the old window of d-1 .. d+2.
    slow = {"stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
                              "T1,CHI,1,14:00:00,14:00:00\nT1,OMA,2,60:00:00,60:00:00\n"
                              "T1,DEN,3,110:00:00,110:00:00\n",
            "trips.txt": "route_id,service_id,trip_id\nZEPHYR,D,T1\n"}
    with services.db.write_session() as session:
        transport_service.import_feed(
            session, actor=SYSTEM, name="slow", source="test", kind="gtfs",
            files=transport_service.read_files(small_feed(tmp_path / "slow", **slow)),
            stop_info=STOP_INFO)
    advocate = make.account(Role.ADVOCATE)
    found = client.post("/v1/itineraries/search",
                        json=query(has_id=False, depart_after="2023-04-12T08:00:00-05:00"),
                        headers=advocate.headers)
    assert found.status_code == 200, found.text
    arrivals = [it["arrive"] for it in found.json()["itineraries"]]
    assert arrivals and arrivals[0].startswith("2023-04-16T"), found.text  # 110 h later


def test_a_new_edition_replaces_the_old_and_is_searched(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    load_small(services, tmp_path / "v1", name="rail")
    advocate = make.account(Role.ADVOCATE)
    old = client.post("/v1/itineraries/search", json=query(has_id=False),
                      headers=advocate.headers)
    assert old.status_code == 200 and old.json()["itineraries"]
    with services.db.write_session() as session:
        transport_service.import_feed(
            session, actor=SYSTEM, name="rail", source="test", kind="gtfs",
            files=transport_service.read_files(small_feed(tmp_path / "v2", **EDITION_2)),
            stop_info=STOP_INFO)
    new = client.post("/v1/itineraries/search",
                      json=query(has_id=False, depart_after="2024-04-12T08:00:00-05:00"),
                      headers=advocate.headers)
    assert new.status_code == 200, new.text
    legs = [leg for it in new.json()["itineraries"] for leg in it["legs"]]
    assert any(leg.get("route") == "Zephyr" for leg in legs)
    assert any(leg["to_stop_id"] == "DEN" for leg in legs)
    # The removed day (Wednesday 10 April) has no train: the next one is on the 11th.
    removed = client.post("/v1/itineraries/search",
                          json=query(has_id=False, depart_after="2024-04-10T08:00:00-05:00"),
                          headers=advocate.headers).json()
    rail = [it for it in removed["itineraries"]
            if any(leg["mode"] == "rail" for leg in it["legs"])]
    assert rail and all(it["depart"] >= "2024-04-11" for it in rail)
    # The old edition is gone, dates and all.
    gone = client.post("/v1/itineraries/search", json=query(has_id=False),
                       headers=advocate.headers)
    assert gone.status_code == 422 and "2024-01-01..2024-12-31" in gone.text


def test_an_unknown_trip_in_frequencies_refuses_the_feed(services: Services,
                                                         tmp_path: Path) -> None:
    bad = small_feed(tmp_path / "bad", **{
        "frequencies.txt": "trip_id,start_time,end_time,headway_secs\n"
                           "NOPE,06:00:00,09:00:00,600\n"})
    with services.db.write_session() as session, pytest.raises(Exception) as info:
        transport_service.import_gtfs(session, actor=SYSTEM, path=bad)
    assert "frequencies.txt" in str(info.value) and "NOPE" in str(info.value)


def test_the_disk_cache_is_written_once_and_loaded_by_a_new_store(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    load_small(services, tmp_path / "feed")
    with services.db.read_session() as session:
        services.timetables.persist(session)
    folder = services.timetables.cache_dir
    assert folder is not None
    files = list(folder.glob("calendar-*.pickle"))
    assert len(files) == 1

    def no_build(*_args: object) -> None:
        raise AssertionError("built, not loaded")

    monkeypatch.setattr(transport_search, "build_calendar_from_db", no_build)
    fresh = TimetableStore(folder)
    with services.db.read_session() as session, caplog.at_level(logging.INFO):
        cal = fresh.calendar(session)
    assert cal is not None and cal.covers() is not None
    assert any(r.getMessage() == "timetable calendar loaded" for r in caplog.records)
    # A damaged file is rebuilt, never trusted.
    monkeypatch.undo()
    files[0].write_bytes(b"not a pickle")
    again = TimetableStore(folder)
    with services.db.read_session() as session:
        assert again.calendar(session) is not None
    assert files[0].read_bytes() != b"not a pickle"
