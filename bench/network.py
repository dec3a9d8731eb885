"""Benchmark of the partner network at national scale.

Directory (this file's `bench_directory`): loads the ~3,000-entry national directory fixture
into a fresh SQLite file, then measures in process p50/p95 of `search_services` and
`search_organizations` (the use cases the routes call) for random points near real places with
random filters (service, language, open now, law-enforcement level), beside a trivial baseline
measured the same way in the same run (`SELECT 1` through the same read session).
Target: directory search p95 <= 20 ms in process.

Statistics: `bench_stats` is owned by the tips/statistics work and added there (see the marked
place below); `main` runs whichever benchmarks exist.

Run: `.venv/bin/python bench/network.py [--queries 400] [--seed 0]`
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services
from api.config import Settings
from core.crypto import new_key_text
from fixtures.national import places_by_state
from fixtures.network import load_directory
from network.directory_models import LawLevel, OrganizationKind, ServiceType
from network.directory_search import DirectoryQuery, search_organizations, search_services

DIRECTORY_TARGET_MS = 20.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(calls: list[Callable[[], object]]) -> list[float]:
    out = []
    for call in calls:
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _queries(rng: random.Random, n: int) -> list[DirectoryQuery]:
    places = sorted((p for ps in places_by_state().values() for p in ps),
                    key=lambda p: (p.state, p.name))
    weights = [p.population for p in places]
    out = []
    for _ in range(n):
        place = rng.choices(places, weights)[0]
        roll = rng.random()
        out.append(DirectoryQuery(
            lat=place.lat + rng.uniform(-0.1, 0.1), lon=place.lon + rng.uniform(-0.1, 0.1),
            service_type=rng.choice([None, *ServiceType]),
            language=rng.choice([None, None, "es", "vi", "zh"]),
            open_now=rng.random() < 0.3,
            kind=OrganizationKind.LAW_ENFORCEMENT if roll < 0.2 else None,
            law_level=rng.choice(list(LawLevel)) if roll < 0.1 else None,
            limit=20))
    return out


def bench_directory(queries: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        migrate.upgrade(create_engine(url))
        services = build_services(Settings(database_url=url, secret_key=new_key_text(),
                                           key_file=Path(tmp) / "k"))
        started = time.perf_counter()
        with services.db.write_session() as session:
            added = load_directory(session, seed=seed)
        print(f"loaded {added} directory entries in {time.perf_counter() - started:.1f} s")
        rng = random.Random(seed)
        qs = _queries(rng, queries)
        with services.db.read_session() as session:
            for q in qs[:20]:  # warm caches (GeoNames places, statement cache)
                search_services(session, query=q)
            baseline = _timed([lambda: session.execute(text("SELECT 1")).all()] * queries)
            svc = _timed([lambda q=q: search_services(session, query=q) for q in qs])
            org = _timed([lambda q=q: search_organizations(session, query=q) for q in qs])
        services.db.dispose()
    base95 = pct(baseline, 0.95)
    figures = {"services_p50": pct(svc, 0.5), "services_p95": pct(svc, 0.95),
               "organizations_p50": pct(org, 0.5), "organizations_p95": pct(org, 0.95),
               "baseline_p95": base95}
    print(f"trivial baseline (SELECT 1) p95 {base95:.3f} ms")
    for name in ("services", "organizations"):
        p50, p95 = figures[f"{name}_p50"], figures[f"{name}_p95"]
        verdict = "ok" if p95 <= DIRECTORY_TARGET_MS else "OVER TARGET"
        print(f"directory {name} search: p50 {p50:.1f} ms, p95 {p95:.1f} ms "
              f"({p95 / base95:.0f}x baseline; target <= {DIRECTORY_TARGET_MS:.0f} ms: "
              f"{verdict})")
    return figures


# ---------------------------------------------------------------------------------------
# STATISTICS BENCHMARK — owned by the tips/statistics work (network/stats*). Add
# `def bench_stats(args: argparse.Namespace) -> dict[str, float]` here; `main` calls it when
# it exists. Keep the directory function above unchanged.
# ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args, _unknown = parser.parse_known_args()
    bench_directory(args.queries, args.seed)
    stats = globals().get("bench_stats")
    if callable(stats):
        stats(args)


if __name__ == "__main__":
    main()
