"""Times at the edge of the calendar are a 422 naming the field, never a 500 (issue 17).

The fuzzer sent `follow_up_at` "9999-12-31T23:59:59-14:00" (past year 9999 once in UTC) and
"0001-01-01T00:00:00+14:00" (before year 1 in UTC): both were valid aware datetimes to the
request model and failed only when the database layer converted them, as a 500. Every request
field that takes a time now uses `core.types.Instant`; each route that takes one is tried here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.test_consent_referrals import _refer, _release, _setup
from tests.api.test_tips import tip
from tests.support import Account, AccountFactory, shelter_body

EDGES = ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "1969-12-31T23:59:59Z",
         "9000-01-01T00:00:00Z"]


def _field_errors(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


@pytest.mark.parametrize("when", EDGES)
def test_referral_follow_up_at_the_calendar_edge_is_422(
        client: TestClient, admin: Account, make: AccountFactory, when: str) -> None:
    advocate, case_id, org_id = _setup(client, admin, make)
    assert _field_errors(_refer(client, advocate, case_id, org_id, follow_up_at=when)) == [
        "body.follow_up_at"]
    made = _refer(client, advocate, case_id, org_id, follow_up_at="2030-01-01T09:00:00-05:00")
    assert made.status_code == 201, made.text
    patched = client.patch(f"/v1/referrals/{made.json()['id']}", json={"follow_up_at": when},
                           headers={**advocate.headers, "If-Match": made.headers["etag"]})
    assert _field_errors(patched) == ["body.follow_up_at"]
    assert _field_errors(_release(client, advocate, case_id, org_id, expires_at=when)) == [
        "body.expires_at"]


Send = Callable[[TestClient, dict[str, Any], str], Any]


@pytest.mark.parametrize("when", EDGES)
def test_every_other_time_field_at_the_edge_is_422(client: TestClient, admin: Account,
                                                   make: AccountFactory, when: str) -> None:
    shelter = client.post("/v1/shelters", json=shelter_body(make.agency("Edge Shelters")),
                          headers=admin.headers).json()["id"]
    surge = client.post(f"/v1/shelters/{shelter}/beds/adult_female/surge", json={
        "beds": 2, "starts_at": when, "ends_at": "2030-01-01T00:00:00Z"}, headers=admin.headers)
    assert "body.starts_at" in _field_errors(surge)
    tipped = client.post("/v1/tips", json=tip(received_at=when), headers=admin.headers)
    assert _field_errors(tipped) == ["body.received_at"]
    search = client.post("/v1/itineraries/search", json={
        "from": {"lat": 41.8789, "lon": -87.6397}, "to": {"lat": 39.7392, "lon": -104.99},
        "depart_after": when}, headers=admin.headers)
    assert _field_errors(search) == ["body.depart_after"]
