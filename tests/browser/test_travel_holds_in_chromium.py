"""Travel home and the hold lists in headless Chromium against `homeward serve` (issue 20).

A case manager searches a trip in the origin's local time with a place to avoid picked on the
map (and typed, the keyboard's way), books an option with a bed held at the destination, moves
the plan on with verb buttons and records a check-in; then releases a hold on "My holds" with
the keyboard alone. A coordinator on a phone-sized screen confirms a hold on "Holds on my beds",
in Spanish too. Every page is checked with axe-core (WCAG 2.1 A/AA) and screenshotted, with the
fixtures of `test_pages_in_chromium`.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.test_web_travel_holds import OMAHA_POINT, chicago_case
from tests.browser import test_pages_in_chromium as chromium
from tests.browser.test_pages_in_chromium import (  # noqa: F401 (fixtures)
    PHONE,
    _check,
    _sign_in,
    page,
    site,
)
from tests.support import Account, AccountFactory, coordinator, shelter_body

pytestmark = chromium.pytestmark
sync_api = chromium.sync_api


def _denver_shelter(client: TestClient, admin: Account, make: AccountFactory) -> int:
    body = shelter_body(make.agency("Front Range Shelters"), name="Mile High House",
                        lat=39.74, lon=-104.99, street_address="1 Main St", city="Denver",
                        state="CO", zip_code="80202", timezone="America/Denver")
    created = client.post("/v1/shelters", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_trip_with_an_avoided_point_a_destination_hold_and_check_ins(
        page: Any, client: TestClient, services: Services, make: AccountFactory,  # noqa: F811
        admin: Account) -> None:
    from tests.api.travel_support import load_year_round, tomorrow

    load_year_round(services)
    shelter_id = _denver_shelter(client, admin, make)
    manager = make.account(Role.CASE_MANAGER)
    made = client.post("/v1/cases", headers=manager.headers, json=chicago_case("T-88"))
    assert made.status_code == 201, made.text
    _sign_in(page, services, manager.name)
    page.goto(f"/web/travel?case_id={made.json()['id']}")
    page.get_by_label("From city").fill("Chicago")
    page.get_by_label("From state").fill("IL")
    page.get_by_label("To city").fill("Denver")
    page.get_by_label("To state").fill("CO")
    page.get_by_label("Leave after (local time at the origin)").fill(
        tomorrow().strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Travellers' ages").fill("30")
    page.get_by_label("Has a photo ID (needed to fly)").uncheck()
    # A click on the map adds a place with the chosen radius; the circle follows the text.
    sync_api.expect(page.locator("#avoid-map.leaflet-container")).to_have_count(1)
    page.get_by_label("Radius for a new place (km)").fill("30")
    page.locator("#avoid-map").click(position={"x": 200, "y": 120})
    points = page.get_by_label("Places to avoid (lat, lon, km)")
    assert re.fullmatch(r"-?\d+\.\d{4}, -?\d+\.\d{4}, 30", points.input_value())
    sync_api.expect(page.locator("#avoid-count")).to_have_text("1 places to avoid")
    sync_api.expect(page.locator("#avoid-map path.leaflet-interactive")).to_have_count(1)
    _check(page, "travel_search", scroll_to="#avoid-map")
    # The keyboard's way: type the place (Omaha, where the train stops) instead.
    points.fill(OMAHA_POINT)
    sync_api.expect(page.locator("#avoid-count")).to_have_text("1 places to avoid")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="Options").wait_for()
    assert page.locator(".option").count() >= 1
    assert page.locator('#book [data-mode="rail"]').count() == 0  # the train stops at Omaha
    assert "America/Chicago" in page.locator("#zone-help").inner_text()
    assert page.locator(".option li.wait").count() >= 1  # a transfer's wait is shown
    page.get_by_label("Shelter and beds").select_option(f"{shelter_id}:adult_female")
    _check(page, "travel_trip_options", scroll_to="#options-title")
    page.locator("#choose-1").click()
    page.get_by_role("heading", level=1, name=re.compile("Travel plan")).wait_for()
    assert page.locator("#plan-status").inner_text() == "Proposed"
    sync_api.expect(page.locator("#destination-hold")).to_contain_text("Mile High House")
    sync_api.expect(page.locator("#destination-hold")).to_contain_text("min left")
    page.get_by_role("button", name="Approve").click()
    sync_api.expect(page.locator("#plan-status")).to_have_text("Approved")
    page.get_by_label("Booking references").fill("AMTK-1, GRYH-2")
    page.get_by_role("button", name="Mark booked").click()
    sync_api.expect(page.locator("#plan-status")).to_have_text("Booked")
    assert page.get_by_role("button", name="Cancel trip").is_visible()
    first = page.locator("table.stack tbody tr").first
    first.get_by_role("textbox").fill("called from the station")
    first.get_by_role("button", name=re.compile("^Safe")).click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Check-in recorded")
    sync_api.expect(page.locator("table.stack tbody tr").first).to_contain_text(
        "called from the station")
    _check(page, "travel_trip_plan", scroll_to="#checkins-title")
    # My holds: the travel hold, released with the keyboard alone.
    page.goto("/web/holds/mine")
    page.get_by_role("heading", name="My holds").wait_for()
    assert page.locator("#holds tbody tr").count() == 1
    _check(page, "my_holds")
    release = page.locator("#holds button.danger").first
    for _ in range(60):  # Tab from the top of the page until the Release button has focus
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Release":
            break
    assert page.evaluate("document.activeElement.id") == release.get_attribute("id")
    page.keyboard.press("Enter")
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("released")
    sync_api.expect(page.get_by_text("No active holds.")).to_be_visible()
    beds = client.get(f"/v1/shelters/{shelter_id}/beds", headers=admin.headers).json()
    assert beds[0]["held"] == 0


def test_coordinator_on_a_phone_confirms_a_hold_on_their_beds(
        page: Any, client: TestClient, services: Services, make: AccountFactory,  # noqa: F811
        admin: Account) -> None:
    shelter_id = _denver_shelter(client, admin, make)
    coord = coordinator(make, [shelter_id], agency="Front Range Shelters")
    advocate = make.account(Role.ADVOCATE)
    held = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "beds": 2, "case_ref": "P-1", "ttl_minutes": 60})
    assert held.status_code == 201, held.text
    page.set_viewport_size(PHONE)
    _sign_in(page, services, coord.name)
    page.get_by_role("link", name="Holds on my beds").click()
    page.get_by_role("heading", name="Holds on my beds").wait_for()
    row = page.locator(f"#hold-{held.json()['id']}")
    sync_api.expect(row).to_contain_text("P-1")
    sync_api.expect(row).to_contain_text("min left")
    # On a phone the table is one block per hold: nothing runs off the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _check(page, "holds_on_my_beds_phone")
    page.get_by_role("link", name="Español").click()
    page.get_by_role("heading", name="Reservas de mis camas").wait_for()
    _check(page, "holds_on_my_beds_es")
    page.get_by_role("button", name=re.compile("P-1")).first.click()
    sync_api.expect(page.locator(".notice.ok")).to_be_visible()
    beds = client.get(f"/v1/shelters/{shelter_id}/beds", headers=admin.headers).json()
    assert beds[0]["occupied"] == 2 and beds[0]["held"] == 0
    # The bed board on the same phone: one more person admitted.
    page.get_by_role("link", name="English").click()
    page.get_by_role("link", name="Bed board").click()
    available = page.get_by_test_id("available-adult_female")
    sync_api.expect(available).to_have_text("18")
    page.locator(f"#admit-{shelter_id}-adult_female").click()
    sync_api.expect(available).to_have_text("17")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _check(page, "bed_board_phone")
