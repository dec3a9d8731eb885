"""Cases over HTTP: create, read, list, update with If-Match, close; bad input; privacy; audit."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.deps import Services
from core.crypto import FieldCipher
from core.models import AgencyKind, Role
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.cases.models import CaseData, Gender
from tests.support import AccountFactory, shelter_body


def case_body(**overrides: object) -> dict[str, Any]:
    """The case of issue 4: a mother and son near Houston, avoiding the trafficker's area."""
    body: dict[str, Any] = {
        "case_ref": "C-1042",
        "household": [{"age": 34, "gender": "female"}, {"age": 6, "gender": "male"}],
        "languages": ["es"], "trafficking_type": "labor", "needs": ["wheelchair"],
        "location": {"lat": 29.76, "lon": -95.37},
        "exclusions": {"points": [{"lat": 29.85, "lon": -95.42, "radius_km": 60}],
                       "cities": [], "states": [], "shelter_ids": []},
        "has_photo_id": False, "urgency": 4, "max_travel_km": 800,
    }
    body.update(overrides)
    return body


def _errors(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in response.json()["errors"]]


def _audit(client: TestClient, admin_headers: dict[str, str], case_id: int) -> list[str]:
    rows = client.get("/v1/audit", params={"object_type": "case", "object_id": str(case_id)},
                      headers=admin_headers).json()
    return [r["action"] for r in rows]


def test_create_read_list_update_close(client: TestClient, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    created = client.post("/v1/cases", json=case_body(notes="prefers calls after 6pm"),
                          headers=advocate.headers)
    assert created.status_code == 201, created.text
    case = created.json()
    assert case["agency_id"] == advocate.agency_id
    assert case["household"] == [{"age": 34, "gender": "female"}, {"age": 6, "gender": "male"}]
    assert case["status"] == "open" and case["version"] == 1
    assert case["exclusions"]["points"][0]["radius_km"] == 60
    assert created.headers["ETag"] == '"1"'
    assert created.headers["Cache-Control"] == "no-store"

    got = client.get(f"/v1/cases/{case['id']}", headers=advocate.headers)
    assert got.status_code == 200
    assert got.json()["notes"] == "prefers calls after 6pm"

    listed = client.get("/v1/cases", params={"status": "open"}, headers=advocate.headers)
    assert [c["id"] for c in listed.json()] == [case["id"]]
    assert client.get("/v1/cases", params={"status": "closed"},
                      headers=advocate.headers).json() == []

    patched = client.patch(f"/v1/cases/{case['id']}", headers={**advocate.headers,
                           "If-Match": '"1"'}, json={"urgency": 5, "notes": None,
                           "location": {"city": "Houston", "state": "TX"}})
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["urgency"] == 5 and body["notes"] is None and body["version"] == 2
    assert body["location"] == {"lat": None, "lon": None, "city": "Houston", "state": "TX"}
    assert body["household"] == case["household"]  # untouched fields survive

    closed = client.post(f"/v1/cases/{case['id']}/close", headers=advocate.headers)
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"] is not None
    again = client.patch(f"/v1/cases/{case['id']}", headers={**advocate.headers,
                         "If-Match": '"3"'}, json={"urgency": 1})
    assert again.status_code == 409


def test_if_match_required_and_checked(client: TestClient, make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case_id = client.post("/v1/cases", json=case_body(), headers=manager.headers).json()["id"]
    missing = client.patch(f"/v1/cases/{case_id}", json={"urgency": 2},
                           headers=manager.headers)
    assert missing.status_code == 428
    stale = client.patch(f"/v1/cases/{case_id}", json={"urgency": 2},
                         headers={**manager.headers, "If-Match": '"7"'})
    assert stale.status_code == 412
    ok = client.patch(f"/v1/cases/{case_id}", json={"urgency": 2},
                      headers={**manager.headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["ETag"] == '"2"'


def test_bad_input_names_the_field(client: TestClient, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    post = lambda **kw: client.post("/v1/cases", json=case_body(**kw),  # noqa: E731
                                    headers=advocate.headers)
    assert _errors(post(household=[])) == ["body.household"]
    assert _errors(post(household=[{"age": 121, "gender": "female"}])) == \
        ["body.household.0.age"]
    assert _errors(post(household=[{"age": -1, "gender": "female"}])) == \
        ["body.household.0.age"]
    assert _errors(post(languages=["xx-nope"])) == ["body.languages"]
    assert _errors(post(trafficking_type="other")) == ["body.trafficking_type"]
    assert _errors(post(urgency=6)) == ["body.urgency"]
    assert _errors(post(location={"lat": 29.7})) == ["body.location"]
    assert _errors(post(exclusions={"shelter_ids": [999_999]})) == ["exclusions.shelter_ids"]
    assert _errors(post(exclusions={"states": ["Texas"]})) == ["body.exclusions.states"]
    assert _errors(post(case_ref="María López")) == ["body.case_ref"]
    # The submitted value is never echoed back (it may be personal data).
    assert "María" not in post(case_ref="María López").text


def test_known_shelter_may_be_excluded(client: TestClient, make: AccountFactory,
                                       admin: Any) -> None:
    shelter = client.post("/v1/shelters", json=shelter_body(admin.agency_id),
                          headers=admin.headers)
    assert shelter.status_code == 201, shelter.text
    advocate = make.account(Role.ADVOCATE)
    created = client.post("/v1/cases", json=case_body(
        exclusions={"shelter_ids": [shelter.json()["id"]], "cities": ["Pasadena, TX"],
                    "states": ["LA"]}), headers=advocate.headers)
    assert created.status_code == 201, created.text
    assert created.json()["exclusions"]["shelter_ids"] == [shelter.json()["id"]]


def test_duplicate_case_ref_is_a_conflict_within_an_agency(client: TestClient,
                                                           make: AccountFactory) -> None:
    ours = make.account(Role.ADVOCATE)
    theirs = make.account(Role.ADVOCATE, agency="Gulf Coast Services")
    assert client.post("/v1/cases", json=case_body(), headers=ours.headers).status_code == 201
    assert client.post("/v1/cases", json=case_body(), headers=ours.headers).status_code == 409
    assert client.post("/v1/cases", json=case_body(), headers=theirs.headers).status_code == 201
    second = client.post("/v1/cases", json=case_body(case_ref="C-2"), headers=ours.headers)
    renamed = client.patch(f"/v1/cases/{second.json()['id']}", json={"case_ref": "C-1042"},
                           headers={**ours.headers, "If-Match": '"1"'})
    assert renamed.status_code == 409
    assert client.patch(f"/v1/cases/{second.json()['id']}", json={"household": None},
                        headers={**ours.headers, "If-Match": '"1"'}).status_code == 422


def test_other_agencies_get_404_and_admins_see_all(client: TestClient, make: AccountFactory,
                                                    admin: Any) -> None:
    advocate = make.account(Role.ADVOCATE)
    colleague = make.account(Role.CASE_MANAGER)
    outsider = make.account(Role.ADVOCATE, agency="Another Hotline")
    coordinator = make.account(Role.SHELTER_COORDINATOR, agency="Shelter Org")
    admin_elsewhere = make.account(Role.PLATFORM_ADMIN, agency="Oversight Office")
    police_admin = make.account(Role.AGENCY_ADMIN, agency="Metro Police",
                                kind=AgencyKind.LAW_ENFORCEMENT)
    case_id = client.post("/v1/cases", json=case_body(), headers=advocate.headers).json()["id"]

    assert client.get(f"/v1/cases/{case_id}", headers=colleague.headers).status_code == 200
    for stranger in (outsider, coordinator):
        assert client.get(f"/v1/cases/{case_id}", headers=stranger.headers).status_code == 404
        assert client.patch(f"/v1/cases/{case_id}", json={"urgency": 1}, headers={
            **stranger.headers, "If-Match": '"1"'}).status_code == 404
        assert client.post(f"/v1/cases/{case_id}/close",
                           headers=stranger.headers).status_code == 404
        assert client.get("/v1/cases", headers=stranger.headers).json() == []
    missing = client.get("/v1/cases/987654", headers=outsider.headers)
    assert missing.status_code == 404
    assert admin_elsewhere.agency_id != advocate.agency_id
    assert client.get(f"/v1/cases/{case_id}",
                      headers=admin_elsewhere.headers).status_code == 200
    # An agency admin is an admin of its own agency only: the hotline's case is not found.
    assert client.get(f"/v1/cases/{case_id}", headers=police_admin.headers).status_code == 404
    assert client.get("/v1/cases", headers=police_admin.headers).json() == []
    # Only advocates, case managers and admins open cases.
    assert client.post("/v1/cases", json=case_body(case_ref="C-2"),
                       headers=coordinator.headers).status_code == 403


def test_every_read_is_audited_with_a_purpose(client: TestClient, make: AccountFactory,
                                              admin: Any, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    case_id = client.post("/v1/cases", json=case_body(), headers=advocate.headers).json()["id"]
    client.get(f"/v1/cases/{case_id}", headers=advocate.headers)
    client.get(f"/v1/cases/{case_id}", headers=advocate.headers)
    client.get("/v1/cases", headers=advocate.headers)
    client.get(f"/v1/cases/{case_id}", headers=make.account(
        Role.ADVOCATE, agency="Elsewhere").headers)  # a refused read opens nothing
    actions = _audit(client, admin.headers, case_id)
    assert sorted(actions) == ["case.create", "case.list_read", "case.read", "case.read"]
    rows = client.get("/v1/audit", params={"object_type": "case"}, headers=admin.headers).json()
    assert all(r["purpose"] for r in rows)
    assert all(r["actor_account_id"] == advocate.id for r in rows)
    # Audit details never carry the personal fields.
    assert "29.76" not in str(rows) and "female" not in str(rows)


def test_load_case_data_is_a_frozen_audited_value(client: TestClient, make: AccountFactory,
                                                  admin: Any, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    case_id = client.post("/v1/cases", json=case_body(), headers=advocate.headers).json()["id"]
    actor = Principal(account_id=advocate.id, name=advocate.name, role=Role.ADVOCATE,
                      agency_id=advocate.agency_id)
    cipher: FieldCipher = services.cipher
    with services.db.write_session() as session:
        data = case_service.load_case_data(session, actor=actor, cipher=cipher,
                                           case_id=case_id, purpose="matching")
        session.commit()
    assert isinstance(data, CaseData)
    assert data.household[1].gender is Gender.MALE and data.has_minor
    assert data.languages == ("es",) and data.location.lat == 29.76
    assert data.exclusions.points[0].radius_km == 60
    rows = client.get("/v1/audit", params={"object_type": "case", "object_id": str(case_id)},
                      headers=admin.headers).json()
    assert any(r["purpose"] == "matching" and r["action"] == "case.read" for r in rows)
