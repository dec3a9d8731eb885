"""Mixed-traffic load test on loopback: searches, holds, admits, matches, plans, itineraries,
web sign-ins and pages.

It prepares a database (the small national fixture plus the 18 DC shelters, the Amtrak
timetable when the shared data is present, accounts, cases and screenings), serves it with two
`homeward serve` worker processes, drives it with 16 client threads for a bounded time, then
checks that no request got a 5xx and that every inventory's counters agree with its holds.
It prints p50/p95 per route and the same for `/healthz` measured in the same run.

Run: `.venv/bin/python bench/load.py [--seconds 60] [--clients 16] [--postgres URL]`.
`tests/api/test_load_short.py` runs a short version in CI.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services
from api.config import Settings
from api.deps import Services
from bench.stats import pct
from core import service as accounts
from core import web_auth
from core.crypto import new_key_text
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM
from fixtures import loader
from logistics.shelters import service as shelters
from logistics.travel import feeds as transport_service

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CASE = {"household": [{"age": 30, "gender": "female"}], "languages": ["en"],
        "trafficking_type": "labor", "needs": [], "location": {"lat": 38.8973, "lon": -77.0063},
        "exclusions": {"points": [], "cities": [], "states": [], "shelter_ids": []},
        "has_photo_id": True, "urgency": 3, "max_travel_km": 300}


@dataclass
class World:
    advocates: list[str]
    coordinator: str
    coordinator_shelters: list[int]
    shelter_ids: list[int]
    cases: list[tuple[int, int]] = field(default_factory=list)  # (case id, screening id)
    web_sign_ins: list[tuple[str, str]] = field(default_factory=list)  # advocates' (name, pw)
    has_timetable: bool = False


def prepare(services: Services, *, clients: int) -> World:
    migrate.upgrade(services.db.engine)
    with services.db.write_session() as session:
        loader.load_demo(session, cipher=services.cipher)
    has_timetable = False
    if SHARED_DATA.is_dir():
        with services.db.write_session() as session:
            has_timetable = transport_service.load_demo_transport(
                session, actor=SYSTEM, data_dir=SHARED_DATA) is not None
    with services.db.write_session() as session:
        hotline = accounts.ensure_agency(session, actor=SYSTEM, name="Load Hotline",
                                         kind=AgencyKind.HOTLINE)
        provider = accounts.ensure_agency(session, actor=SYSTEM, name="Catholic Charities (DC)",
                                          kind=AgencyKind.SHELTER_ORGANISATION)
        assert hotline.id is not None and provider.id is not None
        runs = shelters.shelter_ids_of_agency(session, agency_id=provider.id)
        advocates, web_sign_ins = [], []
        for i in range(clients):
            account, issued = accounts.create_account(session, actor=SYSTEM, data=AccountCreate(
                name=f"load-{uuid.uuid4().hex[:6]}-{i}", role=Role.ADVOCATE,
                agency_id=hotline.id))
            advocates.append(issued.token)
            web_sign_ins.append((account.name, f"load passphrase {i:04d}"))
        _, coordinator = shelters.create_staff_account(
            session, actor=SYSTEM, shelter_ids=runs, data=AccountCreate(
                name=f"load-coord-{uuid.uuid4().hex[:6]}", role=Role.SHELTER_COORDINATOR,
                agency_id=provider.id))
        ids = [int(r) for r in session.execute(text("SELECT id FROM shelter")).scalars()]
    for name, password in web_sign_ins:
        with services.db.write_session() as session:
            web_auth.set_password(session, actor=SYSTEM, name=name, password=password)
    return World(advocates, coordinator.token, runs, ids, has_timetable=has_timetable,
                 web_sign_ins=web_sign_ins)


def make_cases(base: str, world: World, n: int) -> None:
    with httpx.Client(base_url=base, timeout=30) as http:
        for i in range(n):
            headers = {"Authorization": f"Bearer {world.advocates[i % len(world.advocates)]}"}
            case = http.post("/v1/cases", headers=headers,
                             json={**CASE, "case_ref": f"L-{uuid.uuid4().hex[:8]}"})
            case.raise_for_status()
            screening = http.post(f"/v1/cases/{case.json()['id']}/screenings", headers=headers,
                                  json={"answers": {"phone_monitored": True}})
            screening.raise_for_status()
            world.cases.append((case.json()["id"], screening.json()["id"]))


# Each simulated advocate searches around a fresh random point several times a second:
# thousands of circles an hour, which the probing limit rightly refuses. Lift it for the
# server under load, so the run measures the service rather than 429s.
SERVER_ENV = {"HOMEWARD_PROBE_LIMIT": "1000000"}

@dataclass
class Report:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, status: int, ms: float) -> None:
        with self.lock:
            self.latencies[route].append(ms)
            self.statuses[route][status] += 1

    def server_errors(self) -> int:
        return sum(n for codes in self.statuses.values() for s, n in codes.items() if s >= 500)


def _one(http: httpx.Client, rng: random.Random, world: World, i: int, report: Report) -> None:
    adv = {"Authorization": f"Bearer {world.advocates[i % len(world.advocates)]}"}
    op = rng.choices(["search", "hold", "admit", "match", "plan", "itinerary", "web"],
                     weights=[35, 20, 15, 10, 10, 10 if world.has_timetable else 0, 10])[0]
    started = time.perf_counter()
    if op == "web":
        route, response = _web(http, rng, world, i)
    elif op == "search":
        route = "GET /v1/shelters"
        response = http.get("/v1/shelters", headers=adv, params={
            "near": f"{38.9 + rng.uniform(-0.1, 0.1):.4f},{-77.0 + rng.uniform(-0.1, 0.1):.4f}",
            "radius_km": rng.choice([10, 30, 100])})
    elif op == "hold":
        route = "POST /v1/shelters/{id}/holds"
        shelter = rng.choice(world.shelter_ids)
        response = http.post(f"/v1/shelters/{shelter}/holds", headers=adv, json={
            "bed_type": rng.choice(["adult_any", "adult_female", "adult_male", "youth"]),
            "beds": 1, "case_ref": f"L-{i}", "ttl_minutes": 30})
        if response.status_code == 201:
            verb = rng.choice(["confirm", "release"])
            hold_id = response.json()["id"]
            follow = (http.post(f"/v1/holds/{hold_id}/confirm", headers=adv) if verb == "confirm"
                      else http.delete(f"/v1/holds/{hold_id}", headers=adv))
            report.add(f"{'POST' if verb == 'confirm' else 'DELETE'} /v1/holds/{{id}}...",
                       follow.status_code, 0.0)
    elif op == "admit":
        route = "POST /v1/shelters/{id}/beds/{type}/admit|discharge"
        shelter = rng.choice(world.coordinator_shelters)
        beds = http.get(f"/v1/shelters/{shelter}/beds", headers=adv).json()
        bed_type = rng.choice(beds)["bed_type"]
        verb = rng.choice(["admit", "discharge"])
        response = http.post(f"/v1/shelters/{shelter}/beds/{bed_type}/{verb}", json={"beds": 1},
                             headers={"Authorization": f"Bearer {world.coordinator}"})
    elif op == "match":
        route = "POST /v1/matches"
        response = http.post("/v1/matches", headers=adv, json={
            "case": {**CASE, "case_ref": f"M-{i}"}, "limit": 5})
    elif op == "plan":
        route = "POST /v1/safety-plans"
        case_id, screening_id = rng.choice(world.cases)
        owner = {"Authorization": f"Bearer {world.advocates[0]}"}
        response = http.post("/v1/safety-plans", headers=owner,
                             json={"case_id": case_id, "screening_id": screening_id})
    else:
        route = "POST /v1/itineraries/search"
        response = http.post("/v1/itineraries/search", headers=adv, json={
            "from": {"lat": 41.8789, "lon": -87.6397},
            "to": rng.choice([{"city": "Denver", "state": "CO"},
                              {"city": "Washington", "state": "DC"}]),
            "depart_after": "2023-04-12T08:00:00-04:00", "travellers": [{"age": 30}],
            "has_id": rng.random() < 0.5, "escort": False, "budget_cents": 40000,
            "avoid": {"cities": [], "states": [], "points": []}, "max_transfers": 2,
            "min_transfer_minutes": 30})
    report.add(route, response.status_code, (time.perf_counter() - started) * 1000)


def _web(http: httpx.Client, rng: random.Random, world: World, i: int
         ) -> tuple[str, httpx.Response]:
    """A page of an advocate's menu; signing in first (timed alone) now and then, as people do.
    The page request carries only the session cookie, never the client's API token."""
    if "hw_session" not in http.cookies or rng.random() < 0.2:
        name, password = world.web_sign_ins[i % len(world.web_sign_ins)]
        http.cookies.clear()
        http.get("/web/sign-in")
        return "POST /web/sign-in", http.post("/web/sign-in", data={
            "name": name, "password": password, "csrf_token": http.cookies.get("hw_signin", ""),
            "next": "/web/cases"})
    page = rng.choice(["/web/cases", "/web/rescue"])
    return f"GET {page}", http.get(page)


def drive(base: str, world: World, *, seconds: float, clients: int) -> Report:
    report = Report()
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client(base_url=base, timeout=60) as http:
            while time.perf_counter() < stop:
                _one(http, rng, world, i, report)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with httpx.Client(base_url=base, timeout=30) as http:
        for _ in range(100):
            started = time.perf_counter()
            response = http.get("/healthz")
            report.add("GET /healthz (baseline)", response.status_code,
                       (time.perf_counter() - started) * 1000)
    return report


def broken_invariants(services: Services) -> list[str]:
    """Inventories whose counters disagree with their holds or break the capacity rule."""
    with services.db.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT i.id, i.total, i.occupied, i.held, i.surge, "
            "COALESCE((SELECT SUM(h.beds) FROM bed_hold h WHERE h.inventory_id = i.id "
            "AND h.status = 'active'), 0) AS active FROM bed_inventory i")).all()
    return [f"inventory {r.id}: {r._asdict()}" for r in rows
            if r.held != r.active or not 0 <= r.occupied + r.held <= r.total + r.surge]


def print_report(report: Report) -> None:
    baseline = pct(report.latencies["GET /healthz (baseline)"], 0.95) or 1.0
    for route in sorted(report.latencies):
        values = [v for v in report.latencies[route] if v > 0]
        codes = dict(sorted(report.statuses[route].items()))
        if not values:
            print(f"  {route:<55} statuses {codes}")
            continue
        p95 = pct(values, 0.95)
        print(f"  {route:<55} n={len(values):5d} p50 {pct(values, .5):7.1f} ms "
              f"p95 {p95:7.1f} ms ({p95 / baseline:5.1f}x /healthz p95) statuses {codes}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--postgres", help="a PostgreSQL URL of an empty database to use")
    args = parser.parse_args()
    from tests.support import served

    with tempfile.TemporaryDirectory() as tmp:
        url = args.postgres or f"sqlite:///{Path(tmp) / 'load.db'}"
        key = new_key_text()
        services = build_services(Settings(database_url=url, secret_key=key))
        world = prepare(services, clients=args.clients)
        with served(url, key, Path(tmp), workers=2, env=SERVER_ENV) as base:
            make_cases(base, world, 4)
            report = drive(base, world, seconds=args.seconds, clients=args.clients)
        print(f"== {url.split(':')[0]}: {args.clients} clients for {args.seconds:.0f} s, "
              f"timetable {'on' if world.has_timetable else 'absent'}")
        print_report(report)
        broken = broken_invariants(services)
        print(f"  5xx responses: {report.server_errors()}; broken invariants: {len(broken)}")
        services.db.dispose()
        if report.server_errors() or broken:
            sys.exit(1)


if __name__ == "__main__":
    main()
