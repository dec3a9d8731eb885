"""PII canaries: personal data never reaches logs, error bodies, exports, statistics or storage.

Unique canary strings (and canary coordinates) go into every personal-data field: a case's
notes, location and exclusions, a safety plan's code word and an edited step, a release's
purpose, a referral's shared fields, a tip's free text and place, a travel plan's stops,
booking references and check-in note, and a confidential shelter's address and point. The main
flows then run over HTTP, including bad input carrying canaries. Every log record (JSON-
formatted on a root handler, and caplog's records), every error body, the exports (HIC CSV,
HSDS, the directory), the statistics (JSON, CSV, charts) and the raw database (SQLite file and
WAL, or `pg_dump`) are searched: zero hits. Answers that return the data to its own agency
(GET a case, render a plan) are of course allowed to hold it.
"""

from __future__ import annotations

import io
import logging
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from api.app import create_app
from api.deps import Services
from api.observability import JsonFormatter
from core.models import Role
from safety_plans.editing import add_step
from safety_plans.errors import PlanEditError
from safety_plans.planning import generate_plan
from tests.api.test_tips import DIRECTORY
from tests.api.travel_support import load_year_round, query, tomorrow
from tests.support import BACKEND, Account, AccountFactory, coordinator, shelter_body

C = {name: f"Qz{name}Canary7731" for name in (
    "notes", "notes2", "xcity", "code", "step", "purpose", "tipdesc", "caller", "victim",
    "suspect", "booking", "checkin", "address", "badbody", "badquery",
    "badpath", "badjson")}
# Coordinates with digits unlikely to appear by chance: where the survivor is, the places
# they must avoid, where a tip happened, a safe house's exact point, and where a trip home
# starts (it travels inside the itinerary id, sealed).
POINTS = {"case": (29.761873, -95.369241), "exclusion": (29.853917, -95.428263),
          "tip": (29.748291, -95.358817), "safehouse": (29.791357, -95.402681),
          "trip": (41.878913, -87.639712)}


def _raw_storage(services: Services) -> bytes:
    """The SQLite file and its WAL byte for byte, or a `pg_dump` of the PostgreSQL database."""
    if BACKEND == "sqlite":
        path = services.settings.sqlite_path()
        assert path is not None
        return b"".join(f.read_bytes() for f in (path, Path(f"{path}-wal")) if f.exists())
    pg_dump = shutil.which("pg_dump") or "/usr/bin/pg_dump"
    url = make_url(services.settings.database_url).set(drivername="postgresql")
    return subprocess.run([pg_dump, "--no-owner", url.render_as_string(hide_password=False)],
                          capture_output=True, check=True).stdout


def _hits(blob: bytes) -> list[str]:
    found = [name for name, value in C.items() if value.encode() in blob]
    for name, point in POINTS.items():
        for value in point:
            if (str(value).encode() in blob or struct.pack("<d", value) in blob
                    or struct.pack(">d", value) in blob):
                found.append(f"{name} point {value}")
    return found


class Capture:
    """Everything the service may leak: log lines, error bodies, exports and statistics."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.exposed: list[tuple[str, bytes]] = []

    def call(self, who: Account | None, method: str, url: str, *, expect: int | None = None,
             headers: dict[str, str] | None = None, public: bool = False, **kw: Any) -> Any:
        """Send a request; keep error bodies (and, with `public`, any body) for the search."""
        all_headers = {**(who.headers if who else {}), **(headers or {})}
        response = self.client.request(method, url, headers=all_headers, **kw)
        if response.status_code >= 400 or public:
            self.exposed.append((f"{method} {url} -> {response.status_code}",
                                 response.content + str(response.headers).encode()))
        if expect is not None:
            assert response.status_code == expect, f"{method} {url}: {response.text[:300]}"
        return response


def _server_side(record: logging.LogRecord) -> bool:
    """The test's own HTTP client logs the URLs it sends; that is not the service talking."""
    return not record.name.startswith("httpx")


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    """Root-logger JSON lines at DEBUG, as `homeward serve` would write them (but finer)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_server_side)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _case_body() -> dict[str, Any]:
    (lat, lon), (xlat, xlon) = POINTS["case"], POINTS["exclusion"]
    return {"case_ref": "C-7731", "household": [{"age": 24, "gender": "female"}],
            "languages": ["es"], "trafficking_type": "labor", "notes": C["notes"],
            "location": {"lat": lat, "lon": lon, "city": "Houston", "state": "TX"},
            "exclusions": {"points": [{"lat": xlat, "lon": xlon, "radius_km": 5}],
                           "cities": [f"{C['xcity']}, TX"]},
            "urgency": 4, "max_travel_km": 800}


def _trip(cap: Capture, who: Account) -> str:
    """An itinerary id from a search starting at the canary point."""
    lat, lon = POINTS["trip"]
    found = cap.call(who, "POST", "/v1/itineraries/search", expect=200, json=query(
        **{"from": {"lat": lat, "lon": lon}, "depart_after": tomorrow().isoformat()}))
    return str(found.json()["itineraries"][0]["itinerary_id"])


def _flows(cap: Capture, admin: Account, advocate: Account, manager: Account,
           outsider: Account, make: AccountFactory) -> None:
    call = cap.call
    for body in DIRECTORY:
        call(admin, "POST", "/v1/directory/organizations", json=body, expect=201)
    org = call(admin, "POST", "/v1/directory/organizations", expect=201, json={
        "name": "Houston Legal Aid", "lat": 29.76, "lon": -95.36, "city": "Houston",
        "state": "TX", "timezone": "America/Chicago",
        "services": [{"service_type": "legal", "name": "T visa"}],
        "areas": [{"kind": "city", "state": "TX", "city": "Houston"}]}).json()["id"]
    agency = make.agency("Canary Shelters")
    slat, slon = POINTS["safehouse"]
    safehouse = call(admin, "POST", "/v1/shelters", expect=201, json=shelter_body(
        agency, name="Safe House 9", lat=slat, lon=slon, street_address=C["address"],
        city="Houston", state="TX", zip_code="77002", timezone="America/Chicago",
        confidential_location=True, populations=["adult_women"],
        beds=[{"bed_type": "adult_female", "total": 12, "occupied": 2}])).json()["id"]
    call(admin, "POST", "/v1/shelters", expect=201, json=shelter_body(
        agency, name="Open Door", lat=29.75, lon=-95.35, city="Houston", state="TX",
        zip_code="77002", timezone="America/Chicago",
        beds=[{"bed_type": "adult_female", "total": 2, "occupied": 0}]))
    staff = coordinator(make, [safehouse], agency="Canary Shelters")
    # Its own staff see the address (so the canary is really stored); others do not.
    assert C["address"] in call(staff, "GET", f"/v1/shelters/{safehouse}", expect=200).text
    call(advocate, "GET", f"/v1/shelters/{safehouse}", expect=200)
    call(advocate, "GET", "/v1/shelters?near=29.76,-95.37&radius_km=100", expect=200)

    # A case: created, read, updated, matched (one household and a batch).
    case = call(advocate, "POST", "/v1/cases", json=_case_body(), expect=201).json()
    cid = case["id"]
    assert C["xcity"] in call(manager, "GET", f"/v1/cases/{cid}", expect=200).text
    call(advocate, "GET", "/v1/cases", expect=200)
    call(advocate, "PATCH", f"/v1/cases/{cid}", json={"notes": C["notes2"]},
         headers={"If-Match": f'"{case["version"]}"'}, expect=200)
    call(advocate, "POST", "/v1/matches", json={"case_id": cid}, expect=200)
    call(advocate, "POST", "/v1/matches", json={"case": {
        k: v for k, v in _case_body().items() if k not in ("notes",)}}, expect=200)
    call(manager, "POST", "/v1/matches/batch", expect=200,
         json={"case_ids": [cid], "options": {"time_limit_s": 1, "hold": True}})
    call(advocate, "POST", f"/v1/shelters/{safehouse}/holds", expect=201,
         json={"bed_type": "adult_female", "beds": 1, "case_ref": "C-7731"})

    # Screening and safety plan: code word, renderings, an edited step, revisions.
    screening = call(advocate, "POST", f"/v1/cases/{cid}/screenings", expect=201, json={
        "answers": {"documents_held": True, "phone_monitored": True}}).json()["id"]
    plan = call(advocate, "POST", "/v1/safety-plans", expect=201, json={
        "case_id": cid, "screening_id": screening, "code_word": C["code"]}).json()
    pid = plan["id"]
    for fmt in ("html", "txt", "sms", "pdf"):
        call(advocate, "GET", f"/v1/safety-plans/{pid}/render?format={fmt}", expect=200)
    call(advocate, "GET", f"/v1/safety-plans/{pid}/render?format=html&discreet=true",
         expect=200)
    step = plan["plan"]["sections"][0]["steps"][0]["id"]
    call(advocate, "PATCH", f"/v1/safety-plans/{pid}/steps/{step}", json={"text": C["step"]},
         headers={"If-Match": f'"{plan["version"]}"'}, expect=200)
    call(advocate, "GET", f"/v1/safety-plans/{pid}/revisions", expect=200)
    assert C["step"] in call(advocate, "GET", f"/v1/safety-plans/{pid}/render?format=txt",
                             expect=200).text

    # Consent release and a referral sharing the notes and the location.
    call(advocate, "POST", f"/v1/cases/{cid}/releases", expect=201, json={
        "recipient_id": org, "fields": ["notes", "location", "exclusions"],
        "purpose": C["purpose"]})
    referral = call(advocate, "POST", "/v1/referrals", expect=201, json={
        "case_id": cid, "recipient_id": org, "service_type": "legal",
        "fields": ["notes", "location", "exclusions"]}).json()
    assert C["notes2"] in call(advocate, "GET", f"/v1/referrals/{referral['id']}",
                               expect=200).text
    call(advocate, "GET", f"/v1/cases/{cid}/releases", expect=200)

    # A tip with free text and an exact place, routed twice.
    tlat, tlon = POINTS["tip"]
    tip = call(advocate, "POST", "/v1/tips", expect=201, json={
        "trafficking_type": "sex", "venue": "illicit_massage",
        "locations": [{"lat": tlat, "lon": tlon, "city": "Houston", "state": "TX"}],
        "consent": {"share_with_law_enforcement": True,
                    "fields": ["trafficking_type", "locations", "description"]},
        "description": C["tipdesc"], "caller_contact": C["caller"],
        "victim_details": C["victim"], "suspect_details": C["suspect"]}).json()
    assert C["victim"] in call(advocate, "GET", f"/v1/tips/{tip['id']}", expect=200).text
    call(advocate, "POST", f"/v1/tips/{tip['id']}/route", expect=200)

    # A travel plan: approved, booked, checked in with a note.
    travel = call(advocate, "POST", "/v1/travel-plans", expect=201,
                  json={"case_id": cid, "itinerary_id": _trip(cap, advocate)}).json()
    tid = travel["id"]
    call(manager, "POST", f"/v1/travel-plans/{tid}/status", json={"status": "approved"},
         expect=200)
    call(manager, "POST", f"/v1/travel-plans/{tid}/status", expect=200,
         json={"status": "booked", "booking_references": [C["booking"]]})
    call(advocate, "POST", f"/v1/travel-plans/{tid}/check-ins/{travel['check_ins'][0]['id']}",
         json={"safe": False, "note": C["checkin"]}, expect=200)
    call(manager, "GET", "/v1/travel-plans/overdue-check-ins", expect=200)
    listed = call(manager, "GET", f"/v1/travel-plans?case_id={cid}", expect=200).text
    assert C["booking"] in listed and C["checkin"] in listed

    # Exports and statistics: every body is searched.
    call(admin, "POST", "/v1/stats/releases", json={"period": "2000-01"}, expect=201,
         public=True)
    for url in ("/v1/exports/hic.csv", "/v1/interop/hsds/services", "/v1/directory/hsds",
                "/v1/stats/releases", "/v1/stats/releases/2000-01",
                "/v1/stats/releases/2000-01/csv",
                "/v1/stats/releases/2000-01/charts/monthly_trends?format=svg",
                "/v1/stats/releases/2000-01/charts/states_ranked?format=svg&measure=tips",
                "/v1/unmet-need", "/v1/audit", "/v1/audit?object_type=case"):
        call(admin, "GET", url, expect=200, public=True)
    call(advocate, "GET", "/v1/interop/hsds/services", expect=200, public=True)

    # Errors: bad input carrying canaries, stale versions, other agencies, bad states.
    bad = _case_body() | {"notes": C["badbody"], "household": [{"age": 999, "gender": "x"}]}
    call(advocate, "POST", "/v1/cases", json=bad, expect=422)
    call(advocate, "POST", "/v1/cases", expect=422,
         json=_case_body() | {"location": {"lat": C["badbody"], "lon": 1}})
    call(advocate, "POST", "/v1/cases", expect=422, json=_case_body() | {
        "exclusions": {"states": [C["badbody"]]}})
    call(advocate, "POST", "/v1/cases", content=b'{"notes": "' + C["badjson"].encode(),
         headers={"Content-Type": "application/json"}, expect=422)
    call(advocate, "PATCH", f"/v1/cases/{cid}", json={"notes": C["badbody"]},
         headers={"If-Match": '"1"'}, expect=412)
    call(advocate, "PATCH", f"/v1/cases/{cid}", json={"notes": C["badbody"]},
         headers={"If-Match": C["badquery"]}, expect=422)
    call(advocate, "GET", f"/v1/cases/{C['badpath']}", expect=422)
    call(outsider, "GET", f"/v1/cases/{cid}", expect=404)
    call(outsider, "POST", "/v1/referrals", expect=404, json={
        "case_id": cid, "recipient_id": org, "service_type": "legal", "fields": ["notes"]})
    call(advocate, "GET", f"/v1/shelters?near={C['badquery']}", expect=422)
    call(advocate, "GET", f"/v1/stats/releases/{C['badquery']}", expect=422)
    call(advocate, "GET", f"/v1/safety-plans/{pid}/render?format={C['badquery'][:8]}",
         expect=422)
    call(advocate, "POST", "/v1/tips", expect=422, json={
        "trafficking_type": "sex", "locations": [{"lat": tlat}],
        "description": C["badbody"], "caller_contact": C["badbody"]})
    call(advocate, "POST", f"/v1/safety-plans/{pid}/steps", expect=422,
         headers={"If-Match": '"2"'}, json={"section": C["badbody"], "text": C["badbody"]})
    call(manager, "POST", f"/v1/travel-plans/{tid}/status", expect=409,
         json={"status": "booked", "booking_references": [C["badbody"]]})
    call(advocate, "POST", f"/v1/cases/{cid}/releases", expect=422, json={
        "recipient_id": org, "fields": [C["badbody"]], "purpose": C["badbody"]})
    call(None, "GET", f"/v1/cases/{cid}", expect=401,
         headers={"Authorization": f"Bearer {C['badquery']}"})


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    # Server errors become 500 bodies to search, not exceptions in the test.
    with TestClient(create_app(services=services), raise_server_exceptions=False) as test:
        yield test


def test_bad_section_is_named_not_echoed() -> None:
    """Regression: an unknown section came back as "'<the text sent>' is not a valid Section"."""
    plan = generate_plan({"documents_held": True})
    with pytest.raises(PlanEditError) as caught:
        add_step(plan, C["badbody"], "text")
    assert caught.value.field == "section" and C["badbody"] not in str(caught.value)


def test_no_canary_leaks(client: TestClient, services: Services, make: AccountFactory,
                         admin: Account, logs: io.StringIO,
                         caplog: pytest.LogCaptureFixture) -> None:
    cap = Capture(client)
    load_year_round(services)
    advocate = make.account(Role.ADVOCATE, agency="Hotline")
    manager = make.account(Role.CASE_MANAGER, agency="Hotline")
    outsider = make.account(Role.ADVOCATE, agency="Elsewhere")
    _flows(cap, admin, advocate, manager, outsider, make)

    leaks: list[str] = []
    formatter = JsonFormatter()
    records = "\n".join(f"{formatter.format(r)} {r.args!r} {r.exc_text or ''}"
                        for r in caplog.records if _server_side(r))
    assert '"route": "/v1/cases/{case_id}"' in records  # the access log was captured
    for label, blob in [("root log", logs.getvalue().encode()),
                        ("caplog", records.encode()), *cap.exposed]:
        leaks += [f"{label}: {hit}" for hit in _hits(blob)]
    raw = _raw_storage(services)
    assert b"Safe House 9" in raw  # the scan does see plaintext columns
    leaks += [f"raw storage: {hit}" for hit in _hits(raw)]
    assert leaks == [], "\n".join(leaks)
    assert len(cap.exposed) >= 30
