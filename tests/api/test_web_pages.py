"""The web pages through TestClient: role checks, quick exit everywhere, headers, and each
page's main action (bed board moves and conflicts, plan generation and edits, batch holds,
travel search without ID)."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.web_support import sign_in
from tests.support import Account, AccountFactory, coordinator, shelter_body


def _shelter(client: TestClient, admin: Account, make: AccountFactory, **overrides: object
             ) -> int:
    agency = make.agency("Capital Shelter Network")
    created = client.post("/v1/shelters", json=shelter_body(agency, **overrides),
                          headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _available(page: str) -> int:
    found = re.search(r'data-testid="available-adult_female">(\d+)<', page)
    assert found
    return int(found.group(1))


def _notice(page: str) -> str:
    found = re.search(r'class="notice[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(" ".join(found.group(1).split())) if found else ""


def test_coordinator_admits_discharges_and_checks_in(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    coord = coordinator(make, [shelter_id])
    token = sign_in(client, services, coord.name, next_page="/web/board")
    assert _available(client.get("/web/board").text) == 20
    base = f"/web/board/{shelter_id}/beds/adult_female"
    for _ in range(2):
        page = client.post(f"{base}/admit", data={"csrf_token": token},
                           headers={"HX-Request": "true"})
        assert page.status_code == 200
    assert _available(page.text) == 18 and "Admitted 1 (Women)." in _notice(page.text)
    page = client.post(f"{base}/discharge", data={"csrf_token": token})
    assert _available(page.text) == 19
    page = client.post(f"{base}/verify", data={"csrf_token": token})
    assert "still accurate" in _notice(page.text)
    beds = client.get(f"/v1/shelters/{shelter_id}/beds/adult_female", headers=coord.headers)
    assert beds.json()["occupied"] == 1


def test_set_totals_shows_a_stale_version_plainly(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    coord = coordinator(make, [shelter_id])
    token = sign_in(client, services, coord.name, next_page="/web/board")
    form = {"csrf_token": token, "total": "25", "occupied": "4", "version": "1"}
    base = f"/web/board/{shelter_id}/beds/adult_female"
    client.post(f"{base}/admit", data={"csrf_token": token})  # someone else moves meanwhile
    stale = client.post(base, data=form)
    assert stale.status_code == 409
    assert "Not saved: the counts changed." in _notice(stale.text)
    assert 'value="25"' in stale.text and "<details open>" in stale.text
    fresh = client.post(base, data={**form, "version": "2"})
    assert fresh.status_code == 200
    assert "Saved: Women now 25 beds, 4 occupied." in _notice(fresh.text)
    assert _available(fresh.text) == 21


def test_coordinator_confirms_and_releases_holds(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    coord = coordinator(make, [shelter_id])
    advocate = make.account(Role.ADVOCATE)
    holds = [client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": f"C-{i}"}).json()["id"]
        for i in range(2)]
    token = sign_in(client, services, coord.name, next_page="/web/board")
    board = client.get("/web/board").text
    assert "C-0" in board and "C-1" in board and _available(board) == 18
    done = client.post(f"/web/board/{shelter_id}/holds/{holds[0]}/confirm",
                       data={"csrf_token": token})
    assert f"Hold {holds[0]} confirmed" in _notice(done.text)
    done = client.post(f"/web/board/{shelter_id}/holds/{holds[1]}/release",
                       data={"csrf_token": token})
    assert f"Hold {holds[1]} released" in _notice(done.text) and _available(done.text) == 19
    assert "No active holds." in done.text


def test_stale_counts_are_highlighted(client: TestClient, services: Services,
                                      make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make, stale_after_hours=1)
    coord = coordinator(make, [shelter_id])
    from sqlalchemy import update

    from core.clock import utcnow
    from logistics.shelters.models import BedInventory

    with services.db.write_session() as session:
        session.execute(update(BedInventory).values(
            updated_at=utcnow().replace(year=utcnow().year - 1)))
        session.commit()
    sign_in(client, services, coord.name, next_page="/web/board")
    board = client.get("/web/board").text
    assert 'class="stale"' in board and "Stale: please check in" in board


def test_coordinator_cannot_move_another_agencys_beds(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    mine = _shelter(client, admin, make)
    other = _shelter(client, admin, make, name="Elsewhere")
    coord = coordinator(make, [mine])
    token = sign_in(client, services, coord.name, next_page="/web/board")
    refused = client.post(f"/web/board/{other}/beds/adult_female/admit",
                          data={"csrf_token": token})
    assert refused.status_code in (403, 404)
    beds = client.get(f"/v1/shelters/{other}/beds/adult_female", headers=admin.headers)
    assert beds.json()["occupied"] == 0


@pytest.mark.parametrize(("role", "page", "allowed"), [
    (Role.ADVOCATE, "/web/board", False), (Role.SHELTER_COORDINATOR, "/web/cases", False),
    (Role.SHELTER_COORDINATOR, "/web/rescue", False), (Role.SHELTER_COORDINATOR, "/web/travel",
                                                        False),
    (Role.ADVOCATE, "/web/cases", True), (Role.CASE_MANAGER, "/web/travel", True),
    (Role.SHELTER_COORDINATOR, "/web/board", True), (Role.PLATFORM_ADMIN, "/web/board", True),
    (Role.AGENCY_ADMIN, "/web/board", True), (Role.AGENCY_ADMIN, "/web/travel", True)])
def test_role_checks(client: TestClient, services: Services, make: AccountFactory,
                     role: Role, page: str, allowed: bool) -> None:
    account = (coordinator(make, []) if role is Role.SHELTER_COORDINATOR
               else make.account(role))
    sign_in(client, services, account.name, next_page="/web/")
    response = client.get(page)
    assert response.status_code == (200 if allowed else 403)
    if not allowed:
        assert "Your role cannot use this page." in response.text


def test_home_sends_each_role_to_its_page(client: TestClient, services: Services,
                                          make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    sign_in(client, services, manager.name, next_page="/web/cases")
    assert client.get("/web/", follow_redirects=False).headers["location"] == "/web/cases"


def _case(client: TestClient, token: str, **fields: str) -> str:
    body = {"csrf_token": token, "case_ref": "C-1042", "members": "29F",
            "lat": "38.9007", "lon": "-77.0090", "languages": "en, es", **fields}
    created = client.post("/web/cases", data=body, follow_redirects=False)
    assert created.status_code == 303, _notice(created.text)
    return str(created.headers["location"])


def test_advocate_screens_generates_edits_and_renders_a_plan(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    _shelter(client, admin, make)
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    case_url = _case(client, token)
    case_page = client.get(case_url).text
    assert "Harbor House" in case_page and 'name="q_weapon_threat"' in case_page
    held = client.post(f"{case_url}/holds", data={
        "csrf_token": token, "shelter_id": re.findall(r'name="shelter_id" value="(\d+)"',
                                                      case_page)[0],
        "bed_type": "adult_female", "beds": "1"})
    assert held.status_code == 200 and "Held 1 bed(s)" in _notice(held.text)
    made = client.post(f"{case_url}/plan", data={
        "csrf_token": token, "q_weapon_threat": "yes", "q_has_safe_phone": "no",
        "q_age": "29", "q_money": "none", "language": "es"}, follow_redirects=False)
    assert made.status_code == 303, _notice(made.text)
    plan_url = made.headers["location"]
    plan = client.get(plan_url).text
    assert 'lang="es"' in plan and "Por qué:" not in plan  # the chrome stays English
    assert "Why:" in plan and "data-print" in plan
    step = re.search(r'action="(/web/plans/\d+/steps/[^"]+)"', plan)
    assert step
    edited = client.post(step.group(1), data={"csrf_token": token, "version": "1",
                                              "text": "Call the advocate at noon.",
                                              "priority": "1", "action": "save"})
    assert edited.status_code == 200 and "Step saved." in _notice(edited.text)
    assert "Call the advocate at noon." in edited.text and "version 2" in edited.text
    stale = client.post(step.group(1), data={"csrf_token": token, "version": "1",
                                             "text": "x", "action": "save"})
    assert stale.status_code == 412
    for query, media in (("format=html", "text/html"), ("format=pdf", "application/pdf"),
                         ("format=html&discreet=true", "text/html")):
        rendered = client.get(f"{plan_url}/render?{query}")
        assert rendered.status_code == 200 and rendered.headers["content-type"].startswith(media)
        assert rendered.headers["cache-control"] == "no-store"
    discreet = client.get(f"{plan_url}/render?format=html&discreet=true").text
    assert "Homeward" not in discreet.split("</title>")[0]
    sms = client.get(f"{plan_url}/sms")
    assert sms.status_code == 200 and '<pre class="sms">' in sms.text
    longer = client.get(f"{plan_url}/sms?max_segments=20")
    assert longer.status_code == 200 and 'name="max_segments"' in longer.text
    assert longer.text.count('<pre class="sms">') >= sms.text.count('<pre class="sms">')


def test_mass_rescue_of_twenty_households_places_holds(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    for i in range(3):
        _shelter(client, admin, make, name=f"House {i}", lat=38.90 + i * 0.02)
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/rescue")
    rows = "".join(f"R-{i:03},{20 + i}F,38.9{i % 10},-77.0{i % 7},,,en,no,\n"
                   for i in range(20))
    csv = "case_ref,members,lat,lon,city,state,languages,has_photo_id,needs\n" + rows
    found = client.post("/web/rescue", data={"csrf_token": token, "households": csv,
                                             "action": "match"})
    assert found.status_code == 200
    assert "Found places for 20 of 20 households." in _notice(found.text)
    assert 'id="map-data"' in found.text and 'id="hold-all"' in found.text
    held = client.post("/web/rescue", data={"csrf_token": token, "action": "hold"},
                       files={"file": ("households.csv", csv.encode())})
    assert "Held beds for 20 of 20 households." in _notice(held.text)
    assert len(re.findall(r"held</span>|held #\d+", held.text)) == 20
    total = sum(b["held"] for s in range(1, 4) for b in client.get(
        f"/v1/shelters/{s}/beds", headers=admin.headers).json())
    assert total == 20
    bad = client.post("/web/rescue", data={"csrf_token": token,
                                           "households": "case_ref,members\nX-1,abc\n"})
    assert bad.status_code == 422 and "1 problem(s)" in _notice(bad.text)
    listed = bad.text.split('id="row-errors"')[1].split("</ul>")[0]
    assert "<strong>line 2: members</strong>" in listed and "abc" not in listed


def test_case_manager_searches_without_id_and_chooses_a_trip(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    from tests.api.travel_support import load_year_round, tomorrow

    load_year_round(services)
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/travel")
    # The feed runs every day: the form starts tomorrow at 08:00 (UTC), a day it covers.
    start = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT08:00")
    assert f'value="{start}"' in client.get("/web/travel").text
    case_id = _case(client, token, lat="", lon="", city="Chicago", state="IL").rsplit("/", 1)[1]
    form = {"csrf_token": token, "case_id": case_id, "from_city": "Chicago",
            "from_state": "IL", "to_city": "Denver", "to_state": "CO",
            "depart_after": tomorrow().strftime("%Y-%m-%dT%H:%M"), "ages": "30, 9",
            "has_id": "yes"}
    with_id = client.post("/web/travel/search", data=form).text
    without = client.post("/web/travel/search", data={**form, "has_id": "no"}).text
    assert 'data-mode="air"' in with_id
    assert 'data-mode="air"' not in without and 'data-mode="rail"' in without
    # The form carries the option's itinerary id, never the itinerary itself.
    assert 'name="itinerary"' not in without
    chosen_id = html.unescape(re.findall(r'name="itinerary_id" value="([^"]+)"', without)[0])
    forged = client.post("/web/travel/plans", data={"csrf_token": token, "case_id": case_id,
                                                   "itinerary_id": chosen_id[:-4] + "AAAA"})
    assert forged.status_code == 422 and "itinerary_id" in _notice(forged.text)
    chosen = client.post("/web/travel/plans", data={"csrf_token": token, "case_id": case_id,
                                                    "itinerary_id": chosen_id},
                         follow_redirects=False)
    assert chosen.status_code == 303
    plan_url = chosen.headers["location"].split("?")[0]
    for status in ("approved", "booked"):
        page = client.post(f"{plan_url}/status", data={"csrf_token": token, "status": status,
                                                       "booking_references": "AMTK-1"})
        assert page.status_code == 200, _notice(page.text)
    assert 'data-status="booked">Booked<' in page.text
    assert re.search(r'class="badge (danger|warn)" data-state="(overdue|due|pending)"', page.text)


def test_every_page_has_the_quick_exit_and_safe_headers(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    _shelter(client, admin, make)
    pages = ["/web/sign-in"]
    for page in pages:
        response = client.get(page)
        assert 'id="quick-exit"' in response.text
    sign_in(client, services, admin.name, next_page="/web/board")
    token = sign_in(client, services, admin.name, next_page="/web/cases")
    case_url = _case(client, token)
    client.post(f"{case_url}/plan", data={"csrf_token": token, "q_weapon_threat": "no"})
    plan_id = client.get(case_url).text.split("/web/plans/")[1].split('"')[0]
    for page in ["/web/board", "/web/cases", case_url, f"/web/plans/{plan_id}",
                 f"/web/plans/{plan_id}/sms", "/web/rescue", "/web/travel"]:
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'id="quick-exit"' in response.text, page
        assert response.headers["cache-control"] == "no-store"
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert "<script>" not in response.text  # no inline scripts: the CSP would block them
    forbidden = client.post("/web/cases", data={"csrf_token": "wrong"})
    assert forbidden.status_code == 403 and 'id="quick-exit"' in forbidden.text


def test_static_files_are_served(client: TestClient) -> None:
    for path in ("/web/static/app.js", "/web/static/app.css", "/web/static/vendor/htmx.min.js",
                 "/web/static/vendor/leaflet/leaflet.js"):
        assert client.get(path).status_code == 200, path


def _map_data(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="map-data"[^>]*>(.*?)</script>',
                      page, re.S)
    assert found
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def test_the_rescue_map_draws_a_safe_house_only_as_its_public_cell(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    # A safe house whose staff signs in too: even they see only its cell on the shared map.
    exact = (38.91234, -77.01876)
    safe = _shelter(client, admin, make, name="Quiet Harbor", lat=exact[0], lon=exact[1],
                    confidential_location=True)
    _shelter(client, admin, make, name="Open Door", lat=38.95, lon=-77.05)
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/rescue")
    csv = ("case_ref,members,lat,lon,city,state,languages,has_photo_id,needs\n"
           + "".join(f"M-{i},30F,38.9{i},-77.0{i},,,en,no,\n" for i in range(1, 9)))
    found = client.post("/web/rescue", data={"csrf_token": token, "households": csv,
                                             "action": "match"})
    assert found.status_code == 200
    spec = _map_data(found.text)
    assert [c["label"].split(" (")[0] for c in spec["cells"]] == ["Quiet Harbor"]
    cell = spec["cells"][0]
    assert round(cell["north"] - cell["south"], 6) == 0.05  # the public grid cell, whole
    assert cell["south"] <= exact[0] <= cell["north"] and cell["west"] <= exact[1] <= cell["east"]
    assert all(s["label"].startswith("Open Door") for s in spec["shelters"])
    raw = found.text.split('id="map-data"')[1].split("</script>")[0]
    assert "38.91234" not in raw and "-77.01876" not in raw
    # lines go only to shelters drawn as points, never to a safe house
    drawn = {(s["lat"], s["lon"]) for s in spec["shelters"]}
    assert all(tuple(line[1]) in drawn for line in spec["lines"])
    assert spec["lines"] and 'data-legend=' in found.text and "safe-house" in found.text
    assert safe > 0


def test_the_offline_base_map_is_served_as_static_files(client: TestClient) -> None:
    states = client.get("/web/static/basemap/us-states.json")
    assert states.status_code == 200
    names = {f["properties"]["name"] for f in states.json()["features"]}
    assert {"Texas", "District of Columbia", "Alaska", "Hawaii"} <= names
    cities = client.get("/web/static/basemap/us-cities.json").json()
    assert {"name": "Houston", "state": "TX"}.items() <= next(
        c for c in cities if c["name"] == "Houston").items()
    assert client.get("/web/static/app.js").text.count("basemap/") >= 1


def test_the_travel_form_starts_on_a_day_the_stored_feeds_cover(
        client: TestClient, services: Services, make: AccountFactory, tmp_path: Path) -> None:
    from tests.api.test_travel_api import load_small

    load_small(services, tmp_path / "feed")  # runs in 2023 only
    manager = make.account(Role.CASE_MANAGER)
    sign_in(client, services, manager.name, next_page="/web/travel")
    # a week before the feed's end (issue 16): a search from the form gets answers
    assert 'value="2023-12-24T08:00"' in client.get("/web/travel").text
