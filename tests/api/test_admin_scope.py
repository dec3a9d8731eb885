"""The two admin roles (issue #13, "Admin scope").

A platform admin (only in the hotline's agency) sees and does everything; an agency admin
administers its own agency and is, everywhere else, like any other role: another agency's
private objects are not found and another agency's safe house shows only its city and state.
The first test reproduces the report that made the split: an admin of a law-enforcement agency
read the hotline's cases by id and every safe house's address.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from core.models import AgencyKind, Role
from tests.support import Account, AccountFactory, coordinator, shelter_body

ADDRESS = "425 2nd St NW"  # shelter_body's street address
EXACT = (38.9007, -77.009)  # and its exact point
CASE = {"case_ref": "C-77", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "labor", "location": {"lat": 38.9, "lon": -77.0}}


@pytest.fixture
def police_admin(make: AccountFactory) -> Account:
    return make.account(Role.AGENCY_ADMIN, agency="Metro Police",
                        kind=AgencyKind.LAW_ENFORCEMENT)


@pytest.fixture
def safe_house(client: TestClient, admin: Account, make: AccountFactory) -> int:
    agency = make.agency("Safe Harbor Network", AgencyKind.SHELTER_ORGANISATION)
    created = client.post("/v1/shelters", headers=admin.headers,
                          json=shelter_body(agency, confidential_location=True))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _sealed(view: dict[str, object]) -> None:
    assert view["lat"] is None and view["lon"] is None and view["street_address"] is None
    assert view["location_visible"] is False and view["city"] == "Washington"


def test_law_enforcement_agency_admin_sees_no_hotline_case_and_no_safe_house(
        client: TestClient, make: AccountFactory, police_admin: Account,
        safe_house: int) -> None:
    advocate = make.account(Role.ADVOCATE)  # of the hotline
    case_id = client.post("/v1/cases", json=CASE, headers=advocate.headers).json()["id"]
    for url in (f"/v1/cases/{case_id}", f"/v1/cases/{case_id}/safety-plans",
                f"/v1/cases/{case_id}/screenings"):
        assert client.get(url, headers=police_admin.headers).status_code == 404, url
    assert client.post(f"/v1/cases/{case_id}/purge",
                       headers=police_admin.headers).status_code == 404

    shown = client.get(f"/v1/shelters/{safe_house}", headers=police_admin.headers)
    assert shown.status_code == 200
    _sealed(shown.json())
    found = client.get("/v1/shelters?near=38.9,-77.0&radius_km=50",
                       headers=police_admin.headers).json()["items"]
    hit = next(i for i in found if i["shelter"]["id"] == safe_house)
    _sealed(hit["shelter"])
    assert hit["distance_rounded"] is True
    for response in (shown, client.get("/v1/shelters?near=38.9,-77.0&radius_km=50",
                                       headers=police_admin.headers),
                     client.get("/v1/interop/hsds/services?per_page=100",
                                headers=police_admin.headers)):
        assert response.status_code == 200
        assert ADDRESS not in response.text and "38.9007" not in response.text
    # Nor may it manage the shelter or read its holds.
    url = f"/v1/shelters/{safe_house}"
    assert client.get(f"{url}/holds", headers=police_admin.headers).status_code == 403
    assert client.post(f"{url}/beds/adult_female/admit", json={"beds": 1},
                       headers=police_admin.headers).status_code == 403


def test_agency_admin_runs_its_own_shelters(client: TestClient, make: AccountFactory) -> None:
    agency = make.agency("Safe Harbor Network", AgencyKind.SHELTER_ORGANISATION)
    boss = make.account(Role.AGENCY_ADMIN, agency="Safe Harbor Network")
    created = client.post("/v1/shelters", headers=boss.headers,
                          json=shelter_body(agency, confidential_location=True))
    assert created.status_code == 201, created.text
    shelter = created.json()
    assert shelter["street_address"] == ADDRESS and (shelter["lat"], shelter["lon"]) == EXACT
    view = client.get(f"/v1/shelters/{shelter['id']}", headers=boss.headers).json()
    assert view["street_address"] == ADDRESS and view["location_visible"] is True
    url = f"/v1/shelters/{shelter['id']}"
    assert client.post(f"{url}/beds/adult_female/admit", json={"beds": 1},
                       headers=boss.headers).status_code == 200
    assert client.get(f"{url}/holds", headers=boss.headers).status_code == 200

    # It binds its own agency's coordinators, not another agency's.
    ours = coordinator(make, [], agency="Safe Harbor Network")
    assert client.post(f"{url}/staff", json={"account_id": ours.id},
                       headers=boss.headers).status_code == 204
    theirs = coordinator(make, [], agency="Elsewhere Shelters")
    refused = client.post(f"{url}/staff", json={"account_id": theirs.id}, headers=boss.headers)
    assert refused.status_code == 422

    # Another agency's shelters are not its to register or manage.
    other = make.agency("Elsewhere Shelters", AgencyKind.SHELTER_ORGANISATION)
    assert client.post("/v1/shelters", json=shelter_body(other),
                       headers=boss.headers).status_code == 403


def test_account_rules_of_the_two_admins(client: TestClient, make: AccountFactory,
                                         admin: Account, agency_admin: Account) -> None:
    police = make.agency("Metro Police", AgencyKind.LAW_ENFORCEMENT)
    hotline = admin.agency_id
    assert agency_admin.agency_id == hotline

    def create(who: Account, role: str, agency_id: int) -> int:
        return client.post("/v1/accounts", headers=who.headers, json={
            "name": f"{role}-{agency_id}-{who.name}", "role": role,
            "agency_id": agency_id}).status_code

    # A platform admin belongs to the hotline: anywhere else is a 422 naming the role.
    wrong = client.post("/v1/accounts", headers=admin.headers, json={
        "name": "cop-root", "role": "platform_admin", "agency_id": police})
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "role"
    assert create(admin, "platform_admin", hotline) == 201
    assert create(admin, "agency_admin", police) == 201
    # An agency admin makes accounts in its own agency, never a platform admin.
    assert create(agency_admin, "advocate", hotline) == 201
    assert create(agency_admin, "agency_admin", hotline) == 201
    assert create(agency_admin, "platform_admin", hotline) == 403
    assert create(agency_admin, "advocate", police) == 403

    # PATCH: the same rules; and a platform admin's account is for platform admins only.
    cop = make.account(Role.ADVOCATE, agency="Metro Police")
    promote = client.patch(f"/v1/accounts/{cop.id}", json={"role": "platform_admin"},
                           headers={**admin.headers, "If-Match": '"1"'})
    assert promote.status_code == 422 and promote.json()["errors"][0]["field"] == "role"
    assert client.patch(f"/v1/accounts/{cop.id}", json={"disabled": True}, headers={
        **agency_admin.headers, "If-Match": '"1"'}).status_code == 404
    colleague = make.account(Role.ADVOCATE)
    assert client.patch(f"/v1/accounts/{colleague.id}", json={"role": "platform_admin"},
                        headers={**agency_admin.headers, "If-Match": '"1"'}).status_code == 403
    assert client.patch(f"/v1/accounts/{colleague.id}", json={"role": "case_manager"},
                        headers={**agency_admin.headers, "If-Match": '"1"'}).status_code == 200
    assert client.patch(f"/v1/accounts/{admin.id}", json={"disabled": True}, headers={
        **agency_admin.headers, "If-Match": '"1"'}).status_code == 403
    tokens = f"/v1/accounts/{admin.id}/tokens"
    assert client.get(tokens, headers=agency_admin.headers).status_code == 403
    assert client.post(tokens, json={"ttl_days": 1},
                       headers=agency_admin.headers).status_code == 403
    token_id = client.get(tokens, headers=admin.headers).json()[0]["id"]
    assert client.delete(f"/v1/tokens/{token_id}",
                         headers=agency_admin.headers).status_code == 404
    mine = f"/v1/accounts/{colleague.id}/tokens"
    assert client.post(mine, json={"ttl_days": 1},
                       headers=agency_admin.headers).status_code == 201


def test_platform_wide_operations_are_for_platform_admins(
        client: TestClient, admin: Account, agency_admin: Account) -> None:
    agencies = client.get("/v1/agencies", headers=agency_admin.headers).json()
    assert [a["id"] for a in agencies] == [agency_admin.agency_id]
    org = {"name": "Law Project", "lat": 29.7, "lon": -95.3, "city": "Houston", "state": "TX",
           "timezone": "America/Chicago", "services": [{"service_type": "legal", "name": "x"}],
           "areas": [{"kind": "state", "state": "TX"}]}
    for method, url, body in (
            ("POST", "/v1/agencies", {"name": "New", "kind": "hotline"}),
            ("GET", "/v1/audit", None), ("GET", "/v1/unmet-need", None),
            ("POST", "/v1/directory/organizations", org),
            ("POST", "/v1/directory/hsds?dry_run=true", []),
            ("POST", "/v1/interop/hsds/services?dry_run=true", [])):
        refused = client.request(method, url, json=body, headers=agency_admin.headers)
        assert refused.status_code == 403, (url, refused.text)
        allowed = client.request(method, url, json=body, headers=admin.headers)
        assert allowed.is_success, (url, allowed.text)
