"""Interoperability through HTTP: HSDS import (admins only, all or nothing), HSDS export that
never places a safe house, and the HIC-style CSV that never lists one."""

from __future__ import annotations

import copy
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.models import AgencyKind, Role
from tests.support import Account, AccountFactory, coordinator, require_shared_data, shelter_body

SPEC = (Path(__file__).resolve().parents[3] / "shared" / "data" / "openreferral_hsds_examples"
        / "hsds3_spec_examples")
HSDS = "/v1/interop/hsds/services"


def spec_service() -> dict[str, Any]:
    """The HSDS 3.0 spec example with real US geography and HSDS 3.1 capacities."""
    require_shared_data(SPEC)
    service: dict[str, Any] = json.loads((SPEC / "service_full.json").read_text())
    location = service["service_at_locations"][0]["location"]
    location["latitude"], location["longitude"] = 40.7128, -74.0060
    location["addresses"][0].update(state_province="NY", postal_code="10007")
    service["capacities"] = [
        {"id": "c1", "unit": {"id": "u1", "name": "beds"}, "maximum": 12, "available": 5,
         "updated": "2024-05-01T12:00:00.000Z"}]
    return service


def add_shelter(client: TestClient, admin: Account, agency_id: int,
                **overrides: object) -> int:
    response = client.post("/v1/shelters", headers=admin.headers,
                           json=shelter_body(agency_id, **overrides))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def export_all(client: TestClient, account: Account) -> list[dict[str, Any]]:
    response = client.get(HSDS, headers=account.headers, params={"per_page": 100})
    assert response.status_code == 200, response.text
    return list(response.json()["contents"])


def test_import_then_export_round_trips(client: TestClient, admin: Account) -> None:
    service = spec_service()
    response = client.post(HSDS, headers=admin.headers, json=service)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["agencies_created"], report["dry_run"]) == (1, 1, False)
    shelter_id = report["shelters"][0]["shelter_id"]

    shelter = client.get(f"/v1/shelters/{shelter_id}", headers=admin.headers).json()
    assert (shelter["name"], shelter["city"], shelter["state"]) == (
        "Community Counselling", "MyCity", "NY")
    beds = client.get(f"/v1/shelters/{shelter_id}/beds", headers=admin.headers).json()
    assert [(b["bed_type"], b["total"], b["available"]) for b in beds] == [("adult_any", 12, 5)]

    [exported] = export_all(client, admin)
    assert exported["organization"]["name"] == service["organization"]["name"]
    assert exported["name"] == service["name"] and exported["status"] == "active"
    location = exported["service_at_locations"][0]["location"]
    assert (location["latitude"], location["longitude"]) == (40.7128, -74.006)
    assert location["addresses"][0]["address_1"] == "1-30 Main Street"
    assert location["addresses"][0]["address_2"] == "MyVillage"
    assert [(c["unit"]["name"], c["maximum"], c["available"]) for c in exported["capacities"]] \
        == [("beds", 12, 5)]
    assert [lang["code"] for lang in exported["languages"]] == ["ur"]
    assert [(s["byday"], s["opens_at"], s["closes_at"]) for s in exported["schedules"]] == [
        ("TH,FR", "10:00", "18:00")]

    # The export imports back into another registry unchanged; here it is a repeat, skipped.
    again = client.post(HSDS, headers=admin.headers, json={"contents": [exported]}).json()
    assert again["created"] == 0 and "already registered" in again["skipped"][0]["message"]

    audit = client.get("/v1/audit", headers=admin.headers,
                       params={"object_type": "dataset", "object_id": "hsds"}).json()
    assert any(row["action"] == "interop.hsds_import" for row in audit)


def test_available_above_maximum_is_422_naming_the_field(client: TestClient,
                                                          admin: Account) -> None:
    service = spec_service()
    service["capacities"][0]["available"] = 13
    response = client.post(HSDS, headers=admin.headers, json=[service])
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "urn:homeward:problem:invalid-hsds"
    assert problem["errors"] == [{"field": "[0].capacities[0].available",
                                  "message": "available (13) cannot exceed maximum (12)"}]
    assert export_all(client, admin) == []


def test_import_is_all_or_nothing(client: TestClient, admin: Account) -> None:
    good, bad = spec_service(), spec_service()
    bad["name"] = "Second"
    bad["organization"] = {**bad["organization"], "name": "Another Org"}
    bad["service_at_locations"][0]["location"]["latitude"] = 100
    response = client.post(HSDS, headers=admin.headers, json=[good, bad])
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == [
        "[1].service_at_locations[0].location.latitude"]
    assert export_all(client, admin) == []
    agencies = client.get("/v1/agencies", headers=admin.headers).json()
    assert not any(a["name"] == "Another Org" for a in agencies)


def test_dry_run_writes_nothing(client: TestClient, admin: Account) -> None:
    response = client.post(HSDS, headers=admin.headers, json=spec_service(),
                           params={"dry_run": "true"})
    assert response.status_code == 200
    assert response.json()["created"] == 1 and response.json()["dry_run"] is True
    assert export_all(client, admin) == []


@pytest.mark.parametrize("role", [Role.ADVOCATE, Role.CASE_MANAGER, Role.SHELTER_COORDINATOR])
def test_only_admins_import(client: TestClient, make: AccountFactory, role: Role) -> None:
    caller = make.account(role)
    response = client.post(HSDS, headers=caller.headers, json=spec_service())
    assert response.status_code == 403
    assert client.post(HSDS, json=spec_service()).status_code == 401


def test_confidential_shelters_never_placed_or_listed(client: TestClient, admin: Account,
                                                      make: AccountFactory) -> None:
    agency = make.agency("Safe Homes", AgencyKind.SHELTER_ORGANISATION)
    open_id = add_shelter(client, admin, agency, name="Harbor House", beds=[
        {"bed_type": "adult_female", "total": 20, "occupied": 1},
        {"bed_type": "youth", "total": 2, "occupied": 0}])
    safe_ids = [add_shelter(client, admin, agency, name=f"Secret Safe House {i}",
                            confidential_location=True, lat=38.9101 + i / 1000,
                            street_address=f"{700 + i} Hidden Lane", zip_code="20002",
                            beds=[{"bed_type": "adult_female", "total": 6, "occupied": 2}])
                for i in range(3)]
    lone = add_shelter(client, admin, agency, name="Lonely Refuge", confidential_location=True,
                       state="VT", city="Burlington", lat=44.4759, lon=-73.2121,
                       street_address="1 Quiet Road", timezone="America/New_York",
                       zip_code="05401", beds=[{"bed_type": "family_unit", "total": 2,
                                                "occupied": 1, "max_household": 5}])
    staff = coordinator(make, [*safe_ids, lone], agency="Safe Homes")

    for account in (admin, staff, make.account(Role.ADVOCATE)):
        services = export_all(client, account)
        assert len(services) == 5
        text = json.dumps(services)
        assert "Hidden Lane" not in text and "Quiet Road" not in text
        assert "20002" not in text and "05401" not in text and "44.47" not in text
        for service in services:
            location = service["service_at_locations"][0]["location"]
            flagged = any(a["taxonomy_term"]["code"] == "confidential_location"
                          and a["value"] == "true" for a in service["attributes"])
            if service["name"] == "Harbor House":
                assert not flagged and location["latitude"] == 38.9007
                assert location["addresses"][0]["address_1"] == "425 2nd St NW"
            else:
                assert flagged and "latitude" not in location and "longitude" not in location
                assert location["name"] == "Confidential location"
                assert location["addresses"][0]["address_1"] == ""

    response = client.get("/v1/exports/hic.csv", headers=staff.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "Secret Safe House" not in response.text and "Lonely Refuge" not in response.text
    assert "Hidden Lane" not in response.text and "VT" not in response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    harbor = next(r for r in rows if r["Project Name"] == "Harbor House")
    assert (harbor["Beds HH w/o Children"], harbor["Beds HH w/ only Children"],
            harbor["Occupied Beds"]) == ("20", "<3", "<3")
    dc = next(r for r in rows if r["State"] == "DC" and r["Confidential"] == "yes")
    assert (dc["Organization Name"], dc["Shelters"], dc["Beds HH w/o Children"],
            dc["Occupied Beds"]) == ("", "3", "18", "6")
    pooled = next(r for r in rows if r["State"] == "multiple")
    assert pooled["Shelters"] == "<3" and pooled["Units HH w/ Children"] == "suppressed"
    assert open_id and len(rows) == 3


def test_export_pages_and_exported_counts_track_holds(client: TestClient,
                                                       admin: Account,
                                                       make: AccountFactory) -> None:
    agency = make.agency("Capital Shelter Network", AgencyKind.SHELTER_ORGANISATION)
    ids = [add_shelter(client, admin, agency, name=f"Shelter {i}") for i in range(3)]
    advocate = make.account(Role.ADVOCATE)
    hold = client.post(f"/v1/shelters/{ids[0]}/holds", headers=advocate.headers,
                       json={"bed_type": "adult_female", "beds": 2, "case_ref": "C-1"})
    assert hold.status_code == 201, hold.text
    page = client.get(HSDS, headers=advocate.headers, params={"per_page": 2, "page": 2}).json()
    assert (page["total_items"], page["total_pages"], page["page_number"], page["size"]) == (
        3, 2, 2, 1)
    assert page["last_page"] and not page["first_page"]
    first = client.get(HSDS, headers=advocate.headers, params={"per_page": 1}).json()
    assert first["contents"][0]["capacities"][0]["available"] == 18
    assert client.get(HSDS, headers=advocate.headers,
                      params={"per_page": 101}).status_code == 422


def test_unknown_units_and_shapes_are_named(client: TestClient, admin: Account) -> None:
    service = copy.deepcopy(spec_service())
    service["capacities"][0]["unit"] = {"id": "u", "name": "hours"}
    response = client.post(HSDS, headers=admin.headers, json=service)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "capacities[0].unit"
    assert client.post(HSDS, headers=admin.headers, json=[1]).status_code == 422
