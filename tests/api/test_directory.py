"""The partner directory over HTTP: registration, roles, search, HSDS, and national scale."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from fixtures.network import generate_directory, load_directory
from network.directory.hsds import parse_directory
from network.directory.search import DirectoryQuery, find_matches
from tests.support import Account, AccountFactory, needs_shared_data

EXAMPLES = (Path(__file__).resolve().parents[3] / "shared" / "data"
            / "openreferral_hsds_examples" / "hsds3_spec_examples")


def org_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Houston Survivors' Law Project", "specialisation": "both",
        "lat": 29.7633, "lon": -95.3633, "city": "Houston", "state": "TX",
        "county": "Harris County", "timezone": "America/Chicago",
        "languages": ["en", "es"], "phone": "(713) 555-0100",
        "email": "intake@hslp.example.org", "website": "https://hslp.example.org",
        "services": [{"service_type": "legal", "name": "T visa and vacatur"},
                     {"service_type": "immigration", "name": "Immigration relief"}],
        "areas": [{"kind": "city", "state": "TX", "city": "Houston"}],
    }
    body.update(overrides)
    return body


def _errors(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


def test_admins_register_and_anyone_reads(client: TestClient, admin: Account,
                                          make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    refused = client.post("/v1/directory/organizations", json=org_body(),
                          headers=advocate.headers)
    assert refused.status_code == 403
    made = client.post("/v1/directory/organizations", json=org_body(), headers=admin.headers)
    assert made.status_code == 201, made.text
    org = made.json()
    # A city without its own point is placed at its GeoNames point, 15 km around it.
    assert org["areas"][0]["radius_km"] == 15 and org["areas"][0]["lat"] is not None
    got = client.get(f"/v1/directory/organizations/{org['id']}", headers=advocate.headers)
    assert got.status_code == 200 and got.json()["services"][1]["service_type"] == "immigration"
    assert client.get("/v1/directory/organizations/999999",
                      headers=advocate.headers).status_code == 404
    assert client.get("/v1/directory/services?state=TX").status_code == 401


def test_bad_input_names_the_field(client: TestClient, admin: Account) -> None:
    bad = org_body(services=[{"service_type": "astrology", "name": "x"}])
    assert "body.services.0.service_type" in _errors(
        client.post("/v1/directory/organizations", json=bad, headers=admin.headers))
    assert "query.service" in _errors(
        client.get("/v1/directory/services?state=TX&service=astrology", headers=admin.headers))
    assert _errors(client.get("/v1/directory/services", headers=admin.headers)) == ["near"]
    assert _errors(client.get("/v1/directory/services?near=north",
                              headers=admin.headers)) == ["near"]
    assert "query.limit" in _errors(client.get("/v1/directory/services?state=TX&limit=101",
                                               headers=admin.headers))
    law = org_body(kind="law_enforcement")
    assert _errors(client.post("/v1/directory/organizations", json=law,
                               headers=admin.headers)) == ["body"]


def test_search_by_point_city_state_language_and_hours(client: TestClient,
                                                       admin: Account) -> None:
    h = admin.headers
    client.post("/v1/directory/organizations", json=org_body(), headers=h)
    office = {"mon": [["09:00", "09:01"]]}  # open one minute a week: closed now, almost surely
    client.post("/v1/directory/organizations", headers=h, json=org_body(
        name="Texas Crime Victims Fund", languages=["en"], hours={"windows": office},
        services=[{"service_type": "victim_compensation", "name": "Compensation"}],
        areas=[{"kind": "state", "state": "TX"}]))
    client.post("/v1/directory/organizations", headers=h, json=org_body(
        name="National Interpreters", lat=38.9, lon=-77.03, city="Washington", state="DC",
        services=[{"service_type": "interpretation", "name": "Phone interpreting"}],
        areas=[{"kind": "national"}], languages=["en", "es", "vi"]))
    client.post("/v1/directory/organizations", headers=h, json=org_body(
        name="Dallas Legal", lat=32.78, lon=-96.8, city="Dallas",
        areas=[{"kind": "radius", "lat": 32.78, "lon": -96.8, "radius_km": 50}]))

    def names(**params: Any) -> list[str]:
        found = client.get("/v1/directory/services", params=params, headers=h)
        assert found.status_code == 200, found.text
        return [item["organization"]["name"] + ":" + item["service"]["service_type"]
                for item in found.json()["items"]]

    near = names(near="29.76,-95.37")
    assert near == ["Houston Survivors' Law Project:legal",
                    "Houston Survivors' Law Project:immigration",
                    "Texas Crime Victims Fund:victim_compensation",
                    "National Interpreters:interpretation"]
    assert names(city="Houston", state="TX", service="legal") == [
        "Houston Survivors' Law Project:legal"]
    assert names(near="32.78,-96.80", service="legal") == ["Dallas Legal:legal"]
    assert "Dallas Legal:legal" in names(state="TX")
    assert names(near="29.76,-95.37", language="vi") == ["National Interpreters:interpretation"]
    assert "Texas Crime Victims Fund:victim_compensation" not in names(near="29.76,-95.37",
                                                                       open_now=True)
    assert names(near="40.71,-74.0", service="legal") == []
    orgs = client.get("/v1/directory/organizations", params={"state": "TX", "limit": 2},
                      headers=h).json()
    assert orgs["total"] == 4 and len(orgs["items"]) == 2


def _spec(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text())


@needs_shared_data(EXAMPLES)
def test_hsds_spec_examples_import_once_and_export(client: TestClient, admin: Account) -> None:
    h = admin.headers
    document = _spec("organization_full.json")
    refused = client.post("/v1/directory/hsds", json=document, headers=h)
    fields = set(_errors(refused))
    assert {"locations[0].latitude", "locations[0].addresses[0].state_province"} <= fields
    fixed = copy.deepcopy(document)
    fixed["locations"][0].update(latitude=29.76, longitude=-95.37)
    fixed["locations"][0]["addresses"][0].update(city="Houston", state_province="Texas")
    dry = client.post("/v1/directory/hsds?dry_run=true", json=fixed, headers=h).json()
    assert dry["added"] == 1 and dry["dry_run"]
    done = client.post("/v1/directory/hsds", json=fixed, headers=h).json()
    assert done["added"] == 1
    again = client.post("/v1/directory/hsds", json=fixed, headers=h).json()
    assert again == {**again, "added": 0, "already_present": 1}
    exported = client.get("/v1/directory/hsds", headers=h).json()
    assert exported["total_items"] == 1
    org = exported["contents"][0]
    assert org["id"] == document["id"] and org["locations"][0]["addresses"][0]["city"] == "Houston"
    # "Community Counselling" has no Homeward type: it is read from its name.
    assert [s["attributes"][0]["value"] for s in org["services"]] == ["mental_health"]
    assert "ur" in [x["code"] for x in org["locations"][0]["languages"]]
    assert client.post("/v1/directory/hsds", json=fixed,
                       headers=Account(0, "x", Role.ADVOCATE, 0, "hw_bad").headers
                       ).status_code == 401


def test_hsds_round_trip_of_the_fixture(client: TestClient, admin: Account,
                                        services: Services) -> None:
    sample = generate_directory(0)[::40]
    with services.db.write_session() as session:
        from network.directory.service import add_organization

        for data in sample:
            add_organization(session, data)
        session.commit()
    exported = client.get("/v1/directory/hsds?per_page=100", headers=admin.headers).json()
    assert exported["total_items"] == len(sample)
    parsed = parse_directory(exported)
    assert parsed.warnings == []
    assert [p.model_dump() for p in parsed.organizations] == [s.model_dump() for s in sample]


def test_national_directory_search(services: Services) -> None:
    # Correctness only: load and search times are bench/network.py's to measure.
    with services.db.write_session() as session:
        added = load_directory(session, seed=0)
    assert added == len(generate_directory(0))
    with services.db.write_session() as session:
        assert load_directory(session, seed=0) == 0  # loading twice adds nothing
    with services.db.read_session() as session:
        for lat, lon in ((29.76, -95.37), (41.88, -87.63), (61.2, -149.9), (38.9, -77.03)):
            matches = find_matches(session, DirectoryQuery(lat=lat, lon=lon))
            scopes = [m.scope.value for m in matches]
            assert sum(s == "national" for s in scopes) == 12
            assert sum(s == "state" for s in scopes) >= 4  # FBI, HSI, AG, task force at least
        houston = find_matches(session, DirectoryQuery(lat=29.76, lon=-95.37,
                                                       kind=None, law_level=None))
        assert any(m.scope.value in ("city", "county") for m in houston)
