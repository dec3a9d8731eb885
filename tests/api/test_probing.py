"""Probing leaves a trace (issue #13 part 5): bisecting radii around one place is refused.

The recorded attack is replayed over HTTP: an advocate scans and then bisects `radius_km` of
shelter search, and exclusion radii of matching, around an anchor near a safe house. It gets a
429 problem+json with Retry-After before it finishes, a `probe.suspected` audit row appears and
the administrators' `GET /v1/probes` lists the account. An advocate's ordinary pattern (one
search refreshed 50 times, a handful of radii) is never refused, accounts are counted apart,
and once the window has passed (time is moved by ageing the stored rows) requests pass again.
A burst of distinct circles served by two worker processes spends exactly the budget.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from api.config import Settings
from api.deps import Services
from core.models import Role
from core.principal import Principal
from logistics.errors import TooManyProbes
from logistics.probes import service as probe_service
from logistics.probes.models import GeometryProbe, ProbeSuspicion
from logistics.probes.rules import ProbeLimits, search_probes
from tests.api.test_matching_api import case
from tests.conftest import TEST_KEY
from tests.support import Account, AccountFactory, served

PROBLEM = "application/problem+json"
ANCHOR = (29.7604, -95.3698)  # downtown Houston
SAFE_HOUSE = (29.9013, -95.5071)  # ~20 km from the anchor
LIMIT = 30


@pytest.fixture
def shelters(client: TestClient, admin: Account, make: AccountFactory) -> dict[str, int]:
    agency = make.agency("Gulf Coast Shelters")
    ids = {}
    for key, (name, (lat, lon), secret) in {
        "safe": ("Safe House", SAFE_HOUSE, True),
        "open": ("Open Door", (29.75, -95.35), False),
    }.items():
        created = client.post("/v1/shelters", headers=admin.headers, json={
            "name": name, "agency_id": agency, "lat": lat, "lon": lon,
            "street_address": f"{len(name)} Main St", "city": "Houston", "state": "TX",
            "timezone": "America/Chicago", "populations": ["adult_women"],
            "confidential_location": secret,
            "beds": [{"bed_type": "adult_female", "total": 5}]})
        assert created.status_code == 201, created.text
        ids[key] = int(created.json()["id"])
    return ids


def search(client: TestClient, who: Account, radius_km: float,
           near: tuple[float, float] = ANCHOR) -> Any:
    return client.get(f"/v1/shelters?near={near[0]},{near[1]}&radius_km={radius_km}",
                      headers=who.headers)


def bisect(client: TestClient, who: Account, found: Callable[[Any], bool],
           ask: Callable[[float], Any], *, budget: int = 120) -> tuple[list[int], Any]:
    """The attack as recorded: scan outward in 250 m steps, then bisect to the metre.

    The safe house is ~20 km from the anchor (and stays over 15 km however coarsely matching
    may place it), so the scan alone draws well over the limit of circles."""
    codes: list[int] = []
    last = None

    def probe(radius: float) -> bool | None:
        nonlocal last
        last = ask(radius)
        codes.append(last.status_code)
        return None if last.status_code != 200 else found(last.json())

    lo, hi = 0.0, 0.0
    for step in range(1, budget):
        inside = probe(step / 4)
        if inside is None or len(codes) >= budget:
            return codes, last
        if inside:
            lo, hi = (step - 1) / 4, step / 4
            break
    while hi - lo > 0.0005 and len(codes) < budget:
        mid = (lo + hi) / 2
        inside = probe(mid)
        if inside is None:
            break
        lo, hi = (lo, mid) if inside else (mid, hi)
    return codes, last


def _sees_safe_house(safe_id: int) -> Callable[[Any], bool]:
    return lambda page: any(h["shelter"]["id"] == safe_id for h in page["items"])


def test_search_bisection_is_refused_audited_and_listed(
        client: TestClient, shelters: dict[str, int], make: AccountFactory,
        admin: Account) -> None:
    attacker = make.account(Role.ADVOCATE, name="mallory")
    codes, refusal = bisect(client, attacker, _sees_safe_house(shelters["safe"]),
                            lambda r: search(client, attacker, r))
    assert codes[:LIMIT] == [200] * LIMIT and codes[LIMIT] == 429, codes
    assert refusal.headers["content-type"] == PROBLEM
    assert refusal.json()["type"] == "urn:homeward:problem:too-many-probes"
    assert 0 < int(refusal.headers["retry-after"]) <= 3600
    # Refusals go on being refused, and counted; a radius already answered is no new probe.
    assert search(client, attacker, 44.4).status_code == 429
    assert search(client, attacker, 1.0).status_code == 200

    trail = client.get(f"/v1/audit?object_type=account&object_id={attacker.id}",
                       headers=admin.headers).json()
    suspected = [e for e in trail if e["action"] == "probe.suspected"]
    assert len(suspected) == 1, "the first crossing is audited, not every refusal"
    row = suspected[0]
    assert row["purpose"] == "shelter search" and row["actor_account_id"] == attacker.id
    assert row["details"] == {"place": "29.7,-95.4", "source": "search", "variations": LIMIT,
                              "requested": 1, "limit": LIMIT, "window_s": 3600}
    assert "29.76" not in json.dumps(row) and "95.36" not in json.dumps(row)

    listed = client.get("/v1/probes", headers=admin.headers)
    assert listed.status_code == 200
    [episode] = listed.json()
    assert episode["account_id"] == attacker.id and episode["account_name"] == "mallory"
    assert episode["place_key"] == "29.7,-95.4" and episode["source"] == "search"
    assert episode["variations"] == LIMIT and episode["refused"] == 2
    assert episode["first_at"] <= episode["last_at"]
    assert client.get("/v1/probes", headers=attacker.headers).status_code == 403


def test_matching_exclusion_bisection_is_refused(
        client: TestClient, shelters: dict[str, int], make: AccountFactory,
        admin: Account) -> None:
    attacker = make.account(Role.ADVOCATE)
    far = {"lat": 30.27, "lon": -97.74}  # the household is in Austin, the probe in Houston

    def ask(radius: float) -> Any:
        body = case("P-1", location=far, exclusions={"points": [
            {"lat": ANCHOR[0], "lon": ANCHOR[1], "radius_km": radius}]})
        return client.post("/v1/matches", json={"case": body}, headers=attacker.headers)

    def excluded(result: dict[str, Any]) -> bool:
        return all(o["shelter_id"] != shelters["safe"] for o in result["options"])

    codes, refusal = bisect(client, attacker, excluded, ask)
    assert codes[:LIMIT] == [200] * LIMIT and codes[LIMIT] == 429, codes
    assert refusal.headers["content-type"] == PROBLEM and refusal.headers["retry-after"]
    [episode] = client.get("/v1/probes", headers=admin.headers).json()
    assert episode["place_key"] == "29.7,-95.4" and episode["source"] == "match"


def test_one_batch_drawing_many_circles_around_a_place_is_refused(
        client: TestClient, shelters: dict[str, int], make: AccountFactory) -> None:
    attacker = make.account(Role.ADVOCATE)
    bodies = [case(f"B-{i}", exclusions={"points": [
        {"lat": ANCHOR[0], "lon": ANCHOR[1], "radius_km": 10 + i / 10}]})
        for i in range(LIMIT + 1)]
    refused = client.post("/v1/matches/batch", json={"cases": bodies},
                          headers=attacker.headers)
    assert refused.status_code == 429 and refused.headers["content-type"] == PROBLEM
    fits = client.post("/v1/matches/batch", json={"cases": bodies[:5]},
                       headers=attacker.headers)
    assert fits.status_code == 200, fits.text


def test_ordinary_calls_are_never_refused(client: TestClient, shelters: dict[str, int],
                                          make: AccountFactory, admin: Account) -> None:
    advocate = make.account(Role.ADVOCATE)
    for _ in range(50):  # an advocate refreshing one search
        assert search(client, advocate, 30).status_code == 200
    for _ in range(4):  # and widening it a handful of times, again and again
        for radius in (5, 10, 25, 50, 100):
            assert search(client, advocate, radius).status_code == 200
    body = {"case": case("C-1", exclusions={"points": [
        {"lat": 29.85, "lon": -95.43, "radius_km": 5}]})}
    for _ in range(50):  # a stored or inline case matched again and again
        assert client.post("/v1/matches", json=body, headers=advocate.headers).status_code == 200
    stored = client.post("/v1/cases", json=case("C-2"), headers=advocate.headers).json()
    for _ in range(20):
        matched = client.post("/v1/matches", json={"case_id": stored["id"]},
                              headers=advocate.headers)
        assert matched.status_code == 200, matched.text
    assert client.get("/v1/probes", headers=admin.headers).json() == []


def _probe_times(services: Services) -> list[Any]:
    with services.db.read_session() as session:
        return [p.at for p in session.exec(select(GeometryProbe)).all()]


def test_a_refresh_writes_nothing_until_half_a_window_has_passed(
        client: TestClient, services: Services, shelters: dict[str, int],
        make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    assert search(client, advocate, 30).status_code == 200
    [first] = _probe_times(services)
    assert search(client, advocate, 30).status_code == 200
    assert _probe_times(services) == [first]
    with services.db.write_session() as session:
        for probe in session.exec(select(GeometryProbe)).all():
            probe.at -= timedelta(minutes=31)
            session.add(probe)
        session.commit()
    assert search(client, advocate, 30).status_code == 200
    [refreshed] = _probe_times(services)
    assert refreshed > first


def test_retention_drops_expired_circles_of_every_account(
        client: TestClient, services: Services, shelters: dict[str, int],
        make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    for radius in (5, 10):
        assert search(client, advocate, radius).status_code == 200
    with services.db.write_session() as session:
        old = session.exec(select(GeometryProbe)).first()
        assert old is not None
        old.at -= timedelta(hours=2)
        session.add(old)
        session.commit()
    with services.db.write_session() as session:
        assert probe_service.drop_expired(session, limits=services.probe_limits) == 1
    assert len(_probe_times(services)) == 1


@pytest.fixture
def strict(services: Services) -> Iterator[TestClient]:
    """The app with a limit of 3 circles per place, to reach it in a few requests."""
    tight = Services(settings=services.settings.model_copy(update={"probe_limit": 3}),
                     db=services.db, cipher=services.cipher,
        itinerary_ids=services.itinerary_ids,
        timetables=services.timetables)
    with TestClient(create_app(services=tight)) as test_client:
        yield test_client


def test_accounts_are_counted_apart(strict: TestClient, shelters: dict[str, int],
                                    make: AccountFactory) -> None:
    first, second = make.account(Role.ADVOCATE), make.account(Role.CASE_MANAGER)
    assert [search(strict, first, r).status_code for r in (1, 2, 3, 4)] == [200] * 3 + [429]
    assert [search(strict, second, r).status_code for r in (1, 2, 3)] == [200] * 3
    # Another place has a budget of its own.
    assert search(strict, first, 4, near=(40.71, -74.01)).status_code == 200


def test_stored_cases_count_too(strict: TestClient, shelters: dict[str, int],
                                make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    ids = [strict.post("/v1/cases", json=case(f"S-{km}", max_travel_km=km),
                       headers=advocate.headers).json()["id"] for km in (100, 200, 300, 400)]
    codes = [strict.post("/v1/matches", json={"case_id": i}, headers=advocate.headers)
             .status_code for i in ids]
    assert codes == [200, 200, 200, 429]


def test_requests_pass_again_once_the_window_has_passed(
        strict: TestClient, services: Services, shelters: dict[str, int],
        make: AccountFactory, admin: Account) -> None:
    advocate = make.account(Role.ADVOCATE)
    assert [search(strict, advocate, r).status_code for r in (1, 2, 3, 4)] == [200] * 3 + [429]
    # Time moves on: every stored probe and episode is an hour and a second older.
    hour = timedelta(seconds=3601)
    with services.db.write_session() as session:
        for probe in session.exec(select(GeometryProbe)).all():
            probe.at -= hour
            session.add(probe)
        for episode in session.exec(select(ProbeSuspicion)).all():
            episode.first_at -= hour
            episode.last_at -= hour
            session.add(episode)
        session.commit()
    assert [search(strict, advocate, r).status_code for r in (4, 5, 6)] == [200] * 3
    # A new crossing later is a new episode, audited again.
    assert search(strict, advocate, 7).status_code == 429
    episodes = strict.get("/v1/probes", headers=admin.headers).json()
    assert [e["refused"] for e in episodes] == [1, 1]
    trail = strict.get(f"/v1/audit?object_type=account&object_id={advocate.id}",
                       headers=admin.headers).json()
    assert [e["action"] for e in trail].count("probe.suspected") == 2


@pytest.mark.servers
def test_a_burst_across_two_worker_processes_cannot_overspend_the_budget(
        settings: Settings, tmp_path: Path, shelters: dict[str, int],
        make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2,
                env={"HOMEWARD_PROBE_LIMIT": "7"}) as base, \
            httpx.Client(base_url=base, timeout=60) as http, \
            ThreadPoolExecutor(max_workers=12) as pool:

        def one(radius: int) -> int:
            return http.get("/v1/shelters", headers=advocate.headers, params={
                "near": f"{ANCHOR[0]},{ANCHOR[1]}", "radius_km": radius}).status_code

        codes = Counter(pool.map(one, range(1, 31)))
    assert codes == Counter({200: 7, 429: 23}), codes


def test_concurrent_requests_cannot_overspend_the_budget(services: Services,
                                                         make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    actor = Principal(account_id=advocate.id, name="a", role=Role.ADVOCATE,
                      agency_id=None)
    limits = ProbeLimits(limit=7)

    def one(radius: int) -> bool:
        try:
            probe_service.guard(services.db, actor=actor, cipher=services.cipher,
                                probes=search_probes(*ANCHOR, radius), limits=limits,
                                source="search", purpose="shelter search")
        except TooManyProbes:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        allowed = list(pool.map(one, range(1, 25)))
    assert sum(allowed) == 7
