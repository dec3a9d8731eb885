"""Travel plans over HTTP: the status machine, check-ins and overdue ones, agency isolation,
sealed storage, audited reads, and the destination bed hold (capped by the shelter's limit)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from api.deps import Services
from core.models import Role
from tests.support import Account, AccountFactory, shelter_body


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def itinerary(start: datetime) -> dict[str, Any]:
    """Walk, bus to a transfer at Kansas City, bus on to Denver: one transfer, one arrival."""
    t = [start + timedelta(minutes=m) for m in (0, 10, 600, 660, 1500)]

    def leg(mode: str, a: str, b: str, dep: datetime, arr: datetime, wait: int) -> dict[str, Any]:
        return {"mode": mode, "carrier": "Bus Co" if mode == "bus" else "walk", "route": "",
                "from": a, "to": b, "from_stop_id": "", "to_stop_id": "", "depart": _iso(dep),
                "arrive": _iso(arr), "fare_cents": 4000 if mode == "bus" else 0,
                "distance_m": 1000, "layover_minutes": wait, "indoor_waiting": None,
                "overnight_layover": False}

    return {"depart": _iso(t[0]), "arrive": _iso(t[4]), "cost_cents": 8000, "transfers": 1,
            "overnight_layovers": 0, "escorted": False,
            "legs": [leg("walk", "origin", "Chicago Bus", t[0], t[1], 0),
                     leg("bus", "Chicago Bus", "Kansas City Bus", t[1], t[2], 0),
                     leg("bus", "Kansas City Bus", "Denver Bus", t[3], t[4], 60)]}


def open_case(client: TestClient, who: Account) -> int:
    body = {"case_ref": "C-77", "household": [{"age": 19, "gender": "female"}],
            "trafficking_type": "sex", "location": {"lat": 41.88, "lon": -87.64}}
    made = client.post("/v1/cases", json=body, headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _plan(client: TestClient, who: Account, case_id: int, start: datetime,
          **extra: Any) -> dict[str, Any]:
    made = client.post("/v1/travel-plans", json={"case_id": case_id,
                                                 "itinerary": itinerary(start), **extra},
                       headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _move(client: TestClient, who: Account, plan_id: int, status: str, **extra: Any) -> Any:
    return client.post(f"/v1/travel-plans/{plan_id}/status", json={"status": status, **extra},
                       headers=who.headers)


def test_status_machine_and_check_ins(client: TestClient, make: AccountFactory) -> None:
    advocate, manager = make.account(Role.ADVOCATE), make.account(Role.CASE_MANAGER)
    case_id = open_case(client, advocate)
    start = datetime.now(UTC) - timedelta(hours=30)  # the trip is over: everything is due
    plan = _plan(client, advocate, case_id, start)
    assert plan["status"] == "proposed" and plan["hold"] is None
    kinds = [(c["kind"], c["place"]) for c in plan["check_ins"]]
    assert kinds == [("transfer", "Kansas City Bus"), ("arrival", "Denver Bus")]

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


def test_future_trip_is_not_overdue_and_bad_itinerary_is_422(
        client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    plan = _plan(client, manager, case_id, datetime.now(UTC) + timedelta(days=1))
    _move(client, manager, plan["id"], "approved")
    _move(client, manager, plan["id"], "booked", booking_references=["R1"])
    assert client.get("/v1/travel-plans/overdue-check-ins", headers=manager.headers).json() == []
    broken = itinerary(datetime.now(UTC))
    broken["legs"][2]["depart"], broken["legs"][2]["arrive"] = (broken["legs"][2]["arrive"],
                                                                broken["legs"][2]["depart"])
    bad = client.post("/v1/travel-plans", json={"case_id": case_id, "itinerary": broken},
                      headers=manager.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "itinerary.legs.2"


def test_other_agencies_see_nothing_and_reads_are_audited(
        client: TestClient, make: AccountFactory, admin: Account) -> None:
    ours = make.account(Role.CASE_MANAGER)
    theirs = make.account(Role.CASE_MANAGER, agency="Elsewhere Services")
    case_id = open_case(client, ours)
    plan = _plan(client, ours, case_id, datetime.now(UTC) - timedelta(hours=30))
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
    assert client.post("/v1/travel-plans", json={"case_id": case_id,
                                                 "itinerary": itinerary(datetime.now(UTC))},
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
    plan = _plan(client, manager, case_id, datetime.now(UTC) - timedelta(hours=30))
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
    for canary in (b"CANARY-REF-42", b"CANARY-NOTE", b"Kansas City", b"Denver Bus"):
        assert canary not in dump


def test_bed_hold_until_arrival_or_says_it_falls_short(
        client: TestClient, make: AccountFactory, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER)
    made = client.post("/v1/shelters", json=shelter_body(admin.agency_id, max_hold_minutes=600),
                       headers=admin.headers)
    assert made.status_code == 201, made.text
    shelter = made.json()["id"]
    case_id = open_case(client, manager)
    soon = datetime.now(UTC) - timedelta(minutes=1400)  # arrives in about 100 minutes
    held = _plan(client, manager, case_id, soon, shelter_id=shelter, bed_type="adult_female",
                 hold_buffer_minutes=60)
    assert held["hold"]["covers_arrival"] is True and held["hold_id"] is not None
    hold = client.get(f"/v1/holds/{held['hold_id']}", headers=manager.headers).json()
    arrive = datetime.fromisoformat(held["itinerary"]["arrive"])
    expires = datetime.fromisoformat(hold["expires_at"])
    assert abs((expires - arrive - timedelta(minutes=60)).total_seconds()) < 120

    later = _plan(client, manager, case_id, datetime.now(UTC) + timedelta(days=1),
                  shelter_id=shelter, bed_type="adult_female")
    assert later["hold"]["covers_arrival"] is False
    assert "at most 600 minutes" in later["hold"]["note"]
    # Cancelling the plan releases its hold.
    _move(client, manager, later["id"], "cancelled")
    assert client.get(f"/v1/holds/{later['hold_id']}",
                      headers=manager.headers).json()["status"] == "released"
    no_type = client.post("/v1/travel-plans", json={
        "case_id": case_id, "itinerary": itinerary(soon), "shelter_id": shelter},
        headers=manager.headers)
    assert no_type.status_code == 422 and no_type.json()["errors"][0]["field"] == "bed_type"
    assert held["check_ins"][-1]["kind"] == "arrival"
