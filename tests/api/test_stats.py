"""Published statistics over HTTP: suppressed tables, CSV, charts, and who may read them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from logistics.beds.models import UnmetNeed
from logistics.cases.models import Case
from tests.support import Account, AccountFactory, shelter_body

CASES = [("TX", "sex")] * 6 + [("TX", "labor")] * 4 + [("OK", "sex")] + [("CA", "labor")] * 2


def _insert(services: Services, agency_id: int) -> None:
    with services.db.write_session() as session:
        for i, (state, kind) in enumerate(CASES):
            # Statistics read plain columns only, so the sealed ones can be placeholders here.
            session.add(Case(agency_id=agency_id, case_ref=f"SECRET-REF-{i}", urgency=3,
                             trafficking_type=kind, state=state, household_sealed=b"-",
                             location_sealed=b"-", exclusions_sealed=b"-",
                             profile_sealed=b"-"))
        session.add_all([UnmetNeed(state="TX", reason="no_beds", source="search")
                         for _ in range(3)])
        session.commit()


@pytest.fixture
def reader(client: TestClient, services: Services, admin: Account,
           make: AccountFactory) -> Account:
    _insert(services, admin.agency_id)
    shelter = client.post("/v1/shelters", json=shelter_body(admin.agency_id),
                          headers=admin.headers)
    assert shelter.status_code == 201, shelter.text
    hold = client.post(f"/v1/shelters/{shelter.json()['id']}/holds", headers=admin.headers,
                       json={"bed_type": "adult_female", "case_ref": "SECRET-REF-0"})
    assert client.post(f"/v1/holds/{hold.json()['id']}/confirm",
                       headers=admin.headers).status_code == 200
    ag = {"name": "Texas Attorney General", "kind": "law_enforcement",
          "law_body": "attorney_general", "lat": 30.27, "lon": -97.74, "city": "Austin",
          "state": "TX", "timezone": "America/Chicago", "areas": [{"kind": "state",
                                                                   "state": "TX"}]}
    assert client.post("/v1/directory/organizations", json=ag,
                       headers=admin.headers).status_code == 201
    tip = {"trafficking_type": "labor", "locations": [{"city": "Austin", "state": "TX"}],
           "venue": "agriculture", "consent": {"share_with_law_enforcement": True,
                                               "fields": ["trafficking_type"]}}
    assert client.post("/v1/tips", json=tip, headers=admin.headers).status_code == 201
    # Statistics are public-safe by construction: a shelter coordinator may read them.
    return make.account(Role.SHELTER_COORDINATOR, agency="Shelter Org")


def _period() -> str:
    today = datetime.now(UTC).date()
    return f"from={today.replace(day=1).isoformat()}&to={today.isoformat()}"


def test_one_way_table_hides_small_cells(client: TestClient, reader: Account) -> None:
    response = client.get(f"/v1/stats?group_by=state&{_period()}", headers=reader.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body["measures"]) == {"contacts", "cases", "survivors_served", "tips",
                                     "tips_routed", "placements", "trips_home", "unmet_need"}
    cases = body["measures"]["cases"]
    by_state = dict(zip(body["rows"], [c[0] for c in cases["cells"]], strict=True))
    assert by_state["CA"] == "<3" and by_state["OK"] == "<3" and by_state["TX"] == 10
    assert cases["total"] == 13
    assert body["measures"]["unmet_need"]["total"] == 3
    # One placement in DC, one tip in TX: each is a 1 and must not be readable anywhere.
    assert body["measures"]["placements"]["total"] == "<3"
    assert body["measures"]["tips_routed"]["total"] == "<3"
    assert body["measures"]["contacts"]["total"] == 14
    assert "SECRET-REF" not in response.text


def test_two_way_table_is_consistent_and_protected(client: TestClient,
                                                   reader: Account) -> None:
    response = client.get(f"/v1/stats?group_by=state,trafficking_type&{_period()}",
                          headers=reader.headers)
    body = response.json()
    cases = body["measures"]["cases"]
    columns = [c[0] for c in body["columns"]]
    assert {"labor", "sex"} <= set(columns)
    row = {state: dict(zip(columns, cells, strict=True))
           for state, cells in zip(body["rows"], cases["cells"], strict=True)}
    assert row["TX"]["sex"] in (6, "x") and row["OK"]["sex"] == "<3"
    # Every row and column that hides a figure hides at least two (with its total).
    for r, cells in enumerate(cases["cells"]):
        hidden = sum(isinstance(v, str) for v in [*cells, cases["row_totals"][r]])
        assert hidden != 1
    for j in range(len(columns)):
        column = [cells[j] for cells in cases["cells"]] + [cases["column_totals"][j]]
        assert sum(isinstance(v, str) for v in column) != 1


def test_csv_has_the_same_suppressed_figures(client: TestClient, reader: Account) -> None:
    response = client.get(f"/v1/stats.csv?group_by=state&{_period()}", headers=reader.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["measure", "state", "value"]
    assert ["cases", "OK", "<3"] in rows and ["cases", "all", "13"] in rows
    assert ["cases", "TX", "10"] in rows
    month = client.get(f"/v1/stats.csv?group_by=month,state&{_period()}",
                       headers=reader.headers)
    assert month.text.splitlines()[0] == "measure,month,state,value"


def test_charts_come_from_the_published_table(client: TestClient, reader: Account) -> None:
    svg = client.get(f"/v1/stats/charts/states_ranked?format=svg&measure=cases&{_period()}",
                     headers=reader.headers)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert "<svg" in svg.text and ">TX<" in svg.text and ">10<" in svg.text
    assert "OK (&lt;3)" in svg.text and "CA (&lt;3)" in svg.text
    for name in ("monthly_trends", "states_ranked"):
        png = client.get(f"/v1/stats/charts/{name}?format=png&{_period()}",
                         headers=reader.headers)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    trends = client.get("/v1/stats/charts/monthly_trends?format=svg&measure=cases"
                        "&measure=unmet_need", headers=reader.headers)
    assert trends.status_code == 200 and "unmet_need" in trends.text


def test_bad_requests(client: TestClient, reader: Account) -> None:
    assert client.get("/v1/stats").status_code == 401
    bad = client.get("/v1/stats?group_by=city", headers=reader.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "group_by"
    backwards = client.get("/v1/stats?from=2025-05-01&to=2025-01-01", headers=reader.headers)
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "from"
    assert client.get("/v1/stats/charts/pie", headers=reader.headers).status_code == 404
    gif = client.get("/v1/stats/charts/monthly_trends?format=gif", headers=reader.headers)
    assert gif.status_code == 422


def _case(agency_id: int, i: int, state: str | None) -> Case:
    return Case(agency_id=agency_id, case_ref=f"MULTI-{i}", urgency=3, trafficking_type="sex",
                state=state, household_sealed=b"-", location_sealed=b"-",
                exclusions_sealed=b"-", profile_sealed=b"-")


def _tip(client: TestClient, admin: Account, *states: str) -> None:
    cities = {"TX": "Austin", "OK": "Tulsa", "CA": "Fresno"}
    body = {"trafficking_type": "sex", "venue": "agriculture",
            "locations": [{"city": cities[s], "state": s} for s in states],
            "consent": {"share_with_law_enforcement": False, "fields": []}}
    response = client.post("/v1/tips", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text


@pytest.fixture
def multi(client: TestClient, services: Services, admin: Account) -> Account:
    """Five tips, one of them in two states (6 state touches), and three cases: 8 contacts."""
    with services.db.write_session() as session:
        session.add_all([_case(admin.agency_id, i, "TX") for i in range(3)])
        session.commit()
    _tip(client, admin, "TX", "OK")
    for state in ("TX", "TX", "OK", "OK"):
        _tip(client, admin, state)
    return admin


def test_a_multi_state_tip_counts_once_nationally(client: TestClient, multi: Account) -> None:
    for group_by in ("month", "trafficking_type", "venue"):
        body = client.get(f"/v1/stats?group_by={group_by}&{_period()}",
                          headers=multi.headers).json()
        assert body["measures"]["tips"]["total"] == 5, group_by
        assert body["measures"]["contacts"]["total"] == 8, group_by


def test_a_by_state_table_counts_each_state_and_says_so(client: TestClient,
                                                       multi: Account) -> None:
    body = client.get(f"/v1/stats?group_by=state&{_period()}", headers=multi.headers).json()
    tips = body["measures"]["tips"]
    by_state = dict(zip(body["rows"], [c[0] for c in tips["cells"]], strict=True))
    assert by_state["TX"] == 3 and by_state["OK"] == 3
    assert tips["total"] == 5  # distinct tips, not the 6 state touches
    assert body["counted_in_each_state"] == ["contacts", "tips", "tips_routed"]
    two = client.get(f"/v1/stats?group_by=month,state&{_period()}",
                     headers=multi.headers).json()
    assert two["measures"]["tips"]["total"] == 5
    assert two["measures"]["tips"]["row_totals"] == [5]
    assert two["measures"]["tips"]["column_totals"] == [3, 3]
    rows = list(csv.reader(io.StringIO(client.get(
        f"/v1/stats.csv?group_by=state&{_period()}", headers=multi.headers).text)))
    assert ["tips", "all", "5"] in rows and ["tips", "OK", "3"] in rows


def test_a_case_located_by_coordinates_gets_its_state(client: TestClient,
                                                      admin: Account) -> None:
    from tests.api.test_cases import case_body
    body = case_body()
    body["location"] = {"lat": 36.154, "lon": -95.993}  # Tulsa
    created = client.post("/v1/cases", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    stats = client.get(f"/v1/stats?group_by=state&{_period()}", headers=admin.headers).json()
    assert stats["rows"] == ["OK"]


@pytest.mark.parametrize("path", ["/v1/stats", "/v1/stats.csv"])
def test_two_dimension_tables_on_an_empty_window(client: TestClient, admin: Account,
                                                 path: str) -> None:
    response = client.get(f"{path}?group_by=state,trafficking_type&from=2020-01-01"
                          "&to=2020-01-31", headers=admin.headers)
    assert response.status_code == 200, response.text
