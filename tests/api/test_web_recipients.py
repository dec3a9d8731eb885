"""The referral recipient picker through HTTP: the directory searched as the API searches it
(the case's place by default, then name, service and language), the result picked and the
referral sent to it; a referral without a recipient is refused in the page's language."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from tests.api.test_directory import org_body
from tests.api.test_web_travel_holds import _notice
from tests.api.web_support import sign_in
from tests.support import Account, AccountFactory


def _directory(client: TestClient, admin: Account) -> dict[str, int]:
    bodies = {
        "law": org_body(),
        "health": org_body(name="Bayou Health Clinic", languages=["en"],
                           services=[{"service_type": "medical", "name": "Clinic"}]),
        "dallas": org_body(name="Dallas Law Center", city="Dallas", lat=32.78, lon=-96.8,
                           areas=[{"kind": "city", "state": "TX", "city": "Dallas"}]),
    }
    ids = {}
    for key, body in bodies.items():
        made = client.post("/v1/directory/organizations", json=body, headers=admin.headers)
        assert made.status_code == 201, made.text
        ids[key] = int(made.json()["id"])
    return ids


def _houston_case(client: TestClient, who: Account) -> int:
    made = client.post("/v1/cases", headers=who.headers, json={
        "case_ref": "R-1", "household": [{"age": 30, "gender": "female"}],
        "trafficking_type": "labor",
        "location": {"lat": 29.76, "lon": -95.37, "city": "Houston", "state": "TX"}})
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _offered(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="recipient_id" id="recipient-(\d+)"', page)]


def test_the_picker_searches_the_directory_and_the_referral_goes_to_the_pick(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    ids = _directory(client, admin)
    manager = make.account(Role.CASE_MANAGER)
    case_id = _houston_case(client, manager)
    token = sign_in(client, services, manager.name, next_page=f"/web/cases/{case_id}")
    page = client.get(f"/web/cases/{case_id}").text
    # The search starts at the case's own place; nothing is offered before a search.
    assert 'id="find-city" name="city" form="recipient-search" value="Houston"' in page
    assert _offered(page) == []
    base = f"/web/cases/{case_id}/recipients"
    htmx = {"HX-Request": "true"}
    everyone = client.get(base, params={"city": "Houston", "state": "TX"}, headers=htmx)
    assert everyone.status_code == 200 and "<html" not in everyone.text  # only the results
    assert sorted(_offered(everyone.text)) == sorted([ids["law"], ids["health"]])  # no Dallas
    api = client.get("/v1/directory/organizations", params={"city": "Houston", "state": "TX"},
                     headers=manager.headers).json()
    assert sorted(h["organization"]["id"] for h in api["items"]) == sorted(_offered(
        everyone.text))
    by_name = client.get(base, params={"name": "law", "city": "Houston", "state": "TX"},
                         headers=htmx).text
    assert _offered(by_name) == [ids["law"]] and "checked" in by_name  # one hit: chosen
    by_service = client.get(base, params={"service": "medical", "state": "TX",
                                          "city": "Houston"}, headers=htmx).text
    assert _offered(by_service) == [ids["health"]]
    by_language = client.get(base, params={"language": "es", "city": "Houston", "state": "TX"},
                             headers=htmx).text
    assert _offered(by_language) == [ids["law"]]
    assert "Houston Survivors&#39; Law Project" in by_language
    # Without htmx the whole case page comes back with the results in the referral form.
    full = client.get(base, params={"name": "clinic", "city": "Houston", "state": "TX"})
    assert full.status_code == 200 and 'id="refer"' in full.text
    assert _offered(full.text) == [ids["health"]]
    sent = client.post(f"/web/cases/{case_id}/referrals", data={
        "csrf_token": token, "recipient_id": str(ids["law"]), "service_type": "legal",
        "share": "none"})
    assert sent.status_code == 200 and "Referral" in _notice(sent.text)
    referrals = client.get(f"/v1/referrals?case_id={case_id}", headers=manager.headers).json()
    listed = referrals["items"] if isinstance(referrals, dict) else referrals
    assert [r["recipient_id"] for r in listed] == [ids["law"]]
    # The case page names the recipient as the directory does.
    assert "Houston Survivors&#39; Law Project" in sent.text.split('id="referrals"')[1][:600]


def test_a_bad_search_or_no_pick_is_answered_in_spanish(
        client: TestClient, services: Services, make: AccountFactory, admin: Account) -> None:
    _directory(client, admin)
    advocate = make.account(Role.ADVOCATE)
    case_id = _houston_case(client, advocate)
    token = sign_in(client, services, advocate.name, next_page=f"/web/cases/{case_id}")
    client.cookies.set("hw_lang", "es")
    base = f"/web/cases/{case_id}/recipients"
    bad = client.get(base, params={"language": "zz9", "state": "TX"},
                     headers={"HX-Request": "true"}).text
    assert "código de idioma desconocido" in html.unescape(bad)
    none = client.get(base, params={"name": "nobody", "state": "TX"},
                      headers={"HX-Request": "true"}).text
    assert "Ninguna organización del directorio coincide." in none
    unpicked = client.post(f"/web/cases/{case_id}/referrals", data={
        "csrf_token": token, "service_type": "legal", "share": "none"})
    assert unpicked.status_code == 422
    assert "elija la organización" in _notice(unpicked.text)
    # Another agency's case is not found here either (nothing of it is searched or shown).
    other = make.account(Role.ADVOCATE, agency="Elsewhere Hotline")
    theirs = _houston_case(client, other)
    refused = client.get(f"/web/cases/{theirs}/recipients", params={"state": "TX"})
    assert refused.status_code == 404 and "Houston" not in _notice(refused.text)
