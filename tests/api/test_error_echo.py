"""Error bodies never echo what the caller sent (issue 17): "...called 'X' in CO" did.

A value a caller types can be personal (the town a survivor fled, a staff member's name), and
error bodies are logged, shown and pasted into tickets. Each refusal here carries a canary in
the field it names; the answer must name the field and never contain the value.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from core.models import Role
from tests.support import Account, AccountFactory, shelter_body

CANARY = "Zqxcanary Springs"


def _refused_without_echo(response: Any, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert CANARY not in response.text and CANARY.lower() not in response.text.lower()


def test_refusals_name_the_field_not_the_value(client: TestClient, admin: Account,
                                               make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    search = {"from": {"lat": 41.8789, "lon": -87.6397},
              "depart_after": "2023-04-12T08:00:00-04:00"}
    unknown_to = client.post("/v1/itineraries/search", headers=advocate.headers,
                             json={**search, "to": {"city": CANARY, "state": "CO"}})
    _refused_without_echo(unknown_to, 422)
    avoided = client.post("/v1/itineraries/search", headers=advocate.headers, json={
        **search, "to": {"lat": 39.74, "lon": -104.99},
        "avoid": {"cities": [{"city": CANARY, "state": "CO"}], "states": [], "points": []}})
    _refused_without_echo(avoided, 422)
    hours = client.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        make.agency("Echo Shelters"), intake_hours={"windows": {CANARY: [["08:00", "17:00"]]}}))
    _refused_without_echo(hours, 422)
    times = client.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        make.agency("Echo Shelters"), intake_hours={"windows": {"mon": [[CANARY, "17:00"]]}}))
    _refused_without_echo(times, 422)
    name = {"name": "zqxcanary.springs", "role": "advocate", "agency_id": advocate.agency_id}
    assert client.post("/v1/accounts", headers=admin.headers, json=name).status_code == 201
    again = client.post("/v1/accounts", headers=admin.headers, json=name)
    assert again.status_code == 409 and "zqxcanary" not in again.text


def test_nul_characters_are_refused_in_one_place(client: TestClient, admin: Account,
                                                make: AccountFactory) -> None:
    """Issue 17: NUL bytes were accepted in text; PostgreSQL cannot store them (a 500)."""
    agency = make.agency("Nul Shelters")
    cases = [
        client.post("/v1/shelters", headers=admin.headers,
                    json=shelter_body(agency, name="Harbor\u0000House")),
        client.post("/v1/shelters", headers={**admin.headers, "content-type":
                                             "application/json"},
                    content=b'{"name": "raw \x00 byte"}'),
        client.get("/v1/directory/services", headers=admin.headers,
                   params={"city": "Hou\u0000ston", "state": "TX"}),
    ]
    for response in cases:
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["message"] == "text must not contain NUL characters"
    # Ordinary text with a percent sign or a backslash is not mistaken for one.
    fine = client.post("/v1/shelters", headers=admin.headers,
                       json=shelter_body(agency, name="Harbor 100%00 \\\\u0000 House"))
    assert fine.status_code == 201, fine.text
