"""A travel plan is made only from an itinerary the server's search found, for the account that
searched, before its id expires, and only if it still runs, has not left, and passes none of
the case's exclusion zones (issue 16, item 4). Time moves with a frozen clock, never a sleep."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.deps import Services
from core.models import Role
from tests.api.test_travel_plans import open_case
from tests.api.travel_support import (
    by_mode,
    load_year_round,
    search,
    tomorrow,
    vouched,
)
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory


@pytest.fixture(autouse=True)
def _feed(services: Services) -> None:
    load_year_round(services)


def _book(client: TestClient, who: Account, case_id: int, itinerary_id: str,
          **extra: Any) -> Any:
    return client.post("/v1/travel-plans", json={"case_id": case_id,
                                                 "itinerary_id": itinerary_id, **extra},
                       headers=who.headers)


def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = dict(response.json())
    assert body["type"] == f"urn:homeward:problem:{code}", body
    return body


def test_a_searched_itinerary_becomes_a_plan(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    options = search(client, manager, tomorrow())
    assert options and all(o["itinerary_id"] for o in options)
    assert len({o["itinerary_id"] for o in options}) == len(options)
    train = by_mode(options, "rail")
    # The id carries the search, sealed: the survivor's starting point cannot be read off it.
    raw = base64.urlsafe_b64decode(train["itinerary_id"] + "==")
    assert b"41.8789" not in raw and b"Denver" not in raw and "41.8789" not in str(options)
    made = _book(client, manager, case_id, train["itinerary_id"])
    assert made.status_code == 201, made.text
    plan = made.json()
    # The plan holds the server's itinerary, exactly as searched (the id is not part of it).
    assert plan["itinerary"] == {k: v for k, v in train.items() if k != "itinerary_id"}
    assert plan["cost_cents"] == train["cost_cents"]
    assert datetime.fromisoformat(plan["depart_at"]) == datetime.fromisoformat(train["depart"])


def test_a_client_made_itinerary_is_refused(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    start = tomorrow().astimezone(UTC)
    forged = {"depart": start.isoformat(), "arrive": (start + timedelta(hours=5)).isoformat(),
              "cost_cents": 1, "transfers": 0, "overnight_layovers": 0, "escorted": False,
              "legs": [{"mode": "rail", "carrier": "Hogwarts Express", "route": "9 3/4",
                        "from": "King's Cross", "to": "Hogsmeade", "from_stop_id": "KX",
                        "to_stop_id": "HM", "depart": start.isoformat(),
                        "arrive": (start + timedelta(hours=5)).isoformat(), "fare_cents": 1,
                        "distance_m": 1, "layover_minutes": 0, "indoor_waiting": None,
                        "overnight_layover": False}]}
    refused = client.post("/v1/travel-plans", json={"case_id": case_id, "itinerary": forged},
                          headers=manager.headers)
    assert refused.status_code == 422
    fields = {e["field"] for e in refused.json()["errors"]}
    assert {"body.itinerary", "body.itinerary_id"} <= fields
    assert "Hogwarts" not in refused.text
    # An id made up by the client, or the forged itinerary itself as an id, is no better.
    made_up = base64.urlsafe_b64encode(b"\x01" + b"\x00" * 60).decode().rstrip("=")
    for guess in (made_up, "AAAA", base64.urlsafe_b64encode(str(forged).encode()).decode()
                  .rstrip("=")):
        body = _problem(_book(client, manager, case_id, guess), 422, "invalid-input")
        assert body["errors"][0]["field"] == "itinerary_id"
        assert guess not in refused.text and guess not in str(body)
    assert client.get("/v1/travel-plans", params={"case_id": case_id},
                      headers=manager.headers).json() == []


def test_a_tampered_id_is_refused(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    good = vouched(client, manager, tomorrow())
    for at in (0, len(good) // 2, len(good) - 2):
        flipped = good[:at] + ("A" if good[at] != "A" else "B") + good[at + 1:]
        body = _problem(_book(client, manager, case_id, flipped), 422, "invalid-input")
        assert body["errors"][0]["field"] == "itinerary_id"
    body = _problem(_book(client, manager, case_id, good[:-10]), 422, "invalid-input")
    assert good[:-10] not in str(body)
    assert _book(client, manager, case_id, good).status_code == 201


def test_another_accounts_id_is_refused(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    colleague = make.account(Role.ADVOCATE)  # same agency: may see the case
    case_id = open_case(client, manager)
    theirs = vouched(client, colleague, tomorrow())
    body = _problem(_book(client, manager, case_id, theirs), 422, "invalid-input")
    assert body["errors"][0]["field"] == "itinerary_id"
    assert _book(client, colleague, case_id, theirs).status_code == 201


def test_an_expired_id_says_search_again(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    searched_at = tomorrow().astimezone(UTC)  # 08:00: the train leaves at 14:00
    with frozen_clock(searched_at):
        train = vouched(client, manager, searched_at)
    with frozen_clock(searched_at + timedelta(minutes=29, seconds=59)):
        assert _book(client, manager, case_id, train).status_code == 201
    with frozen_clock(searched_at):
        again = vouched(client, manager, searched_at)
    with frozen_clock(searched_at + timedelta(minutes=30)):
        body = _problem(_book(client, manager, case_id, again), 409, "itinerary-expired")
    assert "search again" in body["detail"] and again not in str(body)


def test_the_lifetime_is_configured(make: AccountFactory, services: Services) -> None:
    assert Settings.from_env({"HOMEWARD_ITINERARY_ID_MINUTES": "5"}).itinerary_id_minutes == 5
    assert services.itinerary_ids.lifetime == timedelta(minutes=30)


def test_a_departure_already_past_is_refused(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    day = tomorrow()
    before = day.replace(hour=13, minute=50).astimezone(UTC)  # the train leaves at 13:59
    with frozen_clock(before):
        train = vouched(client, manager, day)
    with frozen_clock(before + timedelta(minutes=10)):  # 14:00, the id still good
        body = _problem(_book(client, manager, case_id, train), 409, "itinerary-unavailable")
    assert "departure has passed" in body["detail"]


def test_a_trip_dropped_from_the_timetable_is_refused(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    train = vouched(client, manager, tomorrow())
    bus = vouched(client, manager, tomorrow(), "bus")
    load_year_round(services, without="T1")  # a new edition of the feed: no more train
    body = _problem(_book(client, manager, case_id, train), 409, "itinerary-unavailable")
    assert "search again" in body["detail"]
    assert _book(client, manager, case_id, bus).status_code == 201


def test_an_itinerary_through_the_cases_exclusion_zone_is_refused(
        client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    made = client.post("/v1/cases", json={
        "case_ref": "C-78", "household": [{"age": 19, "gender": "female"}],
        "trafficking_type": "sex", "location": {"lat": 41.88, "lon": -87.64},
        "exclusions": {"points": [{"lat": 41.26, "lon": -95.94, "radius_km": 20.0}]}},
        headers=manager.headers)  # Omaha, where the train stops
    assert made.status_code == 201, made.text
    case_id = made.json()["id"]
    train = vouched(client, manager, tomorrow())
    body = _problem(_book(client, manager, case_id, train), 409, "itinerary-unavailable")
    assert "exclusion zones" in body["detail"] and "41.26" not in str(body)
    assert _book(client, manager, case_id,
                 vouched(client, manager, tomorrow(), "bus")).status_code == 201


def test_carrier_rules_hold_at_booking(client: TestClient, make: AccountFactory) -> None:
    # The id carries the search, so the booking re-runs it with the same travellers and ID:
    # the flight offered to a traveller with ID is the flight booked, and nothing can turn
    # a no-ID search's answer into a flight.
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    with_id = search(client, manager, tomorrow(), has_id=True)
    flight = by_mode(with_id, "air")
    assert _book(client, manager, case_id, flight["itinerary_id"]).status_code == 201
    without = search(client, manager, tomorrow())
    assert not any(leg["mode"] == "air" for o in without for leg in o["legs"])
