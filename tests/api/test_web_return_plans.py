"""The joint return planning page through TestClient (issue 22, the page).

On the small Chicago-Denver feed of `test_return_plans`, at 13:00 in Chicago (a frozen clock,
the session signed in under it too): two cases want to go to Denver, one bed is free. The page
plans both in one decision, shows the urgent case with its shelter, bed, the train in local
times, the funding and cost, the arrival against the hold's end; the calm case left out with its
reason in plain words; the proof in words. Accepting the ticked case makes the hold, travel plan
and allocation (a double click replays), and the case page shows them. Errors read plainly; a
safe house is shown only as its public cell; advocates are refused; Spanish throughout.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.deps import Services
from api.web import common, travel_view
from api.web import return_plans_view as view
from core.models import Role
from logistics.return_plans.models import ReturnObjective, ReturnPlanPublic, WideningCertificate
from solvers.return_plan import REASON_TEXT
from tests.api import test_web_audited_pages as audited
from tests.api.test_return_plans import DENVER, _case, start
from tests.api.travel_support import load_year_round
from tests.api.web_support import sign_in
from tests.safe_house_worlds import frozen_clock
from tests.support import Account, AccountFactory, shelter_body


@pytest.fixture(autouse=True)
def _feed(services: Services) -> None:
    load_year_round(services)


@pytest.fixture
def at_one() -> Iterator[None]:
    """13:00 tomorrow in Chicago: before the daily 14:00 train, whose arrival a hold reaches."""
    with frozen_clock(start()):
        yield


def _text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def _world(client: TestClient, make: AccountFactory, admin: Account, agency_admin: Account,
           *, confidential: bool = False, **extra: object) -> tuple[Account, int, int, int, int]:
    manager = make.account(Role.CASE_MANAGER)
    made = client.post("/v1/shelters", json=shelter_body(
        admin.agency_id, name="Near House", max_hold_minutes=1440, **DENVER,
        confidential_location=confidential, **extra,
        beds=[{"bed_type": "adult_female", "total": 1, "occupied": 0}]), headers=admin.headers)
    assert made.status_code == 201, made.text
    fund = client.post("/v1/funding-sources", json={"name": "Return fund",
                                                    "budget_cents": 100_000},
                       headers=agency_admin.headers)
    assert fund.status_code == 201, fund.text
    return manager, int(fund.json()["id"]), _case(client, manager, "R-1", 5), \
        _case(client, manager, "R-2", 2), int(made.json()["id"])


def _form(token: str, rows: dict[int, tuple[str, str]], include: list[int],
          **extra: object) -> dict[str, object]:
    return {"csrf_token": token, "case_row": list(rows), "dest_city": [c for c, _ in rows.values()],
            "dest_state": [s for _, s in rows.values()], "include": include,
            "depart_after": start().astimezone(travel_view.zone("America/Chicago"))
            .strftime("%Y-%m-%dT%H:%M"),
            "timezone": "America/Chicago", "hold_buffer_minutes": "60", **extra}


def _optimise(client: TestClient, token: str, form: dict[str, object]) -> str:
    made = client.post("/web/return-plans/optimise", data=form, follow_redirects=False)
    assert made.status_code == 303, _text(made.text)
    return str(made.headers["location"])


def test_plan_two_cases_accept_one_and_see_it_on_the_case_page(
        client: TestClient, services: Services, make: AccountFactory, admin: Account,
        agency_admin: Account, at_one: None) -> None:
    manager, fund, urgent, calm, _shelter = _world(client, make, admin, agency_admin)
    token = sign_in(client, services, manager.name, next_page="/web/return-plans")
    form_page = client.get("/web/return-plans").text
    assert 'href="/web/return-plans"' in form_page  # in the case manager's menu
    assert "Include R-1" in form_page and "Return fund" in form_page
    both = {urgent: ("Denver", "CO"), calm: ("Denver", "co")}
    where = _optimise(client, token, _form(token, both, [urgent, calm], funding=[str(fund)],
                                           funding_shown="1"))
    assert re.fullmatch(r"/web/return-plans/\d+", where)
    page = client.get(where)
    assert page.status_code == 200
    text = _text(page.text)
    card = _text(re.search(rf'id="planned-{urgent}".*?</article>', page.text, re.S).group(0))
    assert "R-1: Near House" in card and "Denver, CO" in card and "1 Main St" in card
    assert "Women" in card or "adult" in card.lower()  # the bed type's label
    assert "Train" in card and "07:15" in card and "UTC\u221207:00" in card  # Denver, local
    assert "Return fund" in card and "60 min after arrival" in card
    assert "Intake at any hour" in card
    assert f'id="planned-{calm}"' not in page.text
    assert ("R-2: The beds or money went to cases with more priority-weighted persons."
            in text)
    assert "No plan can bring home more priority-weighted persons" in text
    assert "Certificate: looking at more shelters or more trips cannot do better" in text

    key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
    accept = {"csrf_token": token, "key": key, "case_ids": [str(urgent)]}
    with frozen_clock(start() + timedelta(minutes=5)):
        done = client.post(f"{where}/accept", data=accept)
        again = client.post(f"{where}/accept", data=accept)  # a double click: replayed
    assert done.status_code == 200, _text(done.text)
    assert again.status_code == 200
    result = _text(re.search(r'id="accepted-result".*?</section>', done.text, re.S).group(0))
    assert "R-1" in result and "Return fund" in result and "committed" in result
    plan_id = int(re.search(r'href="/web/travel/plans/(\d+)"', done.text).group(1))
    hold_id = int(re.search(r"Hold (\d+), until", result).group(1))
    assert f'href="/web/cases/{urgent}"' in done.text
    assert "Accept all" not in done.text  # nothing left to accept
    assert len(client.get("/v1/travel-plans", params={"case_id": urgent},
                          headers=manager.headers).json()) == 1  # the replay made no second
    case_page = client.get(f"/web/cases/{urgent}")
    assert case_page.status_code == 200
    assert f'href="/web/travel/plans/{plan_id}"' in case_page.text
    assert "Near House" in _text(case_page.text)
    assert client.get(f"/v1/holds/{hold_id}", headers=manager.headers).json()["status"] \
        == "active"


def test_plain_errors_keep_the_form(
        client: TestClient, services: Services, make: AccountFactory, admin: Account,
        agency_admin: Account, at_one: None) -> None:
    manager, _fund, urgent, calm, _shelter = _world(client, make, admin, agency_admin)
    token = sign_in(client, services, manager.name, next_page="/web/return-plans")
    rows = {urgent: ("Denver", "CO"), calm: ("Atlantis", "CO")}
    none = client.post("/web/return-plans/optimise", data=_form(token, rows, []))
    assert none.status_code == 422
    assert "Nothing was planned: cases: tick at least one case" in _text(none.text)
    bad = client.post("/web/return-plans/optimise", data=_form(token, rows, [urgent, calm]))
    assert bad.status_code == 422
    assert "Nothing was planned: R-2 destination: unknown place" in _text(bad.text)
    assert 'value="Atlantis"' in bad.text  # what was typed is kept
    assert f'id="include-{calm}" name="include" value="{calm}" checked' in bad.text
    half = client.post("/web/return-plans/optimise",
                       data=_form(token, {urgent: ("Denver", "")}, [urgent]))
    assert "R-1: give the destination's city and two-letter state" in _text(half.text)
    wrong = client.post("/web/return-plans/optimise",
                        data=_form(token, rows, [urgent], csrf_token="nope"))
    assert wrong.status_code == 403
    where = _optimise(client, token, _form(token, {urgent: ("Denver", "CO")}, [urgent]))
    page = client.get(where).text
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    nothing = client.post(f"{where}/accept", data={"csrf_token": token, "key": key})
    assert nothing.status_code == 422
    assert "Nothing was accepted: case_ids: tick the cases to accept" in _text(nothing.text)
    with frozen_clock(start() + timedelta(minutes=5)):
        every = client.post(f"{where}/accept", data={"csrf_token": token, "key": key,
                                                     "every": "1"})
    assert every.status_code == 200, _text(every.text)
    assert f'id="accepted-{urgent}"' in every.text and "Accept all" not in every.text
    missing = client.get("/web/return-plans/999999")
    assert missing.status_code == 404
    assert "return plan 999999 not found" in _text(missing.text)
    other = make.account(Role.ADVOCATE)
    client.cookies.clear()
    sign_in(client, services, other.name, next_page="/web/cases")
    assert client.get("/web/return-plans").status_code == 403
    assert client.get(where).status_code == 403


def test_a_safe_house_only_as_its_public_cell_and_in_spanish(
        client: TestClient, services: Services, make: AccountFactory, admin: Account,
        agency_admin: Account, at_one: None) -> None:
    every_day = {d: [["06:00", "22:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat",
                                                    "sun")}
    manager, _fund, urgent, calm, shelter = _world(
        client, make, admin, agency_admin, confidential=True,
        intake_hours={"windows": every_day})
    token = sign_in(client, services, manager.name, next_page="/web/return-plans")
    client.cookies.set("hw_lang", "es")
    where = _optimise(client, token, _form(token, {urgent: ("Denver", "CO"),
                                                   calm: ("Denver", "CO")}, [urgent, calm]))
    page = client.get(where).text
    text = _text(page)
    assert "1 Main St" not in page and "80202" not in page
    assert "Casa segura" in text and "5 km" in text
    assert "Regreso a casa juntos" in text  # the menu entry
    assert "Los cupos o el dinero fueron a casos" in text
    assert "Aceptar todos" in text
    # Intake at the arrival's weekday, in the shelter's time, in Spanish.
    assert "06:00\u201322:00 llega dentro del horario de admisión" in text
    # Someone else takes the one bed meanwhile: nothing is accepted, and the page says why.
    other = make.account(Role.ADVOCATE)
    taken = client.post(f"/v1/shelters/{shelter}/holds", json={
        "bed_type": "adult_female", "case_ref": "X-1", "ttl_minutes": 1440},
        headers=other.headers)
    assert taken.status_code == 201, taken.text
    key = re.search(r'name="key" value="([^"]+)"', page).group(1)
    with frozen_clock(start() + timedelta(minutes=5)):
        refused = client.post(f"{where}/accept", data={"csrf_token": token, "key": key,
                                                       "every": "1"})
    assert refused.status_code == 409
    assert "No se aceptó nada" in _text(refused.text) and "optimise again" in refused.text
    assert client.get("/v1/travel-plans", params={"case_id": urgent},
                      headers=manager.headers).json() == []


def test_every_string_of_the_page_is_in_the_spanish_catalogue() -> None:
    spanish = common.catalogue("es")
    assert set(view.REASONS) == set(REASON_TEXT)  # a new reason needs plain words here
    ids = [*view.REASONS.values(), view.OTHER_REASON, *view.DAYS.values(),
           *view.SOLVE_STATES.values(), "stopped early", "Return home together"]
    objective = ReturnObjective(weighted_persons=5, travel_minutes=1, cost_cents=1,
                                preference=0, persons=1, households=1)
    for gap, certified in ((0.0, True), (0.5, False)):
        plan = ReturnPlanPublic.model_construct(
            objective=objective, gap=gap, bound=7, certificate=WideningCertificate(
                certified=certified, widened_bound=9, widening_gap=0.2, cases_left_out=1))
        for text, params in view.proof(plan):
            ids.append(text)
            assert text.format(**params)
    missing = [m for m in ids if m not in spanish]
    assert missing == []
    assert [m for m in ids if set(re.findall(r"{(\w+)}", m))
            != set(re.findall(r"{(\w+)}", spanish[m]))] == []


def test_the_pages_audit_reads_without_failing_beside_another_writer(
        client: TestClient, services: Services, settings: Settings, make: AccountFactory,
        monkeypatch: pytest.MonkeyPatch) -> None:
    audited.test_a_write_during_an_audited_page_neither_fails_it_nor_slips_in(
        client, services, settings, make, monkeypatch, "/web/return-plans")
