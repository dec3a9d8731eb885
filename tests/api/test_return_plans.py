"""Return plans over HTTP (issue 22): optimise bed, itinerary and funding for several stored
cases at once on the small Chicago-Denver feed, then accept all or some, in one transaction,
idempotently. Runs on SQLite and, with HOMEWARD_TEST_POSTGRES_URL, on PostgreSQL.

Planned at 13:00 in Chicago (a frozen clock) the only trip that reaches Denver while a hold can
last (a shelter holds at most 24 hours) is the 14:00 train (Denver 07:15); the buses of the
next morning arrive too late.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.travel_support import load_year_round, tomorrow
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory, shelter_body

DENVER = {"lat": 39.7420, "lon": -104.9915, "street_address": "1 Main St", "city": "Denver",
          "state": "CO", "zip_code": "80202", "timezone": "America/Denver"}


@pytest.fixture(autouse=True)
def _feed(services: Services) -> None:
    load_year_round(services)


def start() -> datetime:
    return tomorrow().replace(hour=13).astimezone(UTC)


def _shelter(client: TestClient, admin: Account, name: str, beds: int, hold: int) -> int:
    made = client.post("/v1/shelters", json=shelter_body(
        admin.agency_id, name=name, max_hold_minutes=hold, **DENVER,
        beds=[{"bed_type": "adult_female", "total": beds, "occupied": 0}]),
        headers=admin.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _case(client: TestClient, who: Account, ref: str, urgency: int) -> int:
    made = client.post("/v1/cases", json={
        "case_ref": ref, "household": [{"age": 30, "gender": "female"}], "urgency": urgency,
        "trafficking_type": "labor", "location": {"lat": 41.88, "lon": -87.64}},
        headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _optimise(client: TestClient, who: Account, cases: list[int],
              **options: Any) -> dict[str, Any]:
    body = {"cases": [{"case_id": c, "destination": {"city": "Denver", "state": "CO"}}
                      for c in cases], "options": {"hold_buffer_minutes": 60, **options}}
    with frozen_clock(start()):
        made = client.post("/v1/return-plans/optimise", json=body, headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _accept(client: TestClient, who: Account, plan_id: int, key: str | None = None,
            **body: Any) -> Any:
    headers = {**who.headers, **({"Idempotency-Key": key} if key else {})}
    with frozen_clock(start() + timedelta(minutes=5)):
        return client.post(f"/v1/return-plans/{plan_id}/accept", json=body, headers=headers)


def _world(client: TestClient, make: AccountFactory, admin: Account,
           agency_admin: Account, near_beds: int) -> tuple[Account, int, int, int, int]:
    manager = make.account(Role.CASE_MANAGER)
    near = _shelter(client, admin, "Near House", near_beds, 1440)
    _shelter(client, admin, "Short Hold House", 5, 600)
    fund = client.post("/v1/funding-sources", json={"name": "Return fund",
                                                    "budget_cents": 100_000},
                       headers=agency_admin.headers)
    assert fund.status_code == 201, fund.text
    urgent = _case(client, manager, "R-1", 5)
    calm = _case(client, manager, "R-2", 2)
    return manager, near, int(fund.json()["id"]), urgent, calm


def test_one_decision_then_accepted_as_one_transaction(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account) -> None:
    manager, near, fund, urgent, calm = _world(client, make, admin, agency_admin, 1)
    plan = _optimise(client, manager, [urgent, calm])
    assert plan["solve_status"] == "optimal" and plan["gap"] == 0.0
    [chosen] = plan["planned"]
    assert (chosen["case_id"], chosen["shelter_id"]) == (urgent, near)
    assert any(leg["mode"] == "rail" for leg in chosen["itinerary"]["legs"])
    assert chosen["funding_source_id"] == fund
    arrive = datetime.fromisoformat(chosen["arrive_at_shelter"])
    assert arrive >= datetime.fromisoformat(chosen["itinerary"]["arrive"])
    assert datetime.fromisoformat(chosen["hold_until"]) == arrive + timedelta(minutes=60)
    [left] = plan["unplaced"]
    assert left["case_id"] == calm
    assert left["reasons"] == ["capacity_or_budget_used_by_higher_priority"]
    # Every eligible bed near Denver and every Pareto itinerary was modelled: widening the
    # pools cannot place her. Modelling one shelter only leaves the other out, and the
    # certificate then says by how much a wider pool might do better (her weight, 2).
    assert plan["certificate"] == {"certified": True, "cases_left_out": 0, "widening_gap": 0.0,
                                   "widened_bound": plan["objective"]["weighted_persons"]}
    narrow = _optimise(client, manager, [urgent, calm], shelters_per_case=1)
    assert narrow["certificate"]["certified"] is False
    assert narrow["certificate"]["widened_bound"] == plan["objective"]["weighted_persons"] + 2

    assert _accept(client, manager, plan["id"], case_ids=[calm]).status_code == 422
    done = _accept(client, manager, plan["id"], key="accept-1")
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["status"] == "accepted" and out["accepted_case_ids"] == [urgent]
    assert _accept(client, manager, plan["id"], key="accept-1").json() == out  # replayed
    assert _accept(client, manager, plan["id"], key="accept-2").status_code == 409

    [item] = out["accepted"]
    travel = client.get(f"/v1/travel-plans/{item['travel_plan_id']}", headers=manager.headers)
    assert travel.status_code == 200
    assert travel.json()["hold_id"] == item["hold_id"]
    assert travel.json()["itinerary"]["arrive"] == chosen["itinerary"]["arrive"]
    hold = client.get(f"/v1/holds/{item['hold_id']}", headers=manager.headers).json()
    assert datetime.fromisoformat(hold["expires_at"]) == arrive + timedelta(minutes=60)
    source = next(s for s in client.get("/v1/funding-sources", headers=manager.headers).json()
                  if s["id"] == fund)
    assert source["remaining_cents"] == 100_000 - chosen["cost_cents"]
    allocation = client.get(f"/v1/travel/allocations/{out['allocation_id']}",
                            headers=manager.headers).json()
    assert allocation["status"] == "committed"
    assert [f["case_id"] for f in allocation["funded"]] == [urgent]
    read = client.get(f"/v1/return-plans/{plan['id']}", headers=manager.headers).json()
    assert read["status"] == "accepted" and read["accepted_case_ids"] == [urgent]


def test_accepting_is_all_or_nothing_and_some_cases_may_go_first(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account) -> None:
    manager, near, fund, urgent, calm = _world(client, make, admin, agency_admin, 2)
    plan = _optimise(client, manager, [urgent, calm])
    assert sorted(p["case_id"] for p in plan["planned"]) == [urgent, calm]
    assert plan["certificate"]["certified"] is True
    # Someone else holds one of the two beds after the solve.
    other = make.account(Role.ADVOCATE)
    with frozen_clock(start()):
        taken = client.post(f"/v1/shelters/{near}/holds", json={
            "bed_type": "adult_female", "case_ref": "X-1", "ttl_minutes": 1440},
            headers=other.headers)
    assert taken.status_code == 201, taken.text
    refused = _accept(client, manager, plan["id"])
    assert refused.status_code == 409, refused.text
    assert "optimise again" in refused.json()["detail"]
    for case_id in (urgent, calm):
        assert client.get("/v1/travel-plans", params={"case_id": case_id},
                          headers=manager.headers).json() == []
    sources = client.get("/v1/funding-sources", headers=manager.headers).json()
    assert next(s for s in sources if s["id"] == fund)["remaining_cents"] == 100_000
    # One case alone still fits: accepted, the plan partly accepted.
    some = _accept(client, manager, plan["id"], case_ids=[urgent])
    assert some.status_code == 200, some.text
    assert some.json()["status"] == "partly_accepted"
    assert len(client.get("/v1/travel-plans", params={"case_id": urgent},
                          headers=manager.headers).json()) == 1


def test_other_agencies_cannot_see_or_accept(
        client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account) -> None:
    manager, _near, _fund, urgent, _calm = _world(client, make, admin, agency_admin, 1)
    plan = _optimise(client, manager, [urgent])
    stranger = make.account(Role.CASE_MANAGER, agency="Elsewhere Hotline")
    assert client.get(f"/v1/return-plans/{plan['id']}",
                      headers=stranger.headers).status_code == 404
    assert _accept(client, stranger, plan["id"]).status_code == 404
    body = {"cases": [{"case_id": urgent, "destination": {"city": "Denver", "state": "CO"}}]}
    assert client.post("/v1/return-plans/optimise", json=body,
                       headers=stranger.headers).status_code == 404
    advocate = make.account(Role.ADVOCATE)
    assert client.post("/v1/return-plans/optimise", json=body,
                       headers=advocate.headers).status_code == 403
    bad = {"cases": [{"case_id": urgent, "destination": {"city": "Atlantis", "state": "CO"}}]}
    answer = client.post("/v1/return-plans/optimise", json=bad, headers=manager.headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "cases.0.destination"
