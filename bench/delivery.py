"""Benchmark of message delivery on PostgreSQL: throughput with 1 and 3 workers, and latency.

For each worker count, a fresh migrated database gets one webhook endpoint pointing at a
receiver in this process (a threaded HTTP server that checks every signature, as a partner
would) and:
1. a backlog of `--messages` messages committed at once; `homeward worker` processes (1, then
   3) drain it; throughput = messages / time from the workers' start to the last delivery;
2. a paced stream of `--paced` messages, one commit every `--gap` seconds, with the workers
   running; latency = the receiver's first 2xx minus the producer's commit, p50 and p95.
Printed: both figures per worker count, and the ratio of 3 workers to 1 (the baseline measured
in the same run). On a 2-core machine shared with other work, 3 workers cannot reach 3x.

Run: `.venv/bin/python bench/delivery.py [--messages 2000] [--paced 200] [--gap 0.02]`
(`HOMEWARD_BENCH_POSTGRES_URL`, default postgresql://postgres@127.0.0.1:5432/postgres, is the
server where the scratch databases are made and dropped).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services
from api.config import Settings
from bench.stats import pct
from core import service as accounts
from core.crypto import new_key_text
from core.models import AgencyKind
from core.principal import SYSTEM
from delivery import outbox
from delivery.models import Channel, DeliveryEndpoint
from delivery.signing import WebhookVerifier

SECRET = "bench-webhook-secret"
HOMEWARD = Path(sys.executable).with_name("homeward")


class Receiver:
    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.lock = threading.Lock()
        verifier = WebhookVerifier(SECRET)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    verifier.verify(dict(self.headers.items()), raw)
                    outer.first.setdefault(int(self.headers["X-Homeward-Message-Id"]),
                                           time.time())
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _admin(url: str, sql: str) -> None:
    engine = create_engine(str(make_url(url).set(drivername="postgresql+psycopg")),
                           isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(sql))
    engine.dispose()


ADMIN_URL = os.environ.get("HOMEWARD_BENCH_POSTGRES_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")


def delivered_count(services: Any) -> int:
    """Messages the workers have delivered so far (read straight from the outbox)."""
    with services.db.engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM outbox_message WHERE state = 'delivered'")).scalar() or 0)


def stop_all(procs: list[subprocess.Popen[bytes]], receiver: Any, services: Any,
             admin_url: str, name: str) -> None:
    """Stop the processes still running, the receiver, and drop the bench's database."""
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait()
    receiver.server.shutdown()
    services.db.dispose()
    _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(admin_url: str, workers: int, messages: int, paced: int, gap: float,
         workdir: Path) -> tuple[float, list[float]]:
    name = f"hw_bench_delivery_{uuid.uuid4().hex[:8]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name) \
        .render_as_string(hide_password=False)
    key = new_key_text()
    services = build_services(Settings(database_url=url, secret_key=key,
                                       key_file=workdir / "unused.key"))
    receiver = Receiver()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            agency = accounts.ensure_agency(session, actor=SYSTEM, name="Bench",
                                            kind=AgencyKind.HOTLINE).id
            assert agency is not None
            session.add(DeliveryEndpoint(
                agency_id=agency, channel=Channel.WEBHOOK,
                address_sealed=services.cipher.seal(receiver.url, field=outbox.ADDRESS_FIELD),
                secret_sealed=services.cipher.seal(SECRET, field=outbox.SECRET_FIELD)))
            session.commit()

        def enqueue(count: int, start: int) -> list[int]:
            with services.db.write_session() as session:
                rows = [r for n in range(start, start + count) for r in outbox.enqueue(
                    session, cipher=services.cipher, kind="bench", body={
                        "subject": "bench", "text": f"message {n}", "data": {"n": n}},
                    to=outbox.Recipient(agency_id=agency), agency_id=agency,
                    source_type="bench", source_id=n)]
                session.commit()
            return [r.id for r in rows if r.id is not None]

        def delivered() -> int:
            return delivered_count(services)

        enqueue(messages, 0)
        env = {**os.environ, "HOMEWARD_DATABASE_URL": url, "HOMEWARD_SECRET_KEY": key,
               "HOMEWARD_DELIVERY_BATCH": "20", "HOMEWARD_DELIVERY_IDLE_S": "0.02"}
        started = time.perf_counter()
        for i in range(workers):
            procs.append(subprocess.Popen([str(HOMEWARD), "worker", "--name", f"bench{i}"],
                                          env=env, cwd=workdir, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        while delivered() < messages:
            if any(p.poll() is not None for p in procs):
                raise SystemExit("a worker died")
            time.sleep(0.02)
        rate = messages / (time.perf_counter() - started)

        committed: dict[int, float] = {}
        for n in range(paced):
            [mid] = enqueue(1, messages + n)
            committed[mid] = time.time()
            time.sleep(gap)
        while delivered() < messages + paced:
            time.sleep(0.02)
        latencies = [(receiver.first[m] - t) * 1000 for m, t in committed.items()]
        return rate, latencies
    finally:
        stop_all(procs, receiver, services, admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.02)
    args = parser.parse_args()
    admin_url = ADMIN_URL
    results: dict[int, tuple[float, list[float]]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for workers in (1, 3):
            results[workers] = _run(admin_url, workers, args.messages, args.paced, args.gap,
                                    Path(folder))
            rate, lat = results[workers]
            print(f"{workers} worker(s): {rate:8.1f} messages/s (backlog of {args.messages}); "
                  f"commit to delivery p50 {pct(lat, 0.5):.1f} ms, p95 {pct(lat, 0.95):.1f} ms "
                  f"({args.paced} paced)")
    print(f"ratio 3 workers / 1 worker: throughput {results[3][0] / results[1][0]:.2f}x, "
          f"p95 {pct(results[3][1], 0.95) / pct(results[1][1], 0.95):.2f}x")


if __name__ == "__main__":
    main()
