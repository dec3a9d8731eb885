"""Travel plans over HTTP: the status machine, check-ins and overdue ones, agency isolation,
sealed storage, audited reads, and the destination bed hold (until arrival plus buffer, or
saying it falls short under the shelter's limit). Every plan is made from a real search's
itinerary id (`tests/api/travel_support.py`); refusals of forged, altered, foreign, expired
and departed ids are in `test_travel_plan_vouching.py`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.deps import Services
from core.models import Role
from tests.api.travel_support import CHICAGO, load_year_round, morning, tomorrow, vouched
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory, shelter_body


@pytest.fixture(autouse=True)
def _feed(services: Services) -> None:
    load_year_round(services)


def past_morning(days_ago: int = 3) -> datetime:
    """08:00 in Chicago some days ago: that day's train arrived long before now."""
    return morning(datetime.now(CHICAGO).date() - timedelta(days=days_ago))


def open_case(client: TestClient, who: Account) -> int:
    body = {"case_ref": "C-77", "household": [{"age": 19, "gender": "female"}],
            "trafficking_type": "sex", "location": {"lat": 41.88, "lon": -87.64}}
    made = client.post("/v1/cases", json=body, headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _plan(client: TestClient, who: Account, case_id: int, start: datetime, mode: str = "rail",
          **extra: Any) -> dict[str, Any]:
    """A plan for the `mode` option departing after `start`, searched and made at `start`
    (a frozen clock), so a trip of days ago can be planned before it left."""
    with frozen_clock(start.astimezone(UTC)):
        made = client.post("/v1/travel-plans", json={
            "case_id": case_id, "itinerary_id": vouched(client, who, start, mode), **extra},
            headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _move(client: TestClient, who: Account, plan_id: int, status: str, **extra: Any) -> Any:
    return client.post(f"/v1/travel-plans/{plan_id}/status", json={"status": status, **extra},
                       headers=who.headers)


def test_status_machine_and_check_ins(client: TestClient, make: AccountFactory) -> None:
    advocate, manager = make.account(Role.ADVOCATE), make.account(Role.CASE_MANAGER)
    case_id = open_case(client, advocate)
    start = past_morning()  # the trip is over: everything is due
    plan = _plan(client, advocate, case_id, start, "bus")
    assert plan["status"] == "proposed" and plan["hold"] is None
    kinds = [(c["kind"], c["place"]) for c in plan["check_ins"]]
    assert kinds == [("transfer", "Kansas City"), ("arrival", "Denver Union Station")]

    pid = plan["id"]
    assert _move(client, advocate, pid, "approved").status_code == 403  # case manager only
    assert _move(client, manager, pid, "booked",
                 booking_references=["X"]).status_code == 409  # not approved yet
    assert _move(client, manager, pid, "approved").json()["status"] == "approved"
    assert _move(client, manager, pid, "approved").status_code == 409
    assert _move(client, manager, pid, "booked").status_code == 422  # references needed
    booked = _move(client, advocate, pid, "booked", booking_references=["GH-123", "AMTK-9"])
    assert booked.json()["booking_references"] == ["GH-123", "AMTK-9"]

    overdue = client.get("/v1/travel-plans/overdue-check-ins", headers=manager.headers).json()
    assert [(o["plan_id"], o["kind"]) for o in overdue] == [(pid, "transfer"), (pid, "arrival")]
    assert overdue[0]["minutes_overdue"] > 60
    first = plan["check_ins"][0]["id"]
    done = client.post(f"/v1/travel-plans/{pid}/check-ins/{first}",
                       json={"safe": True, "note": "called from the station"},
                       headers=advocate.headers)
    assert done.status_code == 200
    assert done.json()["check_ins"][0]["status"] == "safe"
    assert client.post(f"/v1/travel-plans/{pid}/check-ins/{first}", json={},
                       headers=advocate.headers).status_code == 409
    overdue = client.get("/v1/travel-plans/overdue-check-ins", headers=manager.headers).json()
    assert [o["kind"] for o in overdue] == ["arrival"]

    assert _move(client, advocate, pid, "in_transit").status_code == 200
    # Both check-ins were missed: each raised an alert, which must be acknowledged first.
    assert _move(client, advocate, pid, "arrived").status_code == 409
    for alert in client.get("/v1/alerts", params={"case_id": case_id, "open": True},
                            headers=manager.headers).json():
        client.post(f"/v1/alerts/{alert['id']}/acknowledge", json={}, headers=manager.headers)
    assert _move(client, advocate, pid, "arrived").json()["status"] == "arrived"
    for status in ("cancelled", "in_transit", "proposed"):
        assert _move(client, manager, pid, status).status_code == 409
    # An arrived plan is no longer travelling: nothing is overdue for it.
    assert client.get("/v1/travel-plans/overdue-check-ins", headers=manager.headers).json() == []

    second = _plan(client, advocate, case_id, start)
    assert _move(client, advocate, second["id"], "cancelled").json()["status"] == "cancelled"
    listed = client.get("/v1/travel-plans", params={"case_id": case_id},
                        headers=manager.headers).json()
    assert [p["status"] for p in listed] == ["arrived", "cancelled"]


def test_future_trip_is_not_overdue(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _plan(client, manager, case_id, datetime.now(UTC) + timedelta(minutes=1))
    _move(client, manager, plan["id"], "approved")
    _move(client, manager, plan["id"], "booked", booking_references=["R1"])
    assert client.get("/v1/travel-plans/overdue-check-ins", headers=manager.headers).json() == []


def test_other_agencies_see_nothing_and_reads_are_audited(
        client: TestClient, make: AccountFactory, admin: Account) -> None:
    ours = make.account(Role.CASE_MANAGER)
    theirs = make.account(Role.CASE_MANAGER, agency="Elsewhere Services")
    case_id = open_case(client, ours)
    plan = _plan(client, ours, case_id, past_morning())
    pid = plan["id"]
    _move(client, ours, pid, "approved")
    _move(client, ours, pid, "booked", booking_references=["B-1"])
    assert client.get(f"/v1/travel-plans/{pid}", headers=theirs.headers).status_code == 404
    assert client.get(f"/v1/travel-plans/{pid + 999}",
                      headers=theirs.headers).status_code == 404
    assert _move(client, theirs, pid, "cancelled").status_code == 404
    check = plan["check_ins"][0]["id"]
    assert client.post(f"/v1/travel-plans/{pid}/check-ins/{check}", json={},
                       headers=theirs.headers).status_code == 404
    assert client.post("/v1/travel-plans", json={
        "case_id": case_id, "itinerary_id": vouched(client, theirs, tomorrow())},
        headers=theirs.headers).status_code == 404
    assert client.get("/v1/travel-plans/overdue-check-ins",
                      headers=theirs.headers).json() == []
    assert client.get(f"/v1/travel-plans/{pid}", headers=admin.headers).status_code == 200
    assert client.get(f"/v1/travel-plans/{pid}", headers=ours.headers).status_code == 200
    rows = client.get("/v1/audit", params={"object_type": "travel_plan", "object_id": str(pid)},
                      headers=admin.headers).json()
    actions = [r["action"] for r in rows]
    assert actions.count("travel_plan.read") == 2 and "travel_plan.create" in actions
    assert all("B-1" not in str(r["details"]) for r in rows)


def test_itinerary_and_booking_are_sealed_at_rest(client: TestClient, services: Services,
                                                  make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _plan(client, manager, case_id, past_morning(), "bus")
    _move(client, manager, plan["id"], "approved")
    _move(client, manager, plan["id"], "booked", booking_references=["CANARY-REF-42"])
    client.post(f"/v1/travel-plans/{plan['id']}/check-ins/{plan['check_ins'][0]['id']}",
                json={"note": "CANARY-NOTE"}, headers=manager.headers)
    with services.db.engine.connect() as conn:
        rows = [r for table in ("travel_plan", "travel_check_in")
                for r in conn.execute(text(f"SELECT * FROM {table}")).all()]
    # PostgreSQL hands binary columns back as memoryview: compare the raw bytes.
    dump = b"|".join(bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode()
                     for row in rows for v in row)
    assert b"Kansas City" not in dump and len(dump) > 100
    for canary in (b"CANARY-REF-42", b"CANARY-NOTE", b"Kansas City", b"Denver Union"):
        assert canary not in dump


def test_bed_hold_lasts_until_arrival_plus_buffer_or_says_it_falls_short(
        client: TestClient, make: AccountFactory, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER)
    made = client.post("/v1/shelters", json=shelter_body(admin.agency_id, max_hold_minutes=1440),
                       headers=admin.headers)
    assert made.status_code == 201, made.text
    shelter = made.json()["id"]
    case_id = open_case(client, manager)
    # Planned at 13:00 for the train leaving at 14:00 and arriving at 07:15 the next morning:
    # arrival plus buffer is under the shelter's 24 hours.
    held = _plan(client, manager, case_id, tomorrow().replace(hour=13), shelter_id=shelter,
                 bed_type="adult_female", hold_buffer_minutes=90)
    assert held["hold"]["covers_arrival"] is True and held["hold_id"] is not None
    assert held["hold"]["buffer_minutes"] == 90
    hold = client.get(f"/v1/holds/{held['hold_id']}", headers=manager.headers).json()
    arrive = datetime.fromisoformat(held["itinerary"]["arrive"])
    assert datetime.fromisoformat(hold["expires_at"]) == arrive + timedelta(minutes=90)
    assert datetime.fromisoformat(held["hold"]["expires_at"]) == arrive + timedelta(minutes=90)
    assert held["check_ins"][-1]["kind"] == "arrival"

    # A shelter that holds beds for at most 10 hours cannot cover a trip a day long: the plan
    # says so instead of claiming the bed is kept.
    short = client.post("/v1/shelters", json=shelter_body(admin.agency_id, max_hold_minutes=600),
                        headers=admin.headers).json()["id"]
    start = tomorrow()
    later = _plan(client, manager, case_id, start, shelter_id=short, bed_type="adult_female")
    assert later["hold"]["covers_arrival"] is False
    assert "at most 600 minutes" in later["hold"]["note"]
    lapses = datetime.fromisoformat(later["hold"]["expires_at"])
    assert lapses == start + timedelta(minutes=600)  # made at `start` (a frozen clock)
    assert lapses < datetime.fromisoformat(later["itinerary"]["arrive"])
    # Cancelling the plan releases its hold.
    _move(client, manager, later["id"], "cancelled")
    assert client.get(f"/v1/holds/{later['hold_id']}",
                      headers=manager.headers).json()["status"] == "released"
    no_type = client.post("/v1/travel-plans", json={
        "case_id": case_id, "itinerary_id": vouched(client, manager, tomorrow()),
        "shelter_id": shelter}, headers=manager.headers)
    assert no_type.status_code == 422 and no_type.json()["errors"][0]["field"] == "bed_type"
