"""Surge beds through HTTP: overflow windows open capacity at once and close it safely."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from core.clock import utcnow
from core.models import Role
from tests.support import Account, AccountFactory, coordinator, shelter_body


@pytest.fixture
def shelter_id(client: TestClient, admin: Account, make: AccountFactory) -> int:
    agency = make.agency("Capital Shelter Network")
    created = client.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        agency, beds=[{"bed_type": "adult_female", "total": 2, "occupied": 2}]))
    return int(created.json()["id"])


@pytest.fixture
def coord(make: AccountFactory, shelter_id: int) -> Account:
    return coordinator(make, [shelter_id])


def counts(client: TestClient, shelter_id: int, who: Account) -> dict[str, int]:
    row = client.get(f"/v1/shelters/{shelter_id}/beds/adult_female", headers=who.headers).json()
    return {k: row[k] for k in ("total", "occupied", "held", "available", "surge")}


def window(start_min: int, end_min: int, beds: int = 5) -> dict[str, object]:
    now = utcnow()
    return {"beds": beds, "starts_at": (now + timedelta(minutes=start_min)).isoformat(),
            "ends_at": (now + timedelta(minutes=end_min)).isoformat(), "reason": "white flag"}


def test_open_window_adds_beds_that_can_be_held_and_admitted(
    client: TestClient, shelter_id: int, coord: Account, make: AccountFactory
) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    assert client.post(f"{url}/admit", json={"beds": 1}, headers=coord.headers).status_code == 409
    opened = client.post(f"{url}/surge", json=window(-1, 600), headers=coord.headers)
    assert opened.status_code == 201, opened.text
    assert counts(client, shelter_id, coord) == {"total": 2, "occupied": 2, "held": 0,
                                                 "available": 5, "surge": 5}
    advocate = make.account(Role.ADVOCATE)
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                       json={"bed_type": "adult_female", "beds": 2, "case_ref": "C-1"})
    assert hold.status_code == 201
    assert client.post(f"{url}/admit", json={"beds": 3}, headers=coord.headers).status_code == 200
    assert client.post(f"{url}/admit", json={"beds": 1}, headers=coord.headers).status_code == 409
    listed = client.get(f"/v1/shelters/{shelter_id}/surge", headers=coord.headers).json()
    assert [w["beds"] for w in listed] == [5]


def test_ending_a_window_keeps_beds_in_use_but_places_nobody_new(
    client: TestClient, shelter_id: int, coord: Account
) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    opened = client.post(f"{url}/surge", json=window(-1, 600), headers=coord.headers).json()
    client.post(f"{url}/admit", json={"beds": 3}, headers=coord.headers)
    ended = client.delete(f"/v1/surge/{opened['id']}", headers=coord.headers)
    assert ended.status_code == 200
    assert counts(client, shelter_id, coord) == {"total": 2, "occupied": 5, "held": 0,
                                                 "available": 0, "surge": 0}
    assert client.post(f"{url}/admit", json={"beds": 1}, headers=coord.headers).status_code == 409
    assert client.post(f"{url}/discharge", json={"beds": 4},
                       headers=coord.headers).status_code == 200
    assert counts(client, shelter_id, coord)["available"] == 1


def test_future_window_counts_only_from_its_start(client: TestClient, shelter_id: int,
                                                  coord: Account) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    future = client.post(f"{url}/surge", json=window(60, 600), headers=coord.headers).json()
    assert counts(client, shelter_id, coord)["available"] == 0
    cancelled = client.delete(f"/v1/surge/{future['id']}", headers=coord.headers)
    assert cancelled.status_code == 200
    assert client.get(f"/v1/shelters/{shelter_id}/surge", headers=coord.headers).json() == []


def test_surge_rules(client: TestClient, shelter_id: int, coord: Account,
                     make: AccountFactory) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female/surge"
    backwards = client.post(url, json=window(60, 10), headers=coord.headers)
    assert backwards.status_code == 422
    naive = client.post(url, headers=coord.headers, json={
        "beds": 1, "starts_at": "2026-12-01T20:00:00", "ends_at": "2026-12-02T08:00:00"})
    assert naive.status_code == 422
    advocate = make.account(Role.ADVOCATE)
    assert client.post(url, json=window(0, 60), headers=advocate.headers).status_code == 403
    assert client.post(f"/v1/shelters/{shelter_id}/beds/youth/surge", json=window(0, 60),
                       headers=coord.headers).status_code == 404
