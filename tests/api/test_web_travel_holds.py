"""The travel pages and the hold lists through TestClient (issue 20, items 3, 4 and 6).

Trip search reads the departure in the origin's time zone and says which; a place to avoid
given as a point and radius keeps every option away from it; options show local times and each
transfer's wait; choosing one with a destination hold makes the plan and the hold through the
same use case as `POST /v1/travel-plans`; the plan's buttons are verbs; check-ins are recorded
once the plan is booked. "My holds" and "Holds on my beds" list active holds with the time left
and confirm / release them under the API's own access rules. Spanish throughout.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from api.web import forms, travel_view
from core.models import Role
from tests.api.web_support import sign_in
from tests.support import Account, AccountFactory, coordinator, shelter_body

OMAHA_POINT = "41.2587, -95.9378, 30"


def chicago_case(ref: str) -> dict[str, object]:
    return {"case_ref": ref, "household": [{"age": 30, "gender": "female"},
                                           {"age": 9, "gender": "male"}],
            "languages": ["en"], "trafficking_type": "labor", "needs": [],
            "location": {"lat": 41.8789, "lon": -87.6397},
            "exclusions": {"points": [], "cities": [], "states": [], "shelter_ids": []},
            "has_photo_id": False, "urgency": 3, "max_travel_km": 2000}


def _notice(page: str) -> str:
    found = re.search(r'class="notice[^"]*"[^>]*>(.*?)</div>', page, re.S)
    return html.unescape(" ".join(found.group(1).split())) if found else ""


def _denver_shelter(client: TestClient, admin: Account, make: AccountFactory) -> int:
    body = shelter_body(make.agency("Front Range Shelters"), name="Mile High House",
                        lat=39.74, lon=-104.99, street_address="1 Main St", city="Denver",
                        state="CO", zip_code="80202", timezone="America/Denver")
    created = client.post("/v1/shelters", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _case(client: TestClient, who: Account, ref: str = "T-77") -> str:
    """A mother and son in Chicago, made through the API (the intake form is another page's)."""
    made = client.post("/v1/cases", headers=who.headers, json=chicago_case(ref))
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _form(token: str, case_id: str, **extra: str) -> dict[str, str]:
    from tests.api.travel_support import tomorrow

    return {"csrf_token": token, "case_id": case_id, "from_city": "Chicago",
            "from_state": "IL", "to_city": "Denver", "to_state": "CO",
            "depart_after": tomorrow().strftime("%Y-%m-%dT%H:%M"), "ages": "30, 9",
            "has_id": "no", **extra}


def test_local_departure_is_read_in_the_origin_zone() -> None:
    chicago = ZoneInfo("America/Chicago")
    summer = travel_view.local_departure("2026-07-01T08:00", chicago)
    assert summer.astimezone(UTC) == datetime(2026, 7, 1, 13, 0, tzinfo=UTC)  # CDT, UTC-5
    winter = travel_view.local_departure("2026-01-15T08:00", chicago)
    assert winter.astimezone(UTC) == datetime(2026, 1, 15, 14, 0, tzinfo=UTC)  # CST, UTC-6
    assert travel_view.zone_label(chicago, winter) == "America/Chicago (CST, UTC\u221206:00)"
    with pytest.raises(forms.FormError, match="does not exist"):
        travel_view.local_departure("2026-03-08T02:30", chicago)  # clocks jump 02:00 -> 03:00
    # fall back: 01:30 happens twice; the earlier (CDT) is taken
    twice = travel_view.local_departure("2026-11-01T01:30", chicago)
    assert twice.astimezone(UTC) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)


def test_avoid_points_are_read_per_line_with_field_errors() -> None:
    assert travel_view.avoid_points("41.25, -95.93, 30\n\n39.1,-94.6,10") == [
        {"lat": 41.25, "lon": -95.93, "radius_km": 30.0},
        {"lat": 39.1, "lon": -94.6, "radius_km": 10.0}]
    with pytest.raises(forms.FormError) as caught:
        travel_view.avoid_points("41.25, -95.93")
    assert caught.value.errors[0][0] == "avoid_points"


def test_trip_search_in_local_time_avoids_a_point_and_shows_waits(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    from tests.api.travel_support import load_year_round

    load_year_round(services)
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/travel")
    case_id = _case(client, manager)
    page = client.post("/web/travel/search", data=_form(token, case_id, ages="30")).text
    assert "America/Chicago (C" in page  # the zone the time was read in, shown back
    assert 'data-mode="rail"' in page  # the train, which stops at Omaha
    # Local times with their offset, and the bus change at Kansas City as a wait.
    assert re.search(r"UTC\u221205:00|UTC\u221206:00", page)
    assert "1 h 0 min at Kansas City" in html.unescape(page)
    avoided = client.post("/web/travel/search",
                          data=_form(token, case_id, ages="30", avoid_points=OMAHA_POINT))
    assert avoided.status_code == 200, _notice(avoided.text)
    assert 'class="card option"' in avoided.text and 'data-mode="rail"' not in avoided.text
    assert OMAHA_POINT in avoided.text  # kept in the form (and drawn on the map)
    bad = client.post("/web/travel/search", data=_form(token, case_id, avoid_points="41, x"))
    assert bad.status_code == 422 and "avoid_points" in _notice(bad.text)
    unknown = client.post("/web/travel/search", data=_form(token, case_id, from_city="Nowhere"))
    assert unknown.status_code == 422 and "from: unknown place" in _notice(unknown.text)
    assert "Nowhere" not in _notice(unknown.text)  # a survivor's place is never echoed


def test_booking_with_a_destination_hold_then_verbs_and_check_ins(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    from tests.api.travel_support import load_year_round

    load_year_round(services)
    shelter_id = _denver_shelter(client, admin, make)
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/travel")
    case_id = _case(client, manager)
    page = client.post("/web/travel/search", data=_form(token, case_id)).text
    assert f'value="{shelter_id}:adult_female"' in page and "Mile High House" in page
    option = html.unescape(re.findall(r'name="itinerary_id" value="([^"]+)"', page)[0])
    chosen = client.post("/web/travel/plans", data={
        "csrf_token": token, "case_id": case_id, "itinerary_id": option,
        "hold_at": f"{shelter_id}:adult_female", "beds": "2", "hold_buffer_minutes": "60"},
        follow_redirects=False)
    assert chosen.status_code == 303, _notice(chosen.text)
    plan_url = chosen.headers["location"].split("?")[0]
    plan = client.get(chosen.headers["location"]).text
    assert "Travel plan created" in _notice(plan)
    assert "Mile High House" in plan and 'data-hold-status="active"' in plan
    assert re.search(r"(\d+ h )?\d+ min left", plan)
    beds = client.get(f"/v1/shelters/{shelter_id}/beds", headers=admin.headers).json()
    assert beds[0]["held"] == 2
    # Buttons are verbs; the badge is the state's name.
    assert '>Approve</button>' in plan and '>Cancel trip</button>' in plan
    assert '>approved</button>' not in plan and 'data-status="proposed">Proposed<' in plan
    assert 'id="safe-' not in plan  # no check-in before the trip is booked
    client.post(f"{plan_url}/status", data={"csrf_token": token, "status": "approved"})
    booked = client.post(f"{plan_url}/status", data={"csrf_token": token, "status": "booked",
                                                     "booking_references": "AMTK-1"}).text
    assert 'data-status="booked">Booked<' in booked and ">Mark departed</button>" in booked
    check_in = re.findall(r'id="safe-(\d+)"', booked)[0]
    recorded = client.post(f"{plan_url}/check-ins/{check_in}",
                           data={"csrf_token": token, "safe": "yes", "note": "on the bus"})
    assert recorded.status_code == 200 and "Check-in recorded" in _notice(recorded.text)
    assert f'id="safe-{check_in}"' not in recorded.text and "on the bus" in recorded.text
    back = client.get(f"{plan_url}/check-ins/{check_in}", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == plan_url
    # The same plan in Spanish.
    client.cookies.set("hw_lang", "es")
    spanish = client.get(plan_url).text
    assert "Cama en el destino" in spanish and ">Marcar salida</button>" in spanish


def test_my_holds_release_and_confirm_with_time_left(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _denver_shelter(client, admin, make)
    advocate = make.account(Role.ADVOCATE)
    holds = [client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": f"H-{i}", "ttl_minutes": 90}
    ).json()["id"] for i in range(2)]
    token = sign_in(client, services, advocate.name, next_page="/web/holds/mine")
    page = client.get("/web/holds/mine").text
    assert "H-0" in page and "H-1" in page and "Mile High House" in page
    assert re.search(r'data-testid="left-\d+">1 h (29|30) min left<', page)
    assert 'href="/web/holds/mine" aria-current="page"' in page
    released = client.post(f"/web/holds/mine/{holds[0]}/release", data={"csrf_token": token})
    assert f"Hold {holds[0]} released" in _notice(released.text)
    assert f'id="hold-{holds[0]}"' not in released.text
    again = client.post(f"/web/holds/mine/{holds[0]}/release", data={"csrf_token": token})
    assert again.status_code == 409  # as the API: a closed hold is not active
    confirmed = client.post(f"/web/holds/mine/{holds[1]}/confirm", data={"csrf_token": token})
    assert f"Hold {holds[1]} confirmed" in _notice(confirmed.text)
    assert "No active holds." in confirmed.text


def test_holds_on_my_beds_for_coordinators_and_access_rules(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _denver_shelter(client, admin, make)
    coord = coordinator(make, [shelter_id], agency="Front Range Shelters")
    advocate = make.account(Role.ADVOCATE)
    hold_id = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": "B-1"}).json()["id"]
    token = sign_in(client, services, coord.name, next_page="/web/holds/shelters")
    assert client.get("/web/holds/mine").status_code == 403  # coordinators hold no beds
    page = client.get("/web/holds/shelters").text
    assert "B-1" in page and "Holds on my beds" in page
    confirmed = client.post(f"/web/holds/shelters/{hold_id}/confirm",
                            data={"csrf_token": token})
    assert f"Hold {hold_id} confirmed" in _notice(confirmed.text)
    assert client.post(f"/web/holds/shelters/{hold_id}/confirm", data={}).status_code == 403
    client.cookies.set("hw_lang", "es")
    assert "Reservas de mis camas" in client.get("/web/holds/shelters").text


def test_another_agency_cannot_close_a_hold_from_the_lists(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _denver_shelter(client, admin, make)
    holder = make.account(Role.ADVOCATE)
    hold_id = client.post(f"/v1/shelters/{shelter_id}/holds", headers=holder.headers, json={
        "bed_type": "adult_female", "beds": 1, "case_ref": "X-1"}).json()["id"]
    outsider = make.account(Role.CASE_MANAGER, agency="Other Agency")
    token = sign_in(client, services, outsider.name, next_page="/web/holds/mine")
    assert "X-1" not in client.get("/web/holds/mine").text
    refused = client.post(f"/web/holds/mine/{hold_id}/release", data={"csrf_token": token})
    assert refused.status_code == 404
    # A GET at an action's address (a language switch there, a reload) only goes back.
    back = client.get(f"/web/holds/mine/{hold_id}/release", follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/web/holds/mine"
    other_coord = coordinator(make, [], agency="Other Shelters")
    token = sign_in(client, services, other_coord.name, next_page="/web/holds/shelters")
    refused = client.post(f"/web/holds/shelters/{hold_id}/release", data={"csrf_token": token})
    assert refused.status_code == 404
    hold = client.get(f"/v1/holds/{hold_id}", headers=holder.headers).json()
    assert hold["status"] == "active"
