"""Case work end to end in headless Chromium: intake with an exclusion zone, mass rescue with
exclusions, and the one case page.

An advocate opens a case as on a call (a zone typed wrong first, its error shown beside the
field), the matcher leaves out the shelter inside the zone, and the hold shows on the case
page with its time left; the edit form refuses a version changed meanwhile. A mass rescue CSV
with per-household zones and a shared raid site places holds, none inside any zone. A case
manager's case page shows the holds, travel plans and check-ins the API would show. Pages are
checked with axe-core in English and Spanish and on a phone-sized screen.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.browser import test_pages_in_chromium as chromium
from tests.support import Account, AccountFactory

pytestmark = chromium.pytestmark
# The same server and browser fixtures and checks as the other pages' journeys.
site, sync_api = chromium.site, chromium.sync_api
_check, _shelter, _sign_in = chromium._check, chromium._shelter, chromium._sign_in
# A form sent back with its errors is answered 422 or 412 (as the API answers), which Chromium
# reports on the console as a failed load, and after such a page it asks for /favicon.ico
# (there is none): those are expected, nothing else is.
REFUSED = re.compile(r"^Failed to load resource: the server responded with a status of "
                     r"(422|412|404)\b")


def _unexpected(message: Any) -> bool:
    if message.type != "error":
        return False
    url = str(message.location.get("url", ""))
    expected = REFUSED.match(message.text) and (
        url.endswith("/favicon.ico") or (" 404 " not in message.text and "/web/" in url))
    return not expected


@pytest.fixture
def page(site: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium.CHROMIUM),
                                             args=chromium.ARGS)
        context = browser.new_context(viewport={"width": 1100, "height": 800},
                                      bypass_csp=True, base_url=site, accept_downloads=True)
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if _unexpected(m) else None)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        assert errors == []  # no script error and no CSP refusal on any page
        context.close()
        browser.close()


def _case_id(page: Any) -> int:
    found = re.search(r"/web/cases/(\d+)", page.url)
    assert found, page.url
    return int(found.group(1))
PHONE = chromium.PHONE
DC = (38.9007, -77.0090)          # Harbor House, shelter_body's default
BALTIMORE = (39.2904, -76.6122)
ANNAPOLIS = (38.9784, -76.4922)


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (math.sin((la2 - la1) / 2) ** 2
         + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2)
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


def _fits_phone(page: Any) -> None:
    """No sideways scrolling on a phone: the page is as wide as the screen."""
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_intake_with_an_exclusion_zone_then_match_and_hold(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    _shelter(client, admin, make)  # Harbor House, DC: inside the zone
    _shelter(client, admin, make, name="Bay House", lat=BALTIMORE[0], lon=BALTIMORE[1],
             street_address="1 Light St", city="Baltimore", state="MD", zip_code="21202")
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.get_by_role("heading", name="Cases and safety plans").wait_for()
    form = page.locator("#new-case")
    form.get_by_label("Case reference").fill("Z-100")
    form.get_by_label("Household", exact=True).fill("29F")
    form.get_by_label("Trafficking type").select_option("labor")
    form.get_by_label("Urgency").select_option("5")
    form.get_by_label("Languages").fill("en, es")
    form.get_by_label("Latitude").fill("38.90")
    form.get_by_label("Longitude").fill("-77.03")
    form.get_by_label("Has a photo ID").check()
    form.get_by_label("Notes").fill("Calls only after 6 pm.")
    # A click on the map adds a zone there (the textarea stays the form's truth).
    zones = form.get_by_label("Zones, one per line")
    page.locator("#new-case-map").click(position={"x": 150, "y": 100})
    assert len(zones.input_value().strip().splitlines()) == 1
    zones.fill(f"{DC[0]}, {DC[1]}, 0")  # a zero radius: the API's own message, by the field
    form.get_by_label("Case reference").press("Enter")  # keyboard only
    error = page.locator("#new-case-err-exclusion_points")
    sync_api.expect(error).to_contain_text("greater than 0")
    assert zones.get_attribute("aria-invalid") == "true"
    assert "new-case-err-exclusion_points" in (zones.get_attribute("aria-describedby") or "")
    assert form.get_by_label("Notes").input_value() == "Calls only after 6 pm."  # kept
    _check(page, "case_intake_errors", scroll_to="#new-case-exclusion_points")
    zones.fill(f"{DC[0]}, {DC[1]}, 10")
    form.get_by_label("Cities to avoid").fill("Richmond, VA")
    form.get_by_label("States to avoid").fill("de")
    form.get_by_role("button", name="Open case").click()
    page.get_by_role("heading", name="Case Z-100").wait_for()
    assert "10 km around 38.9007, -77.009" in page.locator("#case-zones").inner_text()
    assert "DE" in page.locator("#case-zones").inner_text()
    # The matcher leaves out the shelter inside the zone; the one outside can be held.
    assert page.get_by_role("button", name="Hold: Harbor House").count() == 0
    page.get_by_role("button", name="Hold: Bay House").focus()
    page.keyboard.press("Enter")  # keyboard only
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Held 1 bed(s)")
    row = page.locator("#case-holds tbody tr").first
    sync_api.expect(row).to_contain_text("Bay House")
    sync_api.expect(row.locator(".time-left")).to_contain_text("h")
    assert row.get_by_role("button", name="Release").is_visible()
    _check(page, "case_page")
    # Edit with the version read: a change made meanwhile (through the API) is refused.
    case_id = _case_id(page)
    page.locator("#edit-case-title").scroll_into_view_if_needed()
    page.get_by_text("Change the case's details").click()
    changed = client.patch(f"/v1/cases/{case_id}", json={"urgency": 4},
                           headers={**advocate.headers, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    edit = page.locator("#edit-case")
    edit.get_by_label("Notes").fill("Safe to call any time.")
    edit.get_by_role("button", name="Save case").click()
    sync_api.expect(page.locator(".notice.error")).to_contain_text("changed this case meanwhile")
    page.get_by_text("Change the case's details").click()
    edit.get_by_label("Notes").fill("Safe to call any time.")
    edit.get_by_role("button", name="Save case").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Case saved.")
    assert client.get(f"/v1/cases/{case_id}", headers=advocate.headers).json()["notes"] == (
        "Safe to call any time.")
    # Release from the case page, by keyboard.
    page.locator("#case-holds").get_by_role("button", name="Release").focus()
    page.keyboard.press("Enter")
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("released")
    # The same page in Spanish and on a phone.
    page.goto(f"/web/language?to=es&next=/web/cases/{case_id}")
    page.get_by_role("heading", name="Caso Z-100").wait_for()
    assert page.get_by_role("heading", name="Reservas").is_visible()
    _fits_phone(page)
    _check(page, "case_page_es_phone")
    page.goto("/web/cases")  # the intake form too, in Spanish on the phone
    page.get_by_role("heading", name="Nuevo caso").wait_for()
    _fits_phone(page)
    _check(page, "cases_es_phone")


def _write_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def test_mass_rescue_with_exclusions_places_no_one_inside_a_zone(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    where = {"Harbor House": DC, "Bay House": BALTIMORE, "Annapolis House": ANNAPOLIS}
    ids = {name: _shelter(client, admin, make, name=name, lat=lat, lon=lon)
           for name, (lat, lon) in where.items()}
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.goto("/web/rescue")
    with page.expect_download() as got:
        page.get_by_role("link", name="Download the CSV template").click()
    with open(got.value.path(), encoding="utf-8") as template:
        header = template.readline().strip()
    assert header.endswith("exclude_lat,exclude_lon,exclude_radius_km")
    # Per-row errors: each bad row is named by its line, nothing is run.
    page.get_by_label("Households as CSV").fill(
        header + "\nB-1,29X,38.9,-77.0,,,en,no,,,,\nB-2,30F,38.9,-77.0,,,en,no,,39.29,,5\n")
    page.get_by_role("button", name="Find placements").click()
    errors = page.locator("#row-errors")
    sync_api.expect(errors).to_contain_text("line 2")
    sync_api.expect(errors).to_contain_text("line 3")
    rows = []
    for i in range(12):
        row = {"case_ref": f"X-{i:03}", "members": f"{20 + i}F", "lat": "38.91",
               "lon": f"-77.0{i % 5}", "city": "", "state": "", "languages": "en",
               "has_photo_id": "no", "needs": "", "exclude_lat": "", "exclude_lon": "",
               "exclude_radius_km": ""}
        if i % 2 == 0:  # half must stay out of Annapolis, the nearest once DC is out
            row.update(exclude_lat=str(ANNAPOLIS[0]), exclude_lon=str(ANNAPOLIS[1]),
                       exclude_radius_km="15")
        rows.append(row)
    text = _write_csv(rows)
    page.get_by_label("Households as CSV").fill(text)
    raid = page.get_by_role("group", name="Raid site")
    raid.get_by_label("Latitude").fill(str(DC[0]))
    raid.get_by_label("Longitude").fill(str(DC[1]))
    raid.get_by_label("Radius (km)").fill("3")
    page.get_by_role("button", name="Find placements").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("12 of 12")
    page.get_by_role("button", name="Place all holds").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Held beds for 12 of 12")
    _check(page, "mass_rescue_exclusions", scroll_to="#placements-title")
    held = client.get("/v1/holds", params={"mine": "true", "limit": 100},
                      headers=advocate.headers).json()
    assert len(held) == 12
    by_id = {v: where[k] for k, v in ids.items()}
    zones_of = {r["case_ref"]: [(DC, 3.0)] + ([(ANNAPOLIS, 15.0)] if r["exclude_lat"] else [])
                for r in rows}
    for hold in held:
        shelter = by_id[hold["shelter_id"]]
        for centre, radius in zones_of[hold["case_ref"]]:
            assert _km(shelter, centre) > radius, (hold["case_ref"], hold["shelter_id"])
    # Without the zones every household would go to Harbor House, the nearest.
    assert {h["shelter_id"] for h in held} == {ids["Bay House"], ids["Annapolis House"]}
    _fits_phone(page)
    _check(page, "mass_rescue_phone")


def test_case_page_shows_holds_travel_plans_and_check_ins(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    from tests.api.travel_support import load_year_round, search, tomorrow

    shelter_id = _shelter(client, admin, make)
    manager = make.account(Role.CASE_MANAGER)
    opened = client.post("/v1/cases", json={
        "case_ref": "P-9", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "sex", "location": {"city": "Chicago", "state": "IL"}},
        headers=manager.headers)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", json={
        "bed_type": "adult_female", "case_ref": "P-9", "ttl_minutes": 120},
        headers=manager.headers)
    assert hold.status_code == 201, hold.text
    load_year_round(services)
    option = search(client, manager, tomorrow())[0]
    plan = client.post("/v1/travel-plans", json={"case_id": case_id,
                                                 "itinerary_id": option["itinerary_id"]},
                       headers=manager.headers)
    assert plan.status_code == 201, plan.text
    _sign_in(page, services, manager.name)
    page.goto(f"/web/cases/{case_id}")
    page.get_by_role("heading", name="Case P-9").wait_for()
    holds = page.locator("#case-holds")
    sync_api.expect(holds).to_contain_text(f"#{hold.json()['id']}")
    sync_api.expect(holds.locator(".time-left")).to_contain_text("1 h")
    trip = page.get_by_role("link", name=f"Travel plan {plan.json()['id']}")
    assert trip.is_visible()
    assert page.locator(".check-ins li").count() == len(plan.json()["check_ins"]) >= 1
    assert page.get_by_role("link", name="Plan travel home").is_visible()
    _check(page, "case_page_travel", scroll_to="#trips-title")
    trip.click()
    page.get_by_role("heading", level=1, name="Travel plan").wait_for()
