"""Safety plans linked to the rest of Homeward: matched shelters with open beds, the way home,
screenings listed and read, revision snapshots, and input updates proposed like screenings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.models import Role
from tests.api.test_cases import case_body
from tests.support import Account, AccountFactory

NEEDS = {"needs_shelter": True, "wants_to_return_home": True, "documents_held": True}
SECRET = "77 Hidden Lane"


def _shelter(agency: int, name: str, lat: float, lon: float, **extra: Any) -> dict[str, Any]:
    return {"name": name, "agency_id": agency, "lat": lat, "lon": lon,
            "street_address": extra.pop("street_address", "1 Main St"), "city": "Houston",
            "state": "TX", "timezone": "America/Chicago",
            "populations": ["adult_women", "families_with_children"], "children_max_age": 17,
            "accessible": True, "intake_phone": "713-555-0100",
            "beds": [{"bed_type": "family_unit", "total": 4, "occupied": 1,
                      "max_household": 4}], **extra}


@pytest.fixture
def advocate(make: AccountFactory) -> Account:
    return make.account(Role.ADVOCATE)


@pytest.fixture
def shelters(client: TestClient, admin: Account, make: AccountFactory) -> dict[str, int]:
    agency = make.agency("Houston Shelters")
    bodies = {
        # The case is at (29.76, -95.37) and avoids 60 km around (29.85, -95.42): these two
        # sit near Galveston, outside that zone; "inside_zone" is within it.
        "open": _shelter(agency, "Bay Family House", 29.30, -94.80,
                         street_address="12 Seawall Blvd"),
        "safe": _shelter(agency, "Quiet Harbor", 29.28, -94.85, confidential_location=True,
                         street_address=SECRET, intake_phone=None),
        "far": _shelter(agency, "Far Family House", 30.27, -97.74),
        "inside_zone": _shelter(agency, "Zone House", 29.84, -95.41),
    }
    ids = {}
    for key, body in bodies.items():
        made = client.post("/v1/shelters", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        ids[key] = int(made.json()["id"])
    return ids


def _case(client: TestClient, who: Account, **overrides: Any) -> int:
    made = client.post("/v1/cases", json=case_body(**overrides), headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _screen(client: TestClient, who: Account, case_id: int, answers: dict[str, Any]) -> int:
    made = client.post(f"/v1/cases/{case_id}/screenings", json={"answers": answers},
                       headers=who.headers)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _steps(plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for sec in plan["sections"] for s in sec["steps"]}


def _make_plan(client: TestClient, who: Account, case_id: int, screening_id: int,
               **extra: Any) -> dict[str, Any]:
    made = client.post("/v1/safety-plans", json={"case_id": case_id,
                       "screening_id": screening_id, "language": "en", **extra},
                       headers=who.headers)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_plan_lists_matched_shelters_and_links_the_way_home(
        client: TestClient, advocate: Account, admin: Account,
        shelters: dict[str, int]) -> None:
    case_id = _case(client, advocate)
    made = _make_plan(client, advocate, case_id, _screen(client, advocate, case_id, NEEDS))
    steps = _steps(made["plan"])
    shelter_steps = [i for i in steps if i.startswith("leaving.shelter.")]
    # The two near Galveston rank first; the one inside the survivor's exclusion zone never.
    assert set(shelter_steps[:2]) == {f"leaving.shelter.{shelters['safe']}",
                                      f"leaving.shelter.{shelters['open']}"}
    assert f"leaving.shelter.{shelters['inside_zone']}" not in steps
    assert len(shelter_steps) == 3  # the default limit; Austin is within 800 km
    opened = steps[f"leaving.shelter.{shelters['open']}"]
    assert "12 Seawall Blvd, Houston, TX" in opened["text"]
    assert "713-555-0100" in opened["text"] and "Open beds: 3" in opened["text"]
    assert "input.shelters" in opened["triggered_by"]
    safe = steps[f"leaving.shelter.{shelters['safe']}"]
    assert "Quiet Harbor, Houston, TX" in safe["text"]
    assert SECRET not in str(made) and "Hidden" not in str(made)
    assert "1-888-373-7888" in safe["text"]  # no intake phone on record: the hotline's
    shown = re.search(r"Distance: ([0-9.]+) km", safe["text"])
    assert shown is not None and float(shown.group(1)) % 5 == 0  # rounded as the matcher does
    home = steps["home.route"]
    # The advocate's JSON keeps the link in the step's params; the survivor's text never does.
    assert home["params"]["url"].endswith(f"/v1/travel-plans?case_id={case_id}")
    assert "/v1/" not in home["text"] and "advocate will text you" in home["text"]
    assert home["triggered_by"] == ["input.travel_planner_url", "wants_to_return_home"]
    trail = client.get(f"/v1/audit?object_type=case&object_id={case_id}",
                       headers=admin.headers).json()
    assert ("case.match", "matching") in {(e["action"], e["purpose"]) for e in trail}


def test_a_plan_holds_only_what_every_reader_may_see_whoever_generated_it(
        client: TestClient, advocate: Account, admin: Account,
        shelters: dict[str, int]) -> None:
    """The admin may see the safe house's place; the plan it makes for the advocate's case
    (read by the advocate, printed for the survivor) still holds only the public distance."""
    case_id = _case(client, advocate)
    screening = _screen(client, advocate, case_id, NEEDS)
    by_admin = _make_plan(client, admin, case_id, screening)
    by_advocate = _make_plan(client, advocate, case_id, screening)
    read = client.get(f"/v1/safety-plans/{by_admin['id']}", headers=advocate.headers).json()
    safe = f"leaving.shelter.{shelters['safe']}"
    assert _steps(read["plan"])[safe]["text"] == _steps(by_advocate["plan"])[safe]["text"]
    assert read["plan"]["sections"] == by_advocate["plan"]["sections"]
    printed = client.get(f"/v1/safety-plans/{by_admin['id']}/render?format=txt",
                         headers=advocate.headers).text
    assert SECRET not in printed and "29.28" not in printed


def test_caller_shelters_and_limit_zero_skip_the_matcher(
        client: TestClient, advocate: Account, shelters: dict[str, int]) -> None:
    case_id = _case(client, advocate)
    screening = _screen(client, advocate, case_id, {"needs_shelter": True})
    none = _make_plan(client, advocate, case_id, screening, shelter_limit=0)
    assert "leaving.ask_shelter" in _steps(none["plan"])
    assert "home.route" not in _steps(none["plan"])  # no wish to go home: no link
    given = _make_plan(client, advocate, case_id, screening, shelters=[{
        "id": "x1", "name": "Given", "address": "Somewhere", "phone": "1", "open_beds": 2}])
    assert [i for i in _steps(given["plan"]) if i.startswith("leaving.shelter.")] == \
        ["leaving.shelter.x1"]


def test_a_case_the_matcher_cannot_place_still_gets_a_plan(
        client: TestClient, advocate: Account) -> None:
    case_id = _case(client, advocate, location={"city": "Nowhere", "state": "TX"})
    made = _make_plan(client, advocate, case_id,
                      _screen(client, advocate, case_id, {"needs_shelter": True}))
    assert "leaving.ask_shelter" in _steps(made["plan"])


def test_screenings_listed_and_read_audited_agency_only(
        client: TestClient, advocate: Account, admin: Account, make: AccountFactory) -> None:
    case_id = _case(client, advocate)
    first = _screen(client, advocate, case_id, NEEDS)
    second = _screen(client, advocate, case_id, {"weapon_threat": True})
    listed = client.get(f"/v1/cases/{case_id}/screenings", headers=advocate.headers)
    assert listed.status_code == 200 and listed.headers["Cache-Control"] == "no-store"
    assert [s["id"] for s in listed.json()] == [first, second]
    assert listed.json()[1]["emergency"] is True and "answers" not in listed.json()[0]
    one = client.get(f"/v1/screenings/{first}", headers=advocate.headers)
    assert one.status_code == 200 and one.json()["answers"] == NEEDS
    outsider = make.account(Role.ADVOCATE, agency="Another Hotline")
    coordinator = make.account(Role.SHELTER_COORDINATOR)
    assert client.get(f"/v1/screenings/{first}", headers=outsider.headers).status_code == 404
    assert client.get(f"/v1/cases/{case_id}/screenings",
                      headers=outsider.headers).status_code == 404
    assert client.get(f"/v1/screenings/{first}",
                      headers=coordinator.headers).status_code in (403, 404)
    assert client.get("/v1/screenings/999999", headers=advocate.headers).status_code == 404
    rows = client.get("/v1/audit", params={"object_type": "screening",
                      "object_id": str(first)}, headers=admin.headers).json()
    assert "screening.read" in [r["action"] for r in rows]
    assert "weapon" not in str(rows) and "needs_shelter" not in str(rows)
    listed_rows = client.get("/v1/audit", params={"object_type": "case",
                             "object_id": str(case_id)}, headers=admin.headers).json()
    assert "screening.list" in [r["action"] for r in listed_rows]


def test_revision_snapshots(client: TestClient, advocate: Account, make: AccountFactory,
                           shelters: dict[str, int]) -> None:
    case_id = _case(client, advocate)
    made = _make_plan(client, advocate, case_id, _screen(client, advocate, case_id, NEEDS),
                      shelter_limit=0)
    base = f"/v1/safety-plans/{made['id']}"
    edited = client.patch(f"{base}/steps/documents.passport", json={"text": "Our words"},
                          headers={**advocate.headers, "If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    first = client.get(f"{base}/revisions/1", headers=advocate.headers)
    assert first.status_code == 200 and first.json()["action"] == "create"
    assert first.json()["plan"] == made["plan"]
    second = client.get(f"{base}/revisions/2", params={"language": "es"},
                        headers=advocate.headers).json()
    assert second["action"] == "edit_step" and second["plan"]["language"] == "es"
    assert _steps(second["plan"])["documents.passport"]["text"] == "Our words"
    assert client.get(f"{base}/revisions/3", headers=advocate.headers).status_code == 404
    outsider = make.account(Role.ADVOCATE, agency="Another Hotline")
    assert client.get(f"{base}/revisions/1", headers=outsider.headers).status_code == 404


def test_input_updates_are_proposed_then_applied(
        client: TestClient, advocate: Account, shelters: dict[str, int]) -> None:
    case_id = _case(client, advocate)
    made = _make_plan(client, advocate, case_id, _screen(client, advocate, case_id, NEEDS),
                      shelter_limit=0)
    base = f"/v1/safety-plans/{made['id']}"
    assert not [i for i in _steps(made["plan"]) if i.startswith("leaving.shelter.")]
    proposed = client.post(f"{base}/inputs", json={
        "priorities": ["money"], "code_word": "girasol", "refresh_shelters": True,
        "shelter_limit": 1}, headers=advocate.headers)
    assert proposed.status_code == 201, proposed.text
    proposal = proposed.json()
    assert proposal["kind"] == "inputs" and proposal["base_version"] == 1
    assert any(i.startswith("leaving.shelter.") for i in proposal["step_ids"])
    unchanged = client.get(base, headers=advocate.headers).json()
    assert unchanged["version"] == 1
    bad = client.post(f"{base}/inputs", json={"priorities": ["nonsense"]},
                      headers=advocate.headers)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "priorities.0"
    applied = client.post(f"{base}/proposals/{proposal['id']}/apply",
                          json={"accept": proposal["step_ids"]},
                          headers={**advocate.headers, "If-Match": '"1"'})
    assert applied.status_code == 200, applied.text
    plan = applied.json()["plan"]
    assert plan["sections"][0]["id"] == "money"
    assert any("girasol" in s["text"] for s in _steps(plan).values())
    assert len([i for i in _steps(plan) if i.startswith("leaving.shelter.")]) == 1
    # The applied inputs are the plan's now: a new screening's proposal keeps them.
    newer = _screen(client, advocate, case_id, {**NEEDS, "weapon_threat": True})
    again = client.post(f"{base}/proposals", json={"screening_id": newer},
                        headers=advocate.headers).json()
    assert again["kind"] == "screening"
    assert not any(i.startswith("leaving.shelter.") for i in again["step_ids"])
