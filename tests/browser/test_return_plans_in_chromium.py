"""Joint return planning in headless Chromium against `homeward serve` (issue 22, the page).

The server runs on the real clock, so the feed here has one daily train from Chicago that leaves
90 minutes from now and reaches Denver five hours later: a bed held from now reaches its
arrival. A case manager ticks two cases going to Denver, plans them as one decision, accepts
one with the keyboard alone, and opens its case page, which shows the hold and the travel plan;
the plan reads in Spanish on a phone.
The form and the plan are checked with axe-core and screenshotted, on a desktop and on a
390 px phone, with the fixtures of `test_pages_in_chromium`.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.test_return_plans import DENVER, _case
from tests.api.test_travel_api import load_small
from tests.api.travel_support import CHICAGO, YEAR_ROUND
from tests.browser import test_pages_in_chromium as chromium
from tests.browser.test_pages_in_chromium import (  # noqa: F401 (fixtures)
    PHONE,
    _check,
    _sign_in,
    page,
    site,
)
from tests.support import Account, AccountFactory, shelter_body

pytestmark = chromium.pytestmark
sync_api = chromium.sync_api


def _gtfs_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"  # past 24:00 on the same service day


def load_train_soon(services: Services) -> None:
    """A daily Chicago-Denver train leaving 90 minutes from now (Chicago time), 5 h long."""
    now = datetime.now(CHICAGO)
    leave = now.hour * 60 + now.minute + 90
    leave -= leave % 5
    times = ("trip_id,stop_id,stop_sequence,arrival_time,departure_time\n"
             f"T9,CHI,1,{_gtfs_time(leave)},{_gtfs_time(leave)}\n"
             f"T9,DEN,2,{_gtfs_time(leave + 300)},{_gtfs_time(leave + 300)}\n")
    with tempfile.TemporaryDirectory() as root:
        load_small(services, Path(root), **{"calendar.txt": YEAR_ROUND, "stop_times.txt": times,
                                            "trips.txt": "route_id,service_id,trip_id\n"
                                                         "ZEPHYR,D,T9\n"})


def test_two_cases_planned_one_accepted_by_keyboard_then_its_case_page(
        page: Any, client: TestClient, services: Services, make: AccountFactory,  # noqa: F811
        admin: Account, agency_admin: Account) -> None:
    load_train_soon(services)
    made = client.post("/v1/shelters", json=shelter_body(
        admin.agency_id, name="Near House", max_hold_minutes=1440, **DENVER,
        beds=[{"bed_type": "adult_female", "total": 2, "occupied": 0}]), headers=admin.headers)
    assert made.status_code == 201, made.text
    fund = client.post("/v1/funding-sources", json={"name": "Return fund",
                                                    "budget_cents": 100_000},
                       headers=agency_admin.headers)
    assert fund.status_code == 201, fund.text
    manager = make.account(Role.CASE_MANAGER)
    first, second = _case(client, manager, "R-1", 5), _case(client, manager, "R-2", 2)
    page.set_viewport_size(PHONE)
    _sign_in(page, services, manager.name)
    page.get_by_role("link", name="Return home together").click()
    page.get_by_role("heading", level=1, name="Return home together").wait_for()
    for case_id in (first, second):
        page.locator(f"#include-{case_id}").check()
        page.locator(f"#dest-city-{case_id}").fill("Denver")
        page.locator(f"#dest-state-{case_id}").fill("CO")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _check(page, "return_plans_form_phone")
    page.set_viewport_size({"width": 1100, "height": 800})
    page.get_by_role("button", name="Plan the way home").click()
    page.get_by_role("heading", level=1, name="Return plan").wait_for()
    for case_id in (first, second):
        card = page.locator(f"#planned-{case_id}")
        sync_api.expect(card).to_contain_text("Near House")
        sync_api.expect(card).to_contain_text("Return fund")
        assert card.locator('[data-mode="rail"]').count() == 1
    sync_api.expect(page.locator("#proof")).to_contain_text("cannot do better")
    _check(page, "return_plan")
    # Accept R-1 alone, with the keyboard: Space ticks it, Tab reaches the button, Enter.
    page.get_by_label("Accept R-1").focus()
    page.keyboard.press("Space")
    assert page.get_by_label("Accept R-1").is_checked()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "accept-ticked":
            break
    assert page.evaluate("document.activeElement.id") == "accept-ticked"
    page.keyboard.press("Enter")
    result = page.locator("#accepted-result")
    sync_api.expect(result).to_contain_text("R-1")
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Accepted")
    assert page.get_by_label("Accept R-2").is_visible()  # still open to accept later
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _check(page, "return_plan_accepted_phone", scroll_to="#accepted-result")
    plan_href = result.get_by_role("link", name="Plan").get_attribute("href")
    plan_page = page.url
    result.get_by_role("link", name="R-1").click()
    page.get_by_role("heading", level=1, name="Case R-1").wait_for()
    sync_api.expect(page.locator("#case-holds")).to_contain_text("Near House")
    sync_api.expect(page.locator("#case-holds")).to_contain_text("active")
    assert page.locator(f'a[href="{plan_href}"]').count() == 1  # the travel plan
    holds = client.get("/v1/holds", params={"mine": "true"}, headers=manager.headers).json()
    assert len(holds) == 1
    assert datetime.fromisoformat(holds[0]["expires_at"]) > datetime.now(CHICAGO) + timedelta(
        hours=6)  # held until arrival (5 h after a departure 90 min away) plus the buffer
    # The plan again, in Spanish, on the phone: R-1 accepted, R-2 still to accept.
    page.goto(plan_page)
    page.get_by_role("link", name="Español").click()
    page.get_by_role("heading", level=1, name="Plan de regreso").wait_for()
    sync_api.expect(page.locator(f"#planned-{first}")).to_contain_text("Aceptado")
    assert page.get_by_label("Aceptar R-2").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _check(page, "return_plan_es_phone", scroll_to="#planned-title")
