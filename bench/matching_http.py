"""Where people wait on matching: one household and batches of 1-10, end to end over HTTP.

Issue 14 asks for single-household matching at p95 <= 50 ms and batches of 1-10 households at
p95 <= 500 ms, end to end over HTTP. This serves the demo data (DC, the Texas state set and
the small national set) with `homeward serve --workers 2`, sends requests one at a time from
one client (latency, not throughput) around Washington and Houston, and prints p50/p95 for
single matches, for batches by size, and for `/healthz` measured in the same run as the
baseline, with each figure's ratio to it and the targets.

Run: `.venv/bin/python bench/matching_http.py [--singles 200] [--batches 60] [--gap 1]`.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services
from api.config import Settings
from bench.stats import pct
from core import service as accounts
from core.crypto import new_key_text
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM
from fixtures import loader

PLACES = ((38.8973, -77.0063), (29.7604, -95.3698))
SERVER_ENV = {"HOMEWARD_PROBE_LIMIT": "1000000"}


def _case(rng: random.Random) -> dict[str, object]:
    lat, lon = rng.choice(PLACES)
    members = rng.choice([[{"age": 31, "gender": "female"}],
                          [{"age": 28, "gender": "female"}, {"age": 6, "gender": "male"}],
                          [{"age": 40, "gender": "male"}]])
    return {"case_ref": f"B-{uuid.uuid4().hex[:8]}", "household": members,
            "languages": [rng.choice(["en", "es"])], "trafficking_type": "labor",
            "location": {"lat": lat + rng.uniform(-0.2, 0.2), "lon": lon + rng.uniform(-0.2, 0.2)},
            "exclusions": {"points": [], "cities": [], "states": [], "shelter_ids": []},
            "has_photo_id": True, "urgency": rng.randint(1, 5), "max_travel_km": 300}



def _timed(send: object) -> float:
    started = time.perf_counter()
    response = send()  # type: ignore[operator]
    response.raise_for_status()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--singles", type=int, default=200)
    parser.add_argument("--batches", type=int, default=60)
    parser.add_argument("--gap", type=float, default=0.0,
                        help="seconds between batches (0: back to back, the worst case for "
                             "the solver child started ahead of each solve)")
    args = parser.parse_args()
    from tests.support import served

    rng = random.Random(14)
    with tempfile.TemporaryDirectory() as tmp:
        url, key = f"sqlite:///{Path(tmp) / 'bench.db'}", new_key_text()
        services = build_services(Settings(database_url=url, secret_key=key))
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            loader.load_demo(session, cipher=services.cipher)
        with services.db.write_session() as session:
            agency = accounts.ensure_agency(session, actor=SYSTEM, name="Bench Hotline",
                                            kind=AgencyKind.HOTLINE)
            assert agency.id is not None
            _, issued = accounts.create_account(session, actor=SYSTEM, data=AccountCreate(
                name="bench-advocate", role=Role.ADVOCATE, agency_id=agency.id))
        services.db.dispose()
        headers = {"Authorization": f"Bearer {issued.token}"}
        with served(url, key, Path(tmp), workers=2, env=SERVER_ENV) as base, \
                httpx.Client(base_url=base, timeout=60, headers=headers) as http:
            for _ in range(5):  # warm both workers' connections and the solver child
                http.post("/v1/matches", json={"case": _case(rng)}).raise_for_status()
                http.post("/v1/matches/batch", json={"cases": [_case(rng)]}).raise_for_status()
            health = [_timed(lambda: http.get("/healthz")) for _ in range(200)]
            singles = [_timed(lambda: http.post("/v1/matches", json={"case": _case(rng)}))
                       for _ in range(args.singles)]
            sizes: dict[str, list[float]] = {"1-3": [], "4-6": [], "7-10": []}
            every: list[float] = []
            for i in range(args.batches):
                n = 1 + i % 10
                body = {"cases": [_case(rng) for _ in range(n)]}
                time.sleep(args.gap)
                ms = _timed(lambda body=body: http.post("/v1/matches/batch", json=body))
                every.append(ms)
                sizes["1-3" if n <= 3 else "4-6" if n <= 6 else "7-10"].append(ms)
    base_p95 = pct(health, 0.95)
    print(f"== matching over HTTP, 2 workers, demo data, {args.gap:g} s between batches; "
          f"baseline GET /healthz "
          f"p50 {pct(health, .5):.1f} / p95 {base_p95:.1f} ms")
    rows = [("POST /v1/matches (one household)", singles, 50.0),
            ("POST /v1/matches/batch (1-10 households)", every, 500.0),
            *((f"  batch of {k}", v, 500.0) for k, v in sizes.items())]
    for name, values, target in rows:
        p95 = pct(values, 0.95)
        print(f"  {name:<42} n={len(values):4d} p50 {pct(values, .5):7.1f} ms  p95 {p95:7.1f}"
              f" ms  ({p95 / base_p95:5.1f}x healthz; target p95 <= {target:.0f} ms: "
              f"{'met' if p95 <= target else 'NOT met'})")


if __name__ == "__main__":
    main()
