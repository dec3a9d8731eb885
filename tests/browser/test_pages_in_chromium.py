"""The web pages end to end in headless Chromium against `homeward serve` on 127.0.0.1.

Each test drives one user's job through the real server process: a coordinator admits two
people, an advocate screens and prints a plan, a case manager picks a trip without ID, a
mass rescue of 20 households places holds. Every page visited is checked with axe-core
(WCAG 2.1 A and AA rules) and screenshotted (to docs/screenshots/ with
HOMEWARD_SCREENSHOTS=1). The tests skip when Debian's /usr/bin/chromium or Playwright for
Python is missing (Playwright's own browser download is never used).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.web_support import PASSWORD, set_password
from tests.conftest import TEST_KEY
from tests.support import Account, AccountFactory, coordinator, served, shelter_body

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [pytest.mark.servers,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium")]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
PHONE = {"width": 390, "height": 844}  # a phone's viewport, for the layout checks

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to a temporary folder, or to docs/screenshots/ with HOMEWARD_SCREENSHOTS=1
# (they differ on every run, so an ordinary test run leaves the working tree clean).
SHOTS = (ROOT / "docs" / "screenshots" if os.environ.get("HOMEWARD_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir()) / "homeward-screenshots")
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
NEUTRAL = "https://neutral.example/"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag',
    values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
  return result.violations.map(v => v.id + ': ' + v.nodes.slice(0, 3)
    .map(n => n.target.join(' ')).join(' | '));
}"""


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[str]:
    with served(database_url, TEST_KEY, tmp_path,
                # PYTHONPATH: the server runs this working tree, whatever the venv installed.
                env={"HOMEWARD_WEB_QUICK_EXIT_URL": NEUTRAL, "PYTHONPATH": str(ROOT)}) as base:
        yield base


@pytest.fixture
def page(site: str) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        # axe is injected as a script tag, which the pages' CSP would refuse.
        context = browser.new_context(viewport={"width": 1100, "height": 800},
                                      bypass_csp=True, base_url=site)
        context.route(f"{NEUTRAL}**", lambda route: route.fulfill(
            status=200, content_type="text/html", body="<title>Weather</title><p>Sunny</p>"))
        tab = context.new_page()
        tab.set_default_timeout(20_000)
        errors: list[str] = []
        tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        assert errors == []  # no script error and no CSP refusal on any page
        context.close()
        browser.close()


def _sign_in(page: Any, services: Services, name: str) -> None:
    set_password(services, name)
    page.goto("/web/sign-in")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def _check(page: Any, shot: str, scroll_to: str | None = None) -> None:
    """No WCAG 2.1 AA violation that axe can find, a quick exit, and a screenshot."""
    assert page.locator("#quick-exit").is_visible()
    if scroll_to:
        page.locator(scroll_to).scroll_into_view_if_needed()
    page.add_script_tag(path=str(AXE))
    assert page.evaluate(AXE_RUN) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{shot}.png"
    page.screenshot(path=str(path))
    from PIL import Image

    # A 64-colour palette keeps the committed screenshots small and still legible.
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=64)
    small.save(path, optimize=True)


def _shelter(client: TestClient, admin: Account, make: AccountFactory, **extra: object) -> int:
    body = shelter_body(make.agency("Capital Shelter Network"), **extra)
    created = client.post("/v1/shelters", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def test_sign_in_page_and_quick_exit(page: Any, client: TestClient, services: Services,
                                     make: AccountFactory, admin: Account) -> None:
    page.goto("/web/sign-in")
    _check(page, "sign_in")
    shelter_id = _shelter(client, admin, make)
    coord = coordinator(make, [shelter_id])
    _sign_in(page, services, coord.name)
    page.get_by_role("heading", name="Bed board").wait_for()
    page.keyboard.press("Tab")  # the skip link comes first for keyboard users
    assert page.evaluate("document.activeElement.className") == "skip"
    page.locator("#quick-exit").click()
    page.wait_for_url(NEUTRAL)
    page.go_back()
    page.wait_for_load_state()
    # Back shows the neutral page again or the sign-in page: never the board.
    assert page.get_by_role("heading", name="Bed board").count() == 0
    page.goto("/web/board")
    assert "/web/sign-in" in page.url


def test_coordinator_admits_two_people_and_the_count_drops(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    coord = coordinator(make, [shelter_id])
    _sign_in(page, services, coord.name)
    available = page.get_by_test_id("available-adult_female")
    assert available.inner_text() == "20"
    admit = page.locator(f"#admit-{shelter_id}-adult_female")
    admit.click()
    sync_api.expect(available).to_have_text("19")
    admit.click()
    sync_api.expect(available).to_have_text("18")
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Admitted 1")
    _check(page, "bed_board")


def test_advocate_screens_generates_and_prints_a_plan(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    _shelter(client, admin, make)
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.get_by_role("heading", name="Cases and safety plans").wait_for()
    _check(page, "cases")
    page.get_by_label("Case reference").fill("C-2001")
    page.get_by_label("Household").fill("31F")
    page.get_by_label("Latitude").fill("38.9")
    page.get_by_label("Longitude").fill("-77.01")
    page.get_by_role("button", name="Open case").click()
    page.get_by_role("heading", name="Case C-2001").wait_for()
    assert page.get_by_role("button", name="Hold: Harbor House").is_visible()
    page.locator("#q_threatened_to_kill").select_option("yes")
    page.locator("#q_has_safe_phone").select_option("no")
    page.locator("#q_money").select_option("none")
    _check(page, "case_screening", scroll_to="#screening-title")
    page.get_by_role("button", name="Screen and generate plan").click()
    page.get_by_role("heading", level=1, name=re.compile("Safety plan")).wait_for()
    assert page.get_by_text("Emergency mode").is_visible()
    assert page.locator(".reasons").count() >= 1
    _check(page, "safety_plan")
    page.evaluate("() => { window.__printed = 0; "
                  "window.print = () => { window.__printed += 1; }; }")
    page.get_by_role("button", name="Print", exact=True).click()
    assert page.evaluate("window.__printed") == 1
    page.emulate_media(media="print")
    assert not page.locator("#quick-exit").is_visible()  # print shows the plan only
    page.emulate_media(media="screen")
    with page.context.expect_page() as printable:
        page.get_by_role("link", name="Discreet print").click()
    discreet = printable.value
    discreet.wait_for_load_state()
    assert "Homeward" not in discreet.title()


def test_case_manager_picks_a_trip_without_id_and_sees_no_flight(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        tmp_path: Path) -> None:
    from tests.api.travel_support import load_year_round

    # A feed that runs every day, and tomorrow's train: booking refuses a departure now past.
    load_year_round(services)
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    manager = make.account(Role.CASE_MANAGER)
    _sign_in(page, services, manager.name)
    page.goto("/web/cases")
    page.get_by_label("Case reference").fill("T-77")
    page.get_by_label("Household").fill("30F 9M")
    page.get_by_label("City", exact=True).fill("Chicago")
    page.get_by_label("State (two letters)").fill("IL")
    page.get_by_role("button", name="Open case").click()
    page.get_by_role("link", name="Plan travel home").click()
    page.get_by_label("From city").fill("Chicago")
    page.get_by_label("From state").fill("IL")
    page.get_by_label("To city").fill("Denver")
    page.get_by_label("To state").fill("CO")
    page.get_by_label("Leave after (local time at the origin)").fill(
        f"{tomorrow.isoformat()}T08:00")
    page.get_by_label("Travellers' ages").fill("30, 9")
    page.get_by_label("Has a photo ID (needed to fly)").uncheck()
    page.get_by_role("button", name="Search").click()
    page.get_by_role("heading", name="Options").wait_for()
    assert page.locator(".option").count() >= 1
    assert page.locator('.option [data-mode="air"]').count() == 0
    _check(page, "travel_options")
    page.locator("#choose-1").click()
    page.get_by_role("heading", level=1, name=re.compile("Travel plan")).wait_for()
    assert page.locator("#plan-status").inner_text() == "Proposed"
    assert page.locator('[data-mode="air"]').count() == 0
    _check(page, "travel_plan")


def test_mass_rescue_of_twenty_households_places_holds(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    for i in range(3):
        _shelter(client, admin, make, name=f"House {i}", lat=38.90 + i * 0.02)
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.goto("/web/rescue")
    rows = "".join(f"R-{i:03},{20 + i}F,38.9{i % 10},-77.0{i % 7},,,en,no,\n"
                   for i in range(20))
    page.get_by_label("Households as CSV").fill(
        "case_ref,members,lat,lon,city,state,languages,has_photo_id,needs\n" + rows)
    page.get_by_role("button", name="Find placements").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("20 of 20")
    sync_api.expect(page.locator("#map.leaflet-container")).to_have_count(1)
    assert page.locator("#map path.leaflet-interactive").count() >= 23  # homes, shelters
    page.get_by_role("button", name="Place all holds").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Held beds for 20 of 20")
    assert page.locator("#placements .badge.ok").count() == 20
    _check(page, "mass_rescue", scroll_to="#placements-title")
    held = sum(b["held"] for s in range(1, 4) for b in client.get(
        f"/v1/shelters/{s}/beds", headers=admin.headers).json())
    assert held == 20
