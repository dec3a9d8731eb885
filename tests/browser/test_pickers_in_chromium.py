"""Pickers in headless Chromium: places to avoid picked on the offline base map or from a
searchable list, the referral recipient found in the directory, and the Spanish page's field
errors in Spanish.

An advocate opens a case with a state clicked on the map and a city chosen from the list by
keyboard alone; the stored case carries both. On the Spanish intake page, bad input is
answered beside each field in Spanish. A case manager finds a recipient in the directory by
typing part of its name, picks it and sends the referral. axe-core checks every page.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.browser import test_case_journeys as journeys
from tests.browser import test_pages_in_chromium as chromium
from tests.support import Account, AccountFactory

pytestmark = chromium.pytestmark
site, sync_api, page = chromium.site, chromium.sync_api, journeys.page
_check, _sign_in, _case_id = chromium._check, chromium._sign_in, journeys._case_id


def test_a_state_picked_on_the_map_and_a_city_from_the_list_are_stored(
        page: Any, client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.get_by_role("heading", name="Cases and safety plans").wait_for()
    form = page.locator("#new-case")
    form.get_by_label("Case reference").fill("M-1")
    form.get_by_label("Household", exact=True).fill("31F 4M")
    form.get_by_label("Latitude").fill("38.90")
    form.get_by_label("Longitude").fill("-77.03")
    # On the map: "the state clicked", then a click on Texas.
    form.get_by_label("the state clicked").check()
    texas = page.locator('#new-case-map path[data-state="TX"]')
    texas.wait_for()
    texas.click()
    states = form.get_by_label("States to avoid")
    sync_api.expect(states).to_have_value("TX")
    sync_api.expect(page.locator("#new-case-picked")).to_contain_text("Texas (TX)")
    texas.click()  # twice: listed once, and said so
    sync_api.expect(states).to_have_value("TX")
    sync_api.expect(page.locator("#new-case-picked")).to_contain_text("already listed")
    # The list, by keyboard alone: type part of a name, take it with Enter.
    search = form.get_by_label("Find a state or city to avoid")
    search.focus()
    page.keyboard.type("Houston, TX")
    page.keyboard.press("Enter")
    sync_api.expect(form.get_by_label("Cities to avoid")).to_have_value("Houston, TX")
    search.fill("Louisiana (LA)")
    form.get_by_role("button", name="Add to the places to avoid").click()
    sync_api.expect(states).to_have_value("TX, LA")
    _check(page, "case_intake_places_picked", scroll_to="#new-case-map")
    form.get_by_role("button", name="Open case").click()
    page.get_by_role("heading", name="Case M-1").wait_for()
    case = client.get(f"/v1/cases/{_case_id(page)}", headers=advocate.headers).json()
    assert case["exclusions"]["states"] == ["LA", "TX"]
    assert case["exclusions"]["cities"] == ["Houston, TX"]
    assert case["exclusions"]["points"] == []  # a state click adds no zone


def test_the_spanish_intake_page_answers_bad_input_in_spanish(
        page: Any, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    _sign_in(page, services, advocate.name)
    page.goto("/web/language?to=es&next=/web/cases")
    page.get_by_role("heading", name="Nuevo caso").wait_for()
    form = page.locator("#new-case")
    form.locator("#new-case-case_ref").fill("M-2")
    form.locator("#new-case-members").fill("29X")
    form.locator("#new-case-lat").fill("38.9")
    form.locator("#new-case-exclusion_points").fill("38.9, -77.0, 0")
    form.locator("#new-case-exclusion_states").fill("TXX")
    form.locator("#new-case-case_ref").press("Enter")
    sync_api.expect(page.locator("#new-case-err-members")).to_contain_text(
        "escriba cada persona como edad")
    # The household fixed, the API's model judges the rest: its messages in Spanish.
    form.locator("#new-case-members").fill("29F")
    form.locator("#new-case-case_ref").press("Enter")
    sync_api.expect(page.locator("#new-case-err-exclusion_points")).to_have_text(
        "Debe ser mayor que 0")
    sync_api.expect(page.locator("#new-case-err-exclusion_states")).to_contain_text(
        "códigos de dos letras")
    sync_api.expect(page.locator("#new-case-err-location")).to_contain_text(
        "indique la latitud y la longitud")
    assert "Input should" not in page.content()
    _check(page, "case_intake_errors_es", scroll_to="#new-case-exclusion_points")


def test_a_recipient_found_in_the_directory_is_picked_and_the_referral_sent(
        page: Any, client: TestClient, services: Services, make: AccountFactory,
        admin: Account) -> None:
    from tests.api.test_web_recipients import _directory, _houston_case

    ids = _directory(client, admin)
    manager = make.account(Role.CASE_MANAGER)
    case_id = _houston_case(client, manager)
    _sign_in(page, services, manager.name)
    page.goto(f"/web/cases/{case_id}")
    refer = page.locator("#refer")
    sync_api.expect(refer.get_by_label("City", exact=True)).to_have_value("Houston")
    # Keyboard only: type part of the name, Enter searches (htmx swaps only the results).
    refer.get_by_label("Name contains").fill("law")
    refer.get_by_label("Name contains").press("Enter")
    choice = refer.get_by_role("radio", name="Houston Survivors' Law Project")
    sync_api.expect(choice).to_be_checked()  # the one hit
    assert refer.get_by_role("radio").count() == 1
    # A wider search offers both Houston organizations; pick by keyboard.
    refer.get_by_label("Name contains").fill("")
    refer.get_by_role("button", name="Search the directory").click()
    sync_api.expect(refer.get_by_role("radio")).to_have_count(2)
    refer.get_by_role("radio", name="Houston Survivors' Law Project").check()
    refer.get_by_label("Service", exact=True).select_option("legal")
    refer.get_by_label("Share").select_option("none")
    _check(page, "case_referral_picker", scroll_to="#refer")
    refer.get_by_role("button", name="Send referral").click()
    sync_api.expect(page.locator(".notice.ok")).to_contain_text("Referral")
    sync_api.expect(page.locator("#referrals")).to_contain_text("Houston Survivors' Law Project")
    listed = client.get(f"/v1/referrals?case_id={case_id}", headers=manager.headers).json()
    items = listed["items"] if isinstance(listed, dict) else listed
    assert [r["recipient_id"] for r in items] == [ids["law"]]
    # In Spanish, the same picker.
    page.goto(f"/web/language?to=es&next=/web/cases/{case_id}")
    page.get_by_role("button", name="Buscar en el directorio").click()
    sync_api.expect(page.locator("#refer").get_by_role("radio")).to_have_count(2)
    _check(page, "case_referral_picker_es", scroll_to="#refer")
