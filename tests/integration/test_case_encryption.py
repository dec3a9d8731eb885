"""No personal or free-text field of a case, screening or plan reaches the database in plaintext.

Canary strings go into every sealed field group through the HTTP API; then the raw database
(the SQLite file with its WAL, or a `pg_dump` of the PostgreSQL test database) is searched for
them. The same canaries must come back through the API, proving they were stored at all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.config import Settings
from api.deps import Services
from core.models import Role
from tests.api.test_cases import case_body
from tests.support import SAFETY_CAP_S, AccountFactory

CANARIES = {
    "city": "Zqxcanaryville",
    "exclusion_city": "Vvexclusioncity",
    "notes": "NOTES-CANARY-7731",
    "lat": "29.761234",
    "code_word": "kumquatcanary",
    "shelter_name": "Shelter Canary Harbor",
    "shelter_address": "123 Canary Lane",
    "edited_text": "EDIT-CANARY-5521",
    "added_text": "ADDED-CANARY-9902",
    "answer_key": "threatened_to_kill",
}


def _raw_database(settings: Settings) -> bytes:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        path = Path(url.database)
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return subprocess.run(["/usr/bin/pg_dump", "--data-only", plain], check=True,
                          capture_output=True, timeout=SAFETY_CAP_S).stdout


def test_no_canary_in_the_raw_database(client: TestClient, make: AccountFactory,
                                       settings: Settings, services: Services) -> None:
    advocate = make.account(Role.ADVOCATE)
    h = advocate.headers
    case = client.post("/v1/cases", headers=h, json=case_body(
        location={"lat": float(CANARIES["lat"]), "lon": -95.37,
                  "city": CANARIES["city"], "state": "TX"},
        exclusions={"cities": [f"{CANARIES['exclusion_city']}, TX"]},
        notes=CANARIES["notes"]))
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    patched = client.patch(f"/v1/cases/{case_id}", headers={**h, "If-Match": '"1"'},
                           json={"notes": CANARIES["notes"] + " (updated)"})
    assert patched.status_code == 200
    screening = client.post(f"/v1/cases/{case_id}/screenings", headers=h, json={"answers": {
        "threatened_to_kill": True, "documents_held": True, "needs_shelter": True}}).json()
    shelter = {"id": "s1", "name": CANARIES["shelter_name"],
               "address": CANARIES["shelter_address"], "phone": "555-0100", "open_beds": 2}
    plan = client.post("/v1/safety-plans", headers=h, json={
        "case_id": case_id, "screening_id": screening["id"], "code_word": CANARIES["code_word"],
        "shelters": [shelter]})
    assert plan.status_code == 201, plan.text
    base = f"/v1/safety-plans/{plan.json()['id']}"
    assert client.patch(f"{base}/steps/documents.passport", headers={**h, "If-Match": '"1"'},
                        json={"text": CANARIES["edited_text"]}).status_code == 200
    assert client.post(f"{base}/steps", headers={**h, "If-Match": '"2"'}, json={
        "section": "money", "text": CANARIES["added_text"]}).status_code == 201
    second = client.post(f"/v1/cases/{case_id}/screenings", headers=h,
                         json={"answers": {"threatened_to_kill": True}}).json()
    assert client.post(f"{base}/proposals", headers=h,
                       json={"screening_id": second["id"]}).status_code == 201

    # Everything was stored and reads back through the API...
    shown = client.get(f"/v1/cases/{case_id}", headers=h).text
    shown += client.get(f"{base}/render", params={"format": "txt"}, headers=h).text
    for key in ("city", "exclusion_city", "notes", "code_word", "shelter_name",
                "edited_text", "added_text"):
        assert CANARIES[key] in shown, key
    # ...but none of it is in the database in plaintext.
    services.db.dispose()
    raw = _raw_database(settings)
    assert b"C-1042" in raw  # the plain case reference: the search does see row data
    leaked = [k for k, v in CANARIES.items() if v.encode() in raw]
    assert leaked == []
