"""The case pages through TestClient: intake with every field and the API's messages beside
their fields, edits with the version check, the case page's holds kept to the case's agency,
and the mass-rescue CSV's template, zones and per-row errors."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.web_support import csrf_of, sign_in
from tests.support import Account, AccountFactory, shelter_body


def _shelter(client: TestClient, admin: Account, make: AccountFactory) -> int:
    created = client.post("/v1/shelters", json=shelter_body(make.agency("Capital Shelters")),
                          headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def _field_error(page: str, form: str, field: str) -> str:
    found = re.search(rf'id="{form}-err-{field}">(.*?)</', page, re.S)
    return html.unescape(found.group(1)) if found else ""


FULL = {"case_ref": "W-1", "members": "34F 9M", "trafficking_type": "labor", "urgency": "5",
        "languages": "es, en", "max_travel_km": "300", "needs": ["children", "medical"],
        "has_photo_id": "yes", "lat": "38.9", "lon": "-77.03",
        "exclusion_points": "38.95, -77.1, 5\n39.29, -76.61, 20",
        "exclusion_cities": "Richmond, VA\nNorfolk, VA", "exclusion_states": "de, wv",
        "notes": "Calls only after 6 pm."}


def test_intake_carries_every_field_of_the_api(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    made = client.post("/web/cases", data={"csrf_token": token, **FULL},
                       follow_redirects=False)
    assert made.status_code == 303, made.text
    case_id = int(made.headers["location"].rsplit("/", 1)[1])
    case = client.get(f"/v1/cases/{case_id}", headers=advocate.headers).json()
    assert case["household"] == [{"age": 34, "gender": "female"}, {"age": 9, "gender": "male"}]
    assert (case["trafficking_type"], case["urgency"], case["max_travel_km"]) == ("labor", 5, 300)
    assert case["languages"] == ["es", "en"] and case["needs"] == ["children", "medical"]
    assert case["has_photo_id"] is True and case["notes"] == "Calls only after 6 pm."
    assert case["exclusions"] == {
        "points": [{"lat": 38.95, "lon": -77.1, "radius_km": 5.0},
                   {"lat": 39.29, "lon": -76.61, "radius_km": 20.0}],
        "cities": ["Richmond, VA", "Norfolk, VA"], "states": ["DE", "WV"], "shelter_ids": []}
    page = client.get(f"/web/cases/{case_id}").text
    assert "5 km around 38.95, -77.1" in html.unescape(page)


def test_each_api_message_is_shown_beside_its_field(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/cases")
    typed = client.post("/web/cases", data={"csrf_token": token, **FULL, "members": "29X",
                                            "exclusion_points": "38.9, -77.0"})
    assert typed.status_code == 422
    assert "age and F, M, T or N" in _field_error(typed.text, "new-case", "members")
    assert "latitude, longitude, radius" in _field_error(typed.text, "new-case",
                                                         "exclusion_points")
    # What the form parses, the API's model judges: the same messages as POST /v1/cases.
    bad = {"exclusion_points": "38.9, -77.0, 0", "exclusion_states": "TXX"}
    page = client.post("/web/cases", data={"csrf_token": token, **FULL, **bad}).text
    api = client.post("/v1/cases", headers=advocate.headers, json={
        "case_ref": "W-2", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "sex", "location": {"lat": 38.9, "lon": -77.0},
        "exclusions": {"points": [{"lat": 38.9, "lon": -77.0, "radius_km": 0.0}],
                       "states": ["TXX"]}}).json()
    messages = {e["field"].split(".")[2]: e["message"] for e in api["errors"]}
    assert _field_error(page, "new-case", "exclusion_points") == messages["points"]
    # (without pydantic's "Value error, " before a validator's own words)
    assert _field_error(page, "new-case", "exclusion_states") == messages["states"].removeprefix(
        "Value error, ")
    assert 'aria-invalid="true"' in page and "Calls only after 6 pm." in page  # kept
    assert client.get("/v1/cases", headers=advocate.headers).json() == []


def test_an_edit_keeps_what_the_form_lacks_and_refuses_a_stale_version(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    advocate = make.account(Role.ADVOCATE)
    case_id = client.post("/v1/cases", headers=advocate.headers, json={
        "case_ref": "E-1", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "sex", "location": {"lat": 38.9, "lon": -77.0},
        "exclusions": {"shelter_ids": [shelter_id]}}).json()["id"]
    sign_in(client, services, advocate.name, next_page=f"/web/cases/{case_id}")
    page = client.get(f"/web/cases/{case_id}").text
    token = csrf_of(page)
    form = dict(re.findall(r'<input id="edit-case-[a-z_]+" name="([a-z_]+)" value="([^"]*)"',
                           page))
    form.update(csrf_token=token, version="1", notes="Moved in with a cousin.",
                exclusion_shelter_ids=str(shelter_id))
    saved = client.post(f"/web/cases/{case_id}", data=form)
    assert saved.status_code == 200 and "Case saved." in saved.text
    case = client.get(f"/v1/cases/{case_id}", headers=advocate.headers).json()
    assert case["notes"] == "Moved in with a cousin." and case["version"] == 2
    assert case["exclusions"]["shelter_ids"] == [shelter_id]
    stale = client.post(f"/web/cases/{case_id}", data={**form, "notes": "Old news."})
    assert stale.status_code == 412 and "changed this case meanwhile" in stale.text
    assert client.get(f"/v1/cases/{case_id}",
                      headers=advocate.headers).json()["notes"] == "Moved in with a cousin."


def test_the_case_page_shows_only_its_agencys_holds(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    shelter_id = _shelter(client, admin, make)
    ours = make.account(Role.ADVOCATE)
    theirs = make.account(Role.ADVOCATE, agency="Other Hotline")
    case = {"case_ref": "H-1", "household": [{"age": 30, "gender": "female"}],
            "trafficking_type": "sex", "location": {"lat": 38.9, "lon": -77.0}}
    case_id = client.post("/v1/cases", headers=ours.headers, json=case).json()["id"]
    client.post("/v1/cases", headers=theirs.headers, json=case)
    held = {}
    for who in (ours, theirs):  # both agencies hold under the same reference
        made = client.post(f"/v1/shelters/{shelter_id}/holds", headers=who.headers, json={
            "bed_type": "adult_female", "case_ref": "H-1"})
        assert made.status_code == 201, made.text
        held[who.name] = made.json()["id"]
    sign_in(client, services, ours.name, next_page=f"/web/cases/{case_id}")
    page = client.get(f"/web/cases/{case_id}").text
    holds = page.split('id="case-holds"')[1].split("</table>")[0]
    assert f"#{held[ours.name]}<" in holds and f"#{held[theirs.name]}<" not in holds
    assert "Harbor House" in holds and "time-left" in holds


def test_the_rescue_csv_template_and_its_zone_errors(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    token = sign_in(client, services, advocate.name, next_page="/web/rescue")
    template = client.get("/web/rescue/template.csv")
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    assert template.text.splitlines()[0].endswith("exclude_lat,exclude_lon,exclude_radius_km")
    half = client.post("/web/rescue", data={
        "csrf_token": token, "households": template.text, "raid_lat": "38.9"})
    assert half.status_code == 422 and "raid site" in half.text
    bad_rows = template.text + "R-3,30F,38.9,-77.0,,,en,no,,38.9,-77.0,-1\n"
    refused = client.post("/web/rescue", data={"csrf_token": token, "households": bad_rows})
    listed = refused.text.split('id="row-errors"')[1].split("</ul>")[0]
    assert refused.status_code == 422 and "line 4: exclusions.points.0.radius_km" in listed


def test_every_case_action_checks_the_csrf_token_and_the_role(
        client: TestClient, services: Services, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    case_id = client.post("/v1/cases", headers=advocate.headers, json={
        "case_ref": "K-1", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "sex", "location": {"lat": 38.9, "lon": -77.0}}).json()["id"]
    base = f"/web/cases/{case_id}"
    posts = {base: {"version": "1", **FULL}, f"{base}/holds/1": {"action": "release"},
             f"{base}/referrals": {"recipient_id": "1", "service_type": "legal"},
             f"{base}/releases": {"recipient_id": "1", "fields": "household",
                                  "purpose": "legal aid"},
             f"{base}/releases/1/revoke": {}}
    sign_in(client, services, advocate.name, next_page="/web/cases")
    for url, body in posts.items():
        assert client.post(url, data={**body, "csrf_token": "x" * 43}).status_code == 403, url
    coordinator_account = make.account(Role.SHELTER_COORDINATOR)
    token = sign_in(client, services, coordinator_account.name, next_page="/web/")
    assert client.get(base).status_code == 403
    for url, body in posts.items():
        assert client.post(url, data={**body, "csrf_token": token}).status_code == 403, url
