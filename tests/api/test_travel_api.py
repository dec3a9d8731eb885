"""Return-home travel through the product: GTFS import (CLI and service), itinerary search over
HTTP on a small feed built in tmp_path, the real Amtrak case, and 422s naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app as cli
from api.deps import Services
from core.models import Role
from core.principal import SYSTEM
from fixtures.national_transit import synthetic_cities, to_gtfs
from fixtures.transit_synth import synthetic_network
from logistics.errors import FeedInvalid
from logistics.travel import feeds as transport_service
from logistics.travel.feed_models import TransportFeed, TransportStop
from logistics.travel.gtfs import StopInfo, build_network
from solvers.transit import StationType
from tests.conftest import SHARED_DATA, TEST_KEY
from tests.support import AccountFactory, needs_shared_data

# (stop_id, name, lat, lon, city, state)
STOPS = (
    ("CHI", "Chicago Union Station", 41.8787, -87.6394, "Chicago", "IL"),
    ("OMA", "Omaha", 41.2587, -95.9378, "Omaha", "NE"),
    ("DEN", "Denver Union Station", 39.7530, -105.0000, "Denver", "CO"),
    ("KCY", "Kansas City", 39.0997, -94.5786, "Kansas City", "MO"),
    ("ORD", "Chicago O'Hare", 41.9742, -87.9073, "Chicago", "IL"),
    ("DIA", "Denver Airport", 39.8561, -104.6737, "Denver", "CO"),
)
STOP_TIMES = (
    ("T1", "CHI", 1, "14:00:00"), ("T1", "OMA", 2, "23:00:00"), ("T1", "DEN", 3, "31:15:00"),
    ("B1", "CHI", 1, "09:00:00"), ("B1", "KCY", 2, "19:00:00"), ("B1", "DEN", 3, "34:00:00"),
    ("F1", "ORD", 1, "10:00:00"), ("F1", "DIA", 2, "11:30:00"),
)


def small_feed(root: Path, **replace: str) -> Path:
    """A daily train through Omaha, a bus through Kansas City and a flight, Chicago-Denver."""
    files = {
        "agency.txt": "agency_id,agency_name,agency_url,agency_timezone\n"
                      "R,Rail Co,https://x.invalid,America/Chicago\n"
                      "B,Bus Co,https://x.invalid,America/Chicago\n"
                      "A,Air Co,https://x.invalid,America/Chicago\n",
        "stops.txt": "stop_id,stop_name,stop_lat,stop_lon\n" + "".join(
            f"{s[0]},{s[1]},{s[2]},{s[3]}\n" for s in STOPS),
        "routes.txt": "route_id,agency_id,route_long_name,route_type\n"
                      "ZEPHYR,R,Zephyr,2\nBUS,B,Plains Bus,3\nFLY,A,Flight,1100\n",
        "trips.txt": "route_id,service_id,trip_id\nZEPHYR,D,T1\nBUS,D,B1\nFLY,D,F1\n",
        "stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n" + "".join(
            f"{t},{s},{q},{h},{h}\n" for t, s, q, h in STOP_TIMES),
        "calendar.txt": "service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
                        "start_date,end_date\nD,1,1,1,1,1,1,1,20230101,20231231\n",
    }
    files.update(replace)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if text:
            (root / name).write_text(text)
    return root


STOP_INFO = {s[0]: StopInfo(s[4], s[5], StationType.INDOOR) for s in STOPS}


def load_small(services: Services, root: Path, name: str = "small", **replace: str) -> None:
    with services.db.write_session() as session:
        transport_service.import_feed(
            session, actor=SYSTEM, name=name, source="test", kind="gtfs",
            files=transport_service.read_files(small_feed(root, **replace)),
            stop_info=STOP_INFO)


def query(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "from": {"lat": 41.8789, "lon": -87.6397}, "to": {"city": "Denver", "state": "CO"},
        "depart_after": "2023-04-12T08:00:00-04:00", "travellers": [{"age": 30}],
        "has_id": True, "escort": False, "budget_cents": 100_000,
        "avoid": {"cities": [], "states": [], "points": []},
        "max_transfers": 3, "min_transfer_minutes": 30,
    }
    body.update(overrides)
    return body


def _touches(itinerary: dict[str, Any], name: str) -> bool:
    return any(name in (leg["from"], leg["to"]) for leg in itinerary["legs"])


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


def test_cli_imports_a_feed_and_a_broken_feed_changes_nothing(
        services: Services, tmp_path: Path, database_url: str) -> None:
    env = {"HOMEWARD_DATABASE_URL": database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    good = small_feed(tmp_path / "good")
    result = CliRunner().invoke(cli, ["transport", "import-gtfs", str(good), "--name", "rail"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert "6 stops, 3 trips" in result.output
    with services.db.read_session() as session:
        before = session.exec(select(TransportFeed)).one()
        stops = session.exec(select(TransportStop)).all()
    # Stops imported without metadata get the nearest GeoNames place as their city.
    assert {s.stop_id: (s.city, s.state) for s in stops}["OMA"] == ("Omaha", "NE")

    broken = small_feed(tmp_path / "broken", **{
        "trips.txt": "route_id,service_id,trip_id\nZEPHYR,D,T1\nNOPE,D,B1\nFLY,D,F1\n"})
    result = CliRunner().invoke(cli, ["transport", "import-gtfs", str(broken), "--name", "rail"],
                                env=env)
    assert result.exit_code == 1
    assert "trips.txt row 3 field route_id: unknown route 'NOPE'" in result.output
    missing = small_feed(tmp_path / "missing", **{"stops.txt": ""})
    result = CliRunner().invoke(cli, ["transport", "import-gtfs", str(missing)], env=env)
    assert result.exit_code == 1 and "stops.txt: required file is missing" in result.output
    with services.db.read_session() as session:
        after = session.exec(select(TransportFeed)).all()
        assert len(after) == 1 and after[0].content_hash == before.content_hash
        assert len(session.exec(select(TransportStop)).all()) == len(stops)


def test_broken_reference_names_file_row_and_field(services: Services, tmp_path: Path) -> None:
    bad = small_feed(tmp_path / "bad", **{
        "stop_times.txt": "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
                          "T1,CHI,1,14:00:00,14:00:00\nT1,XXX,2,23:00:00,23:00:00\n"})
    with services.db.write_session() as session, pytest.raises(FeedInvalid) as info:
        transport_service.import_gtfs(session, actor=SYSTEM, path=bad)
    assert (info.value.file, info.value.row, info.value.field) == ("stop_times.txt", 3, "stop_id")


def test_search_modes_id_and_avoided_places(client: TestClient, services: Services,
                                            make: AccountFactory, tmp_path: Path) -> None:
    load_small(services, tmp_path / "feed")
    advocate = make.account(Role.ADVOCATE)
    found = client.post("/v1/itineraries/search", json=query(), headers=advocate.headers)
    assert found.status_code == 200, found.text
    body = found.json()
    modes = {leg["mode"] for it in body["itineraries"] for leg in it["legs"]}
    assert {"air", "rail"} <= modes
    first = body["itineraries"][0]
    assert set(first) >= {"depart", "arrive", "cost_cents", "transfers", "legs"}
    assert set(first["legs"][0]) >= {"mode", "carrier", "from", "to", "depart", "arrive",
                                     "fare_cents", "layover_minutes", "indoor_waiting"}

    no_id = client.post("/v1/itineraries/search", json=query(has_id=False),
                        headers=advocate.headers).json()
    assert no_id["itineraries"]
    assert all(leg["mode"] != "air" for it in no_id["itineraries"] for leg in it["legs"])
    assert any("no photo ID" in r for r in no_id["reasons"])

    avoid = {"cities": [{"city": "Omaha", "state": "NE"}], "states": [], "points": []}
    around = client.post("/v1/itineraries/search", json=query(has_id=False, avoid=avoid),
                         headers=advocate.headers).json()
    assert around["itineraries"]
    assert not any(_touches(it, "Omaha") for it in around["itineraries"])
    assert all(leg["mode"] != "rail" for it in around["itineraries"] for leg in it["legs"])
    by_state = {"cities": [], "states": ["MO", "NE"], "points": []}
    nothing = client.post("/v1/itineraries/search", json=query(has_id=False, avoid=by_state),
                          headers=advocate.headers).json()
    assert nothing["itineraries"] == []
    assert any("place to avoid" in r for r in nothing["reasons"])
    # A point with a radius: Kansas City's bus stop lies inside it.
    near_kc = {"cities": [], "states": [], "points": [{"lat": 39.1, "lon": -94.58,
                                                       "radius_km": 5}]}
    skirted = client.post("/v1/itineraries/search", json=query(avoid=near_kc),
                          headers=advocate.headers).json()
    assert not any(_touches(it, "Kansas City") for it in skirted["itineraries"])

    coordinator = make.account(Role.SHELTER_COORDINATOR)
    assert client.post("/v1/itineraries/search", json=query(),
                       headers=coordinator.headers).status_code == 403


def test_search_refuses_bad_input_naming_the_field(client: TestClient, services: Services,
                                                   make: AccountFactory, tmp_path: Path) -> None:
    load_small(services, tmp_path / "feed")
    h = make.account(Role.CASE_MANAGER).headers
    post = lambda body: client.post("/v1/itineraries/search", json=body, headers=h)  # noqa: E731
    assert _fields(post(query(to={"city": "Atlantisville", "state": "CO"}))) == ["to"]
    assert _fields(post(query(arrive_by="2023-04-12T07:00:00-04:00"))) == ["arrive_by"]
    assert _fields(post(query(budget_cents=-1))) == ["body.budget_cents"]
    avoid = {"cities": [{"city": "Nowhere Town", "state": "NE"}], "states": [], "points": []}
    assert _fields(post(query(avoid=avoid))) == ["avoid.cities.0"]
    assert _fields(post(query(depart_after="2023-04-12T08:00:00"))) == ["body.depart_after"]
    assert _fields(post(query(**{"from": {"lat": 41.0}}))) == ["body.from"]


def test_no_feed_says_so(client: TestClient, make: AccountFactory) -> None:
    found = client.post("/v1/itineraries/search", json=query(),
                        headers=make.account(Role.ADVOCATE).headers)
    assert found.status_code == 200
    assert found.json()["itineraries"] == [] and "import" in found.json()["reasons"][0]


@needs_shared_data(SHARED_DATA / "amtrak_gtfs_2023")
def test_real_amtrak_chicago_to_denver(client: TestClient, services: Services,
                                       make: AccountFactory) -> None:
    """The one test that imports the real feed (about a second)."""
    with services.db.write_session() as session:
        feed = transport_service.load_amtrak(session, actor=SYSTEM, data_dir=SHARED_DATA)
    assert feed is not None and feed.stops == 815 and feed.trips == 3813
    h = make.account(Role.CASE_MANAGER).headers
    got = client.post("/v1/itineraries/search", json=query(), headers=h).json()
    fastest = got["itineraries"][0]
    rail = [leg for leg in fastest["legs"] if leg["mode"] == "rail"]
    assert len(rail) == 1 and "California Zephyr" in rail[0]["route"]
    assert rail[0]["from"] == "Chicago Union Station"
    assert fastest["arrive"] == "2023-04-13T07:15:00-06:00"  # 09:15 Eastern

    # A 17-year-old without ID avoiding Omaha: the Zephyr stops there, so no rail answer.
    avoid = {"cities": [{"city": "Omaha", "state": "NE"}], "states": [], "points": []}
    teen = client.post("/v1/itineraries/search", json=query(
        travellers=[{"age": 17}], has_id=False, budget_cents=25_000, avoid=avoid),
        headers=h).json()
    assert not any(_touches(it, "Omaha") for it in teen["itineraries"])
    assert not any("Zephyr" in leg["route"] for it in teen["itineraries"] for leg in it["legs"])
    assert teen["itineraries"] == []
    assert "every trip by bus or rail touches a place to avoid" in teen["reasons"]

    nashville = client.post("/v1/itineraries/search", json=query(
        to={"city": "Nashville", "state": "TN"}), headers=h).json()
    assert any("no stop within 40 km of Nashville, TN" in r for r in nashville["reasons"])
    assert nashville["itineraries"]
    assert nashville["itineraries"][0]["legs"][-1]["mode"] == "volunteer_driver"


def test_synthetic_network_round_trips_through_gtfs() -> None:
    day0 = int(datetime(2023, 4, 12, tzinfo=UTC).timestamp()) // 60
    net = synthetic_network(synthetic_cities(40), [day0], seed=7)
    files, info = to_gtfs(net, date(2023, 4, 1), date(2023, 4, 30))
    back = build_network(transport_service.parse(files), date(2023, 4, 12), date(2023, 4, 12),
                         stop_info=info)
    want = sorted((net.stops[c.from_stop].name, net.stops[c.to_stop].name, c.dep, c.arr)
                  for c in net.connections)
    got = sorted((back.stops[c.from_stop].name, back.stops[c.to_stop].name, c.dep, c.arr)
                 for c in back.connections if back.trips[c.trip].service_date == "2023-04-12")
    assert got == want
    assert {s.station_type for s in back.stops} == {s.station_type for s in net.stops}


def test_cli_load_national_then_search(client: TestClient, make: AccountFactory,
                                       database_url: str, tmp_path: Path) -> None:
    env = {"HOMEWARD_DATABASE_URL": database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    result = CliRunner().invoke(cli, ["transport", "load-national", "--data-dir",
                                      str(tmp_path / "absent"), "--cities", "60"], env=env)
    assert result.exit_code == 0, result.output
    assert "synthetic-national" in result.output
    h = make.account(Role.ADVOCATE).headers
    body = query(to={"city": "Houston", "state": "TX"}, depart_after="2023-06-01T06:00:00-05:00")
    flights = client.post("/v1/itineraries/search", json=body, headers=h).json()
    assert any(leg["mode"] == "air" for it in flights["itineraries"] for leg in it["legs"])
    no_id = client.post("/v1/itineraries/search", json={**body, "has_id": False},
                        headers=h).json()
    assert not any(leg["mode"] == "air" for it in no_id["itineraries"] for leg in it["legs"])
