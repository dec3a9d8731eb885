"""Benchmark of the shelter registry at national scale: search latency and hold throughput.

It loads the national fixture (5,000 shelters, ~420,000 beds) into a fresh SQLite file and a
fresh PostgreSQL database, then measures:
- search latency p50/p95 in process (the use case called directly) and over HTTP (a real
  `homeward serve` process), for random points near shelters with random filters;
- hold throughput over HTTP with 16 concurrent clients (each its own account, holding one bed
  at a random shelter that has that adult bed type), on SQLite and on PostgreSQL, served by
  `homeward serve --workers 2` exactly as in production.
Every figure is printed with its ratio to a trivial endpoint (`/healthz`) measured the same way
in the same run. Targets: search p95 <= 30 ms in process; hold throughput >= 25% of the trivial
endpoint's.

Run: `.venv/bin/python bench/registry.py [--queries 300] [--seconds 10] [--no-postgres]`
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlmodel import col, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services, create_app
from api.config import Settings
from bench.stats import pct
from core import service as accounts
from core.crypto import new_key_text
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM, Principal
from fixtures import loader
from logistics.beds.search import SearchQuery, search_shelters
from logistics.shelters.models import BedInventory, Shelter
from logistics.vocabulary import Population
from tests.support import served

ADULT_TYPES = ("adult_any", "adult_female", "adult_male")
SEARCH_TARGET_MS = 30.0
HOLD_TARGET_RATIO = 0.25
PG_ADMIN = os.environ.get("HOMEWARD_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")



def timed(fn: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def prepare(url: str, key: str) -> tuple[Settings, dict[str, str], list[tuple[float, float]],
                                        list[tuple[int, str]]]:
    settings = Settings(database_url=url, secret_key=key)
    services = build_services(settings)
    migrate.upgrade(services.db.engine)
    with services.db.write_session() as session:
        report = loader.load(session, cipher=services.cipher, scale="national", seed=0)
    print(f"  loaded: {report.summary()}")
    tokens = {}
    with services.db.write_session() as session:
        agency = accounts.ensure_agency(session, actor=SYSTEM, name="Bench Hotline",
                                        kind=AgencyKind.HOTLINE)
        assert agency.id is not None
        for i in range(16):
            _, issued = accounts.create_account(session, actor=SYSTEM, data=AccountCreate(
                name=f"bench-{uuid.uuid4().hex[:8]}-{i}", role=Role.ADVOCATE,
                agency_id=agency.id))
            tokens[f"c{i}"] = issued.token
    with services.db.read_session() as session:
        points = [(s.lat, s.lon) for s in session.exec(select(Shelter)).all()]
        # Holds go where such beds exist, so the benchmark measures holds, not lookups of
        # bed types a shelter does not have.
        targets = sorted((inv.shelter_id, inv.bed_type) for inv in session.exec(
            select(BedInventory).where(col(BedInventory.bed_type).in_(ADULT_TYPES))).all())
    services.db.dispose()
    return settings, tokens, points, targets


def random_query(rng: random.Random, points: list[tuple[float, float]]) -> dict[str, object]:
    lat, lon = rng.choice(points)
    query: dict[str, object] = {"near": f"{lat + rng.uniform(-0.2, 0.2):.4f},"
                                        f"{lon + rng.uniform(-0.2, 0.2):.4f}",
                                "radius_km": rng.choice([25, 50, 100, 200])}
    if rng.random() < 0.6:
        query["population"] = rng.choice(list(Population)).value
    if rng.random() < 0.3:
        query["language"] = "es"
    return query


def in_process(settings: Settings, points: list[tuple[float, float]], n: int) -> None:
    services = build_services(settings)
    with services.db.read_session() as session:
        account = session.exec(select(accounts.Account).where(
            accounts.Account.role == "advocate")).first()
        assert account is not None and account.id is not None
    actor = Principal(account_id=account.id, name=account.name, role=Role.ADVOCATE,
                      agency_id=account.agency_id)
    rng = random.Random(1)

    def one() -> None:
        q = random_query(rng, points)
        lat, lon = (float(x) for x in str(q["near"]).split(","))
        population = Population(q["population"]) if "population" in q else None
        with services.db.read_session() as session:
            search_shelters(session, actor=actor, cipher=services.cipher, query=SearchQuery(
                lat=lat, lon=lon, radius_km=float(q["radius_km"]),  # type: ignore[arg-type]
                population=population, language=q.get("language")))  # type: ignore[arg-type]

    from fastapi.testclient import TestClient

    with TestClient(create_app(services=services)) as client:
        timed(lambda: client.get("/healthz"), 50)
        trivial = timed(lambda: client.get("/healthz"), n)
    timed(one, 20)
    search = timed(one, n)
    t95 = pct(trivial, 0.95)
    print(f"  search in process     p50 {pct(search, .5):7.2f} ms  p95 {pct(search, .95):7.2f} ms"
          f"  (trivial endpoint in process p95 {t95:.2f} ms; ratio {pct(search, .95) / t95:.1f}x)"
          f"  target p95 <= {SEARCH_TARGET_MS} ms: "
          f"{'met' if pct(search, .95) <= SEARCH_TARGET_MS else 'NOT met'}")
    services.db.dispose()


def over_http(base: str, tokens: dict[str, str], points: list[tuple[float, float]],
              targets: list[tuple[int, str]], n: int, seconds: float) -> None:
    rng = random.Random(2)
    headers = {"Authorization": f"Bearer {tokens['c0']}"}
    with httpx.Client(base_url=base, timeout=30) as http:
        trivial = timed(lambda: http.get("/healthz"), n)
        search = timed(lambda: http.get("/v1/shelters", params=random_query(rng, points),
                                        headers=headers), n)
    t95 = pct(trivial, 0.95)
    print(f"  search over HTTP      p50 {pct(search, .5):7.2f} ms  p95 {pct(search, .95):7.2f} ms"
          f"  (trivial /healthz p95 {t95:.2f} ms; ratio {pct(search, .95) / t95:.1f}x)")
    trivial_rps, _ = throughput(base, tokens, seconds, targets=None)
    hold_rps, outcomes = throughput(base, tokens, seconds, targets=targets)
    ratio = hold_rps / trivial_rps
    print(f"  hold throughput, 16 clients: {hold_rps:7.1f} req/s  (trivial {trivial_rps:.1f} "
          f"req/s; ratio {ratio:.2f}; target >= {HOLD_TARGET_RATIO}: "
          f"{'met' if ratio >= HOLD_TARGET_RATIO else 'NOT met'})  "
          f"[{outcomes.get(201, 0)} held, {outcomes.get(409, 0)} full]")


def throughput(base: str, tokens: dict[str, str], seconds: float,
               targets: list[tuple[int, str]] | None) -> tuple[float, dict[int, int]]:
    """Requests per second from 16 clients for `seconds`: holds at `targets`, or /healthz."""
    counts = [0] * 16
    outcomes: dict[int, int] = {}
    errors = [0] * 16
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[f'c{i}']}"}
        rng = random.Random(i)
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.perf_counter() < stop:
                if targets:
                    shelter_id, bed_type = rng.choice(targets)
                    response = http.post(f"/v1/shelters/{shelter_id}/holds", headers=headers,
                                         json={"bed_type": bed_type, "beds": 1,
                                               "case_ref": f"B-{i}"})
                    ok = response.status_code in (201, 409)
                    outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
                else:
                    ok = http.get("/healthz").status_code == 200
                counts[i] += 1
                errors[i] += 0 if ok else 1
    threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if sum(errors):
        print(f"  !! {sum(errors)} unexpected responses")
    return sum(counts) / seconds, outcomes


def run(label: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    print(f"== {label}")
    key = new_key_text()
    started = time.perf_counter()
    settings, tokens, points, targets = prepare(url, key)
    print(f"  national fixture ready in {time.perf_counter() - started:.1f} s")
    in_process(settings, points, args.queries)
    with served(url, key, workdir, workers=2,
                env={"HOMEWARD_MAX_ACTIVE_HOLDS": "1000000"}) as base:
        over_http(base, tokens, points, targets, args.queries, args.seconds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        run("SQLite", f"sqlite:///{workdir / 'bench.db'}", args, workdir)
        if not args.no_postgres:
            name = f"hw_bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                                  isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            try:
                run("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", args, workdir)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


if __name__ == "__main__":
    main()
