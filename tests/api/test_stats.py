"""Statistics releases over HTTP: publish a closed period, read it unchanged, CSV, charts,
noisy tables and their budget, and who may do what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from api.deps import Services
from core.models import Role
from logistics.beds.models import BedHold, UnmetNeed
from logistics.cases.models import Case
from network.tips.models import Tip
from tests.conftest import TEST_KEY
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


def _last_month() -> tuple[str, datetime]:
    first = datetime.now(UTC).date().replace(day=1)
    day = first - timedelta(days=1)
    return f"{day.year:04d}-{day.month:02d}", datetime(day.year, day.month, 10, tzinfo=UTC)


def _backdate(services: Services, at: datetime | None = None) -> str:
    """Move everything recorded so far into last month, or into the month of `at` (releases
    cover closed periods only)."""
    month, at = _last_month() if at is None else (at.strftime("%Y-%m"), at)
    with services.db.write_session() as session:
        session.execute(update(Case).values(created_at=at))
        session.execute(update(Tip).values(received_at=at))
        session.execute(update(Tip).where(Tip.routed_at.is_not(None))  # type: ignore[union-attr]
                        .values(routed_at=at))
        session.execute(update(BedHold).values(closed_at=at))
        session.execute(update(UnmetNeed).values(at=at))
        session.commit()
    return month


def _publish(client: TestClient, admin: Account, period: str, **extra: object) -> dict:
    response = client.post("/v1/stats/releases", json={"period": period, **extra},
                           headers=admin.headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def _by_state(body: dict, measure: str) -> dict[str, object]:
    """The measure by state, leaving out states where it is 0."""
    return {s: v for s, v in zip(body["states"], body["measures"][measure]["by_state"],
                                 strict=True) if v != 0}


def test_a_month_is_published_suppressed_and_read_by_anyone(
        client: TestClient, services: Services, admin: Account, reader: Account) -> None:
    month = _backdate(services)
    body = _publish(client, admin, month)
    assert body["period"] == month and body["kind"] == "month" and body["months"] == [month]
    assert set(body["measures"]) == {"contacts", "cases", "survivors_served", "tips",
                                     "tips_routed", "placements", "trips_home", "unmet_need"}
    by_state = _by_state(body, "cases")
    assert by_state["CA"] == "<3" and by_state["OK"] == "<3" and by_state["TX"] == 10
    cases = body["measures"]["cases"]
    assert cases["total"] == 13 and cases["by_month"] == [13]
    assert body["measures"]["unmet_need"]["total"] == 3
    # One placement and one tip: each is a 1 and must not be readable anywhere.
    assert body["measures"]["placements"]["total"] == "<3"
    assert body["measures"]["tips"]["total"] == "<3"
    # contacts = tips + cases is published only where both are: 14 - 13 would give the tip.
    assert body["measures"]["contacts"]["total"] == "x"
    assert "SECRET-REF" not in str(body)
    read = client.get(f"/v1/stats/releases/{month}", headers=reader.headers)
    assert read.status_code == 200 and read.json() == body
    listed = client.get("/v1/stats/releases", headers=reader.headers).json()
    assert [r["period"] for r in listed] == [month]


def test_a_release_is_never_changed(client: TestClient, services: Services, admin: Account,
                                    reader: Account) -> None:
    month = _backdate(services)
    body = _publish(client, admin, month)
    again = client.post("/v1/stats/releases", json={"period": month}, headers=admin.headers)
    assert again.status_code == 409, again.text
    # A case entered later with a date in that month changes nothing published.
    _, at = _last_month()
    with services.db.write_session() as session:
        session.add(Case(agency_id=admin.agency_id, case_ref="LATE", urgency=3,
                         trafficking_type="sex", state="OK", created_at=at,
                         household_sealed=b"-", location_sealed=b"-",
                         exclusions_sealed=b"-", profile_sealed=b"-"))
        session.commit()
    assert client.get(f"/v1/stats/releases/{month}", headers=reader.headers).json() == body


def test_a_quarter_and_a_year_are_sums_of_their_months(
        client: TestClient, services: Services, admin: Account, reader: Account) -> None:
    _backdate(services, datetime(2025, 2, 10, tzinfo=UTC))
    january = _publish(client, admin, "2025-01")
    q = _publish(client, admin, "2025-Q1")
    assert q["kind"] == "quarter" and q["months"] == ["2025-01", "2025-02", "2025-03"]
    # Its other months were released with it; the one released before is read, not redone.
    listed = [r["period"] for r in client.get("/v1/stats/releases",
                                              headers=reader.headers).json()]
    assert listed == ["2025-01", "2025-02", "2025-03", "2025-Q1"]
    assert client.get("/v1/stats/releases/2025-01", headers=reader.headers).json() == january
    assert q["measures"]["cases"]["by_month"] == [0, 13, 0]
    assert q["measures"]["cases"]["total"] == 13
    # Every figure is the sum of its months', published only where all of them are.
    feb = client.get("/v1/stats/releases/2025-02", headers=reader.headers).json()
    assert _by_state(feb, "cases") == {"CA": "<3", "OK": "<3", "TX": 10}
    assert _by_state(q, "cases") == {"CA": "x", "OK": "x", "TX": 10}
    year = _publish(client, admin, "2025")
    assert year["kind"] == "year" and len(year["measures"]["cases"]["by_month"]) == 12
    assert year["measures"]["cases"]["total"] == 13
    assert _by_state(year, "cases") == {"CA": "x", "OK": "x", "TX": 10}


def test_only_closed_fixed_periods_by_platform_admins(client: TestClient, admin: Account,
                                                      reader: Account) -> None:
    assert client.get("/v1/stats/releases").status_code == 401
    month, _ = _last_month()
    refused = client.post("/v1/stats/releases", json={"period": month},
                          headers=reader.headers)
    assert refused.status_code == 403
    today = datetime.now(UTC).date()
    for period in (f"{today.year:04d}-{today.month:02d}", str(today.year), "2025-13",
                   "2025-Q5", "last-week", "1999"):
        bad = client.post("/v1/stats/releases", json={"period": period},
                          headers=admin.headers)
        assert bad.status_code == 422, period
        assert bad.json()["errors"][0]["field"] == "period"
    assert client.get("/v1/stats/releases/2020-01", headers=reader.headers).status_code == 404
    # The old free windows and groupings are gone: nothing but releases can be read.
    assert client.get("/v1/stats?group_by=state", headers=reader.headers).status_code == 404
    assert client.get("/v1/stats.csv", headers=reader.headers).status_code == 404


def test_csv_and_charts_read_the_release(client: TestClient, services: Services,
                                         admin: Account, reader: Account) -> None:
    month = _backdate(services)
    _publish(client, admin, month)
    response = client.get(f"/v1/stats/releases/{month}/csv", headers=reader.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["period", "measure", "state", "trafficking_type", "month", "value",
                       "noisy"]
    assert [month, "cases", "OK", "all", "all", "<3", ""] in rows
    assert [month, "cases", "TX", "all", "all", "10", ""] in rows
    assert [month, "cases", "all", "all", "all", "13", ""] in rows
    svg = client.get(f"/v1/stats/releases/{month}/charts/states_ranked?format=svg"
                     "&measure=cases", headers=reader.headers)
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert ">TX<" in svg.text and ">10<" in svg.text and "OK (&lt;3)" in svg.text
    for name in ("monthly_trends", "states_ranked"):
        png = client.get(f"/v1/stats/releases/{month}/charts/{name}?format=png",
                         headers=reader.headers)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert client.get(f"/v1/stats/releases/{month}/charts/pie",
                      headers=reader.headers).status_code == 404
    assert client.get(f"/v1/stats/releases/{month}/charts/monthly_trends?format=gif",
                      headers=reader.headers).status_code == 422


def test_noisy_tables_spend_a_budget_the_code_enforces(
        client: TestClient, services: Services, admin: Account, reader: Account) -> None:
    month = _backdate(services)
    body = _publish(client, admin, month, noisy_epsilon=0.5)
    noisy = body["noisy"]
    assert noisy["label"].startswith("NOISY") and noisy["epsilon"] == 0.5
    assert body["privacy"] == {"epsilon_budget": 1.0, "epsilon_spent": 0.5}
    for table in noisy["measures"].values():
        # Totals are sums of the noisy cells, so every noisy table adds up.
        assert all(v >= 0 for row in table["cells"] for v in row)
        assert table["by_state"] == [sum(row) for row in table["cells"]]
        assert table["total"] == sum(table["by_state"]) == sum(table["by_type"])
    assert set(noisy["measures"]) == {"cases", "unmet_need"}
    # The suppressed tables are published too, unchanged by the noise.
    assert body["measures"]["cases"]["total"] == 13
    second = _publish(client, admin, month, noisy_epsilon=0.5)
    assert second["privacy"]["epsilon_spent"] == 1.0
    over = client.post("/v1/stats/releases", json={"period": month, "noisy_epsilon": 0.1},
                       headers=admin.headers)
    assert over.status_code == 409 and "budget" in over.json()["title"]
    too_big = client.post("/v1/stats/releases", json={"period": month, "noisy_epsilon": 5.0},
                          headers=admin.headers)
    assert too_big.status_code == 422
    rows = list(csv.reader(io.StringIO(client.get(
        f"/v1/stats/releases/{month}/csv", headers=reader.headers).text)))
    assert any(r[-1] == "noisy" for r in rows)
    not_month = client.post("/v1/stats/releases", json={"period": "2020",
                                                        "noisy_epsilon": 0.1},
                            headers=admin.headers)
    assert not_month.status_code == 422
    assert not_month.json()["errors"][0]["field"] == "noisy_epsilon"


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


def test_a_multi_state_tip_counts_once_in_the_row_multiple(
        client: TestClient, services: Services, multi: Account) -> None:
    month = _backdate(services)
    body = _publish(client, multi, month)
    tips = body["measures"]["tips"]
    assert tips["total"] == 5 and tips["by_month"] == [5]  # each tip once, not 6 touches
    assert body["measures"]["contacts"]["total"] == 8
    # OK 2, TX 2 and the two-state tip once in "multiple": the table adds up to its total.
    assert _by_state(body, "tips") == {"OK": "<3", "TX": "<3", "multiple": "<3"}
    assert "multiple" in body["notes"][2]
    rows = list(csv.reader(io.StringIO(client.get(
        f"/v1/stats/releases/{month}/csv", headers=multi.headers).text)))
    assert [month, "tips", "all", "all", "all", "5", ""] in rows
    assert [month, "tips", "multiple", "all", "all", "<3", ""] in rows


def test_a_case_located_by_coordinates_gets_its_state(client: TestClient, services: Services,
                                                      admin: Account) -> None:
    from tests.api.test_cases import case_body
    body = case_body()
    body["location"] = {"lat": 36.154, "lon": -95.993}  # Tulsa
    created = client.post("/v1/cases", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    month = _backdate(services)
    assert _publish(client, admin, month)["states"] == ["OK"]


def test_an_empty_period_is_released(client: TestClient, admin: Account) -> None:
    body = _publish(client, admin, "2020-01")
    assert body["states"] == [] and body["measures"]["cases"]["total"] == 0
    csv_text = client.get("/v1/stats/releases/2020-01/csv", headers=admin.headers)
    assert csv_text.status_code == 200, csv_text.text


def test_the_cli_publishes_a_release(client: TestClient, services: Services, admin: Account,
                                     reader: Account, settings: Settings) -> None:
    month = _backdate(services)
    env = {"HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY}
    result = CliRunner().invoke(cli, ["stats", "publish", month, "--noisy-epsilon", "0.25"],
                                env=env)
    assert result.exit_code == 0, result.output
    assert f"{month} published: cases 13" in result.output and "0.25 of 1" in result.output
    body = client.get(f"/v1/stats/releases/{month}", headers=reader.headers).json()
    assert body["measures"]["cases"]["total"] == 13 and body["noisy"]["epsilon"] == 0.25
    again = CliRunner().invoke(cli, ["stats", "publish", month], env=env)
    assert again.exit_code == 1 and "StatsReleaseExists" in again.output
