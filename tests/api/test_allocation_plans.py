"""From money to trips in one step (issue 16 item 6): an allocation over the itinerary ids the
search returned is committed together with a travel plan for every funded case and a destination
bed hold where one is named, all in one transaction. A refusal for any case (a fare that is not
what was budgeted, a bed that is gone, a case named twice) names the case and leaves nothing:
no spending, no plan, no hold, the allocation still proposed."""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.travel_support import by_mode, load_year_round, search, tomorrow
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory, shelter_body


@pytest.fixture(autouse=True)
def _feed(services: Services) -> None:
    load_year_round(services)


def _case(client: TestClient, who: Account, ref: str) -> int:
    made = client.post("/v1/cases", json={
        "case_ref": ref, "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "labor", "location": {"lat": 41.88, "lon": -87.64}},
        headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _allocate(client: TestClient, who: Account, cases: dict[int, dict[str, Any]],
              costs: dict[int, int] | None = None) -> dict[str, Any]:
    body = {"cases": [{"case_id": cid, "candidates": [
        {"itinerary_id": option["itinerary_id"],
         "cost_cents": (costs or {}).get(cid, option["cost_cents"])}]}
        for cid, option in cases.items()]}
    made = client.post("/v1/travel/allocate", json=body, headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def _state(client: TestClient, who: Account, source_id: int, allocation_id: int,
           case_ids: list[int]) -> tuple[int, str, list[int]]:
    source = next(s for s in client.get("/v1/funding-sources", headers=who.headers).json()
                  if s["id"] == source_id)
    allocation = client.get(f"/v1/travel/allocations/{allocation_id}", headers=who.headers)
    plans = [len(client.get("/v1/travel-plans", params={"case_id": c},
                            headers=who.headers).json()) for c in case_ids]
    return source["spent_cents"], allocation.json()["status"], plans


def test_commit_books_every_funded_trip_with_its_bed_or_nothing(
        client: TestClient, make: AccountFactory, agency_admin: Account, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER)
    fund = client.post("/v1/funding-sources", json={"name": "Return home", "budget_cents": 500_000},
                       headers=agency_admin.headers).json()
    shelter = client.post("/v1/shelters", json=shelter_body(admin.agency_id,
                                                             max_hold_minutes=1440),
                          headers=admin.headers).json()["id"]
    first, second = _case(client, manager, "A-1"), _case(client, manager, "A-2")
    start = tomorrow().replace(hour=13)
    with frozen_clock(start.astimezone(UTC)):
        train = {cid: by_mode(search(client, manager, start), "rail") for cid in (first, second)}

        # A fare budgeted lower than the itinerary's real one: refused, naming the case, and
        # nothing is left behind.
        cheap = _allocate(client, manager, train, costs={second: 1})
        refused = client.post(f"/v1/travel/allocations/{cheap['id']}/commit",
                              json={"create_plans": True}, headers=manager.headers)
        assert refused.status_code == 409, refused.text
        assert f"case {second}:" in refused.json()["detail"]
        assert _state(client, manager, fund["id"], cheap["id"], [first, second]) == \
            (0, "proposed", [0, 0])

        # Destinations must belong to funded cases, once each.
        allocation = _allocate(client, manager, train)
        for wrong in ([{"case_id": 999_999, "shelter_id": shelter, "bed_type": "adult_female"}],
                      [{"case_id": first, "shelter_id": shelter, "bed_type": "adult_female"}] * 2):
            bad = client.post(f"/v1/travel/allocations/{allocation['id']}/commit",
                              json={"create_plans": True, "destinations": wrong},
                              headers=manager.headers)
            assert bad.status_code == 422, bad.text
        assert client.post(f"/v1/travel/allocations/{allocation['id']}/commit",
                           json={"destinations": [{"case_id": first, "shelter_id": shelter,
                                                   "bed_type": "adult_female"}]},
                           headers=manager.headers).status_code == 422

        done = client.post(f"/v1/travel/allocations/{allocation['id']}/commit", json={
            "create_plans": True, "destinations": [
                {"case_id": first, "shelter_id": shelter, "bed_type": "adult_female",
                 "hold_buffer_minutes": 60}]}, headers=manager.headers)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["status"] == "committed"
    plans = {p["case_id"]: p for p in result["plans"]}
    assert sorted(plans) == sorted([first, second])
    cost = train[first]["cost_cents"]
    assert all(p["cost_cents"] == cost for p in plans.values())
    assert plans[first]["hold"]["covers_arrival"] is True and plans[second]["hold"] is None
    spent, status, counts = _state(client, manager, fund["id"], allocation["id"], [first, second])
    assert (spent, status, counts) == (2 * cost, "committed", [1, 1])
    # Committed once: a second commit changes nothing.
    again = client.post(f"/v1/travel/allocations/{allocation['id']}/commit",
                        json={"create_plans": True}, headers=manager.headers)
    assert again.status_code == 409
    assert _state(client, manager, fund["id"], allocation["id"], [first, second])[0] == 2 * cost


def test_a_bed_that_is_gone_undoes_the_money_and_the_other_trips(
        client: TestClient, make: AccountFactory, agency_admin: Account, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER)
    fund = client.post("/v1/funding-sources", json={"name": "Fund", "budget_cents": 500_000},
                       headers=agency_admin.headers).json()
    full = shelter_body(admin.agency_id, beds=[{"bed_type": "adult_female", "total": 1,
                                                 "occupied": 1}])
    shelter = client.post("/v1/shelters", json=full, headers=admin.headers).json()["id"]
    first, second = _case(client, manager, "B-1"), _case(client, manager, "B-2")
    start = tomorrow().replace(hour=13)
    with frozen_clock(start.astimezone(UTC)):
        train = {cid: by_mode(search(client, manager, start), "rail") for cid in (first, second)}
        allocation = _allocate(client, manager, train)
        refused = client.post(f"/v1/travel/allocations/{allocation['id']}/commit", json={
            "create_plans": True, "destinations": [
                {"case_id": second, "shelter_id": shelter, "bed_type": "adult_female"}]},
            headers=manager.headers)
    assert refused.status_code == 409, refused.text
    assert f"case {second}:" in refused.json()["detail"]
    assert _state(client, manager, fund["id"], allocation["id"], [first, second]) == \
        (0, "proposed", [0, 0])
