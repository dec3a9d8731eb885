"""Tips over HTTP: routing across jurisdictions, the sharing rule, access, audit and sealing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.deps import Services
from core.models import Role
from tests.support import Account, AccountFactory

HOUSTON = {"city": "Houston", "state": "TX"}
OKC = {"city": "Oklahoma City", "state": "OK"}
CANARY = "canary-7f3a-caller"


def _law(name: str, body: str, city: str, state: str, lat: float, lon: float,
         areas: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "kind": "law_enforcement", "law_body": body, "lat": lat, "lon": lon,
            "city": city, "state": state, "timezone": "America/Chicago", "areas": areas}


DIRECTORY = [
    _law("Houston Police Department", "police", "Houston", "TX", 29.7633, -95.3633,
         [{"kind": "city", "state": "TX", "city": "Houston"}]),
    _law("Harris County Sheriff's Office", "sheriff", "Houston", "TX", 29.7633, -95.3633,
         [{"kind": "county", "state": "TX", "county": "Harris", "lat": 29.8, "lon": -95.4,
           "radius_km": 50}]),
    _law("Dallas Police Department", "police", "Dallas", "TX", 32.7831, -96.8067,
         [{"kind": "city", "state": "TX", "city": "Dallas"}]),
    _law("Texas Attorney General", "attorney_general", "Austin", "TX", 30.2672, -97.7431,
         [{"kind": "state", "state": "TX"}]),
    _law("Texas DPS Anti-Trafficking Task Force", "state_police_task_force", "Austin", "TX",
         30.2672, -97.7431, [{"kind": "state", "state": "TX"}]),
    _law("FBI Houston Field Office", "fbi_field_office", "Houston", "TX", 29.7633, -95.3633,
         [{"kind": "state", "state": "TX"}]),
    _law("HSI Dallas", "hsi_office", "Dallas", "TX", 32.7831, -96.8067,
         [{"kind": "state", "state": "TX"}, {"kind": "state", "state": "OK"}]),
    _law("Oklahoma City Police Department", "police", "Oklahoma City", "OK", 35.4676,
         -97.5164, [{"kind": "city", "state": "OK", "city": "Oklahoma City"}]),
    _law("Oklahoma Attorney General", "attorney_general", "Oklahoma City", "OK", 35.4676,
         -97.5164, [{"kind": "state", "state": "OK"}]),
    _law("FBI Oklahoma City Field Office", "fbi_field_office", "Oklahoma City", "OK", 35.4676,
         -97.5164, [{"kind": "state", "state": "OK"}]),
]


@pytest.fixture
def advocate(client: TestClient, admin: Account, make: AccountFactory) -> Account:
    for body in DIRECTORY:
        response = client.post("/v1/directory/organizations", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
    return make.account(Role.ADVOCATE)


def tip(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trafficking_type": "sex", "locations": [HOUSTON], "venue": "illicit_massage",
        "minors_involved": False, "harm_imminent": False,
        "consent": {"share_with_law_enforcement": True,
                    "fields": ["trafficking_type", "jurisdictions", "venue", "locations",
                               "description", "caller_contact"]},
        "description": "workers locked in overnight", "caller_contact": CANARY,
    }
    body.update(overrides)
    return body


def _send(client: TestClient, who: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/tips", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


def _names(routing: dict[str, Any]) -> list[str]:
    return [c["name"] for c in routing["contacts"]]


def test_single_city_case_goes_local_then_state(client: TestClient, advocate: Account) -> None:
    out = _send(client, advocate, tip())
    routing = out["routing"]
    assert out["status"] == "routed" and out["states"] == ["TX"]
    assert routing["basis"] == "consent" and routing["notify"] is True
    assert _names(routing) == ["Harris County Sheriff's Office", "Houston Police Department",
                               "Texas Attorney General",
                               "Texas DPS Anti-Trafficking Task Force"]
    assert [c["level"] for c in routing["contacts"]] == ["local", "local", "state", "state"]
    assert all(c["reasons"] for c in routing["contacts"])
    assert any("no federal contact needed" in r for r in routing["reasons"])
    assert routing["share"]["caller_contact"] == CANARY
    assert "victim_details" not in routing["share"]
    assert out["seconds_to_route"] is not None and out["seconds_to_route"] >= 0
    assert routing["seconds_to_route"] == out["seconds_to_route"]


def test_two_state_case_always_includes_federal(client: TestClient, advocate: Account) -> None:
    routing = _send(client, advocate, tip(locations=[HOUSTON, OKC]))["routing"]
    levels = [c["level"] for c in routing["contacts"]]
    assert levels == sorted(levels, key=["local", "state", "federal"].index)
    names = _names(routing)
    assert {"FBI Houston Field Office", "FBI Oklahoma City Field Office",
            "HSI Dallas"} <= set(names)
    assert names.count("HSI Dallas") == 1  # covers both states: listed once, two reasons
    hsi = next(c for c in routing["contacts"] if c["name"] == "HSI Dallas")
    assert len(hsi["reasons"]) == 2
    assert "crosses state lines (TX, OK)" in hsi["reasons"][0]
    assert names.index("Houston Police Department") < names.index("Oklahoma City Police "
                                                                  "Department")
    assert {"level": "federal", "name": "federal (TX, OK)"} in routing["jurisdictions"]
    assert "Dallas Police Department" not in names


def test_minor_without_consent_shares_only_the_minimum(client: TestClient,
                                                       advocate: Account) -> None:
    out = _send(client, advocate, tip(minors_involved=True, consent={}))
    routing = out["routing"]
    assert routing["basis"] == "mandatory_reporting" and routing["notify"] is True
    assert set(routing["share"]) == {"trafficking_type", "jurisdictions", "venue",
                                     "minors_involved", "harm_imminent"}
    assert routing["share"]["jurisdictions"] == ["Houston, TX", "TX", "federal (TX)"]
    assert CANARY not in str(routing["share"])
    assert "FBI Houston Field Office" in _names(routing)  # a minor brings federal in
    assert any("a minor is involved" in r for r in routing["reasons"])


def test_adult_without_consent_nothing_leaves(client: TestClient, advocate: Account) -> None:
    out = _send(client, advocate, tip(consent={}))
    routing = out["routing"]
    assert out["status"] == "withheld" and out["routed_at"] is None
    assert routing["basis"] == "none" and routing["notify"] is False
    assert routing["share"] == {} and routing["shared_fields"] == []
    assert any("nothing leaves the hotline" in r for r in routing["reasons"])


def test_adult_with_partial_consent_shares_only_those_fields(client: TestClient,
                                                             advocate: Account) -> None:
    consent = {"share_with_law_enforcement": True,
               "fields": ["trafficking_type", "jurisdictions", "description"]}
    routing = _send(client, advocate, tip(consent=consent))["routing"]
    assert routing["basis"] == "consent"
    assert routing["share"] == {"trafficking_type": "sex",
                                "jurisdictions": ["Houston, TX", "TX"],
                                "description": "workers locked in overnight"}
    assert any(r.startswith("withheld:") and "caller_contact" in r
               for r in routing["reasons"])


def test_imminent_harm_with_partial_consent_tops_up_to_minimum(client: TestClient,
                                                               advocate: Account) -> None:
    consent = {"share_with_law_enforcement": True, "fields": ["description"]}
    routing = _send(client, advocate, tip(consent=consent, harm_imminent=True))["routing"]
    assert routing["basis"] == "consent_and_mandatory_reporting"
    assert set(routing["share"]) == {"trafficking_type", "jurisdictions", "venue",
                                     "minors_involved", "harm_imminent", "description"}


def test_point_location_resolves_to_its_city(client: TestClient, advocate: Account) -> None:
    out = _send(client, advocate, tip(locations=[{"lat": 29.76, "lon": -95.37}]))
    assert out["states"] == ["TX"]
    assert "Houston Police Department" in _names(out["routing"])


@pytest.mark.parametrize("body", [
    tip(locations=[]), {k: v for k, v in tip().items() if k != "locations"},
    tip(locations=[{"city": "Houston"}]),
])
def test_a_tip_without_a_location_is_422_naming_locations(
        client: TestClient, advocate: Account, body: dict[str, Any]) -> None:
    response = client.post("/v1/tips", json=body, headers=advocate.headers)
    assert response.status_code == 422
    assert any("locations" in e["field"] for e in response.json()["errors"])


def test_bad_consent_and_points_abroad_are_422(client: TestClient, advocate: Account) -> None:
    bad = client.post("/v1/tips", json=tip(consent={"share_with_law_enforcement": True}),
                      headers=advocate.headers)
    assert bad.status_code == 422 and "consent" in bad.json()["errors"][0]["field"]
    abroad = client.post("/v1/tips", json=tip(locations=[{"lat": 48.85, "lon": 2.35}]),
                         headers=advocate.headers)
    assert abroad.status_code == 422
    assert abroad.json()["errors"][0]["field"] == "locations[0]"


def test_only_the_receiving_agency_reads_and_reroutes(client: TestClient, advocate: Account,
                                                      make: AccountFactory) -> None:
    tip_id = _send(client, advocate, tip())["id"]
    colleague = make.account(Role.CASE_MANAGER)
    assert client.get(f"/v1/tips/{tip_id}", headers=colleague.headers).status_code == 200
    again = client.post(f"/v1/tips/{tip_id}/route", headers=colleague.headers)
    assert again.status_code == 200 and again.json()["routing"]["id"] > 1
    outsider = make.account(Role.ADVOCATE, agency="Another Hotline")
    coordinator = make.account(Role.SHELTER_COORDINATOR, agency="Shelter Org")
    other_admin = make.account(Role.AGENCY_ADMIN, agency="Another Hotline")
    for who in (outsider, coordinator, other_admin):
        assert client.get(f"/v1/tips/{tip_id}", headers=who.headers).status_code == 404
        assert client.post(f"/v1/tips/{tip_id}/route", headers=who.headers).status_code == 404
    # The hotline's operator sees every tip (and its read is audited like anyone's).
    operator = make.account(Role.PLATFORM_ADMIN, agency="Another Hotline")
    assert client.get(f"/v1/tips/{tip_id}", headers=operator.headers).status_code == 200
    assert client.post("/v1/tips", json=tip(), headers=coordinator.headers).status_code == 403


def test_routing_is_audited_and_personal_fields_sealed(client: TestClient, advocate: Account,
                                                       admin: Account,
                                                       services: Services) -> None:
    tip_id = _send(client, advocate, tip(victim_details="canary-victim-2"))["id"]
    audit = client.get(f"/v1/audit?object_type=tip&object_id={tip_id}",
                       headers=admin.headers)
    assert audit.status_code == 200
    actions = [row["action"] for row in audit.json()]
    assert "tip.create" in actions and "tip.route" in actions
    route = next(row for row in audit.json() if row["action"] == "tip.route")
    assert route["details"]["basis"] == "consent" and "seconds_to_route" in route["details"]
    assert CANARY not in str(audit.json())
    with services.db.engine.connect() as conn:
        dump = []
        for table in ("tip", "tip_routing", "tip_state", "audit_entry"):
            dump += [repr(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table}"))]
    joined = "\n".join(dump)
    assert CANARY not in joined and "canary-victim-2" not in joined
    assert "Houston" not in joined and "locked in" not in joined
