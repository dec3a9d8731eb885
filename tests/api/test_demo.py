"""`homeward demo` end to end: real DC shelters, one account per role, tokens that work."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import SHARED_DATA
from api.cli import app as cli
from api.config import Settings
from tests.conftest import TEST_KEY

UNION_STATION = "38.8973,-77.0063"


def test_demo_sets_up_accounts_and_dc_shelters(settings: Settings, client: TestClient) -> None:
    result = CliRunner().invoke(cli, ["demo", "--no-serve"], env={
        "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
    assert result.exit_code == 0, result.output
    if SHARED_DATA.is_dir():
        assert "Amtrak timetable: loaded" in result.output
        # The 2023 feed is re-dated to run today, and the demo says so (never silently).
        assert "NOTE: amtrak-2023 is re-dated" in result.output
    assert result.output.startswith("Homeward demo: web pages at http://127.0.0.1:8000/")
    accounts = re.findall(r"^\s+(demo-[a-z-]+)\s+(\S{16})\s+(hw_\S+)$", result.output,
                          re.MULTILINE)
    tokens = {name: token for name, _, token in accounts}
    assert set(tokens) == {"demo-platform-admin", "demo-agency-admin", "demo-advocate",
                           "demo-case-manager", "demo-shelter-coordinator"}

    def auth(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}

    youth = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=20&population=youth_12_17",
                       headers=auth("demo-advocate")).json()
    assert [i["shelter"]["name"] for i in youth["items"]] == ["Sasha Bruce Youthworks"]
    women = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=20&population=adult_women"
                       "&min_available=0", headers=auth("demo-advocate")).json()
    # A safe house's distance is shown rounded to 5 km, so only the others are checked in order.
    distances = [i["distance_km"] for i in women["items"] if not i["distance_rounded"]]
    assert len(distances) >= 3 and distances == sorted(distances)

    me = client.get("/v1/me", headers=auth("demo-shelter-coordinator")).json()
    assert me["role"] == "shelter_coordinator"
    runs = [i for i in client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=30"
                                  "&min_available=1&limit=100",
                                  headers=auth("demo-advocate")).json()["items"]
            if i["shelter"]["agency_id"] == me["agency_id"]]
    assert runs, "the demo coordinator should run DC shelters with open beds"
    shelter = runs[0]["shelter"]["id"]
    bed_type = next(b["bed_type"] for b in runs[0]["beds"] if b["available"] > 0)
    admitted = client.post(f"/v1/shelters/{shelter}/beds/{bed_type}/admit", json={"beds": 1},
                           headers=auth("demo-shelter-coordinator"))
    assert admitted.status_code == 200, admitted.text
    # The demo agency admin runs the coordinator's agency: its shelters, not the platform.
    assert client.get("/v1/me", headers=auth("demo-agency-admin")).json()["agency_id"] == \
        me["agency_id"]
    discharged = client.post(f"/v1/shelters/{shelter}/beds/{bed_type}/discharge",
                             json={"beds": 1}, headers=auth("demo-agency-admin"))
    assert discharged.status_code == 200, discharged.text
    assert client.get("/v1/audit", headers=auth("demo-agency-admin")).status_code == 403
    assert client.get("/v1/audit", headers=auth("demo-platform-admin")).status_code == 200

    # Every account signs in on the web with the passphrase printed beside it, from `/`.
    passwords = {name: password for name, password, _ in accounts}
    for name, password in passwords.items():
        web = TestClient(client.app)
        form = web.get("/")
        assert form.url.path == "/web/sign-in"
        page = web.post("/web/sign-in", data={
            "name": name, "password": password, "csrf_token": web.cookies.get("hw_signin"),
            "next": "/web/"})
        assert page.status_code == 200 and page.url.path != "/web/sign-in", name
        assert name in page.text
