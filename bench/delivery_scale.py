"""The full-scale delivery run of issue 21 item 5, on PostgreSQL (not in CI: minutes of work).

A fresh migrated database; two API processes (`homeward serve`, each on its own port) and three
worker processes (`homeward worker`); a webhook receiver in this process that checks every
signature, counts what it processed by idempotency key (what "exactly once" means to a
partner) and fails the first attempt of a fifth of the keys (chosen by the key, so the retry
is real). `--messages` referrals (default 10,000) are POSTed by `--clients` threads, spread
over both API processes; each commits its outbox message with it. With `--kill` (the default)
one worker is SIGKILLed once a third of the messages are delivered: its claims come back when
their lease runs out, and nothing may be lost.

Printed: messages, delivered exactly once as the receiver counts (and lost, and duplicate
processing: both must be 0), first attempts failed and retried, deliveries that a killed worker
had to leave for another (re-sent, deduplicated by key), API requests per second, delivery
throughput (messages / time from the first POST to the last delivery), and the latency from
the message's enqueue (in the referral's transaction) to the receiver's 2xx: p50 and p95, over
all and over the messages delivered at their first attempt. The load average is printed before
and after: the machine is shared, so figures are only comparable at similar load.

Run: `.venv/bin/python bench/delivery_scale.py [--messages 10000] [--clients 8] [--no-kill]`
(`HOMEWARD_BENCH_POSTGRES_URL`, default postgresql://postgres@127.0.0.1:5432/postgres, is the
server where the scratch database is made and dropped).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import make_url, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api import migrate
from api.app import build_services
from api.config import Settings
from bench.delivery import ADMIN_URL, _admin, delivered_count, stop_all
from bench.stats import pct
from core import service as accounts
from core.crypto import new_key_text
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM
from delivery.signing import SignatureRefused, WebhookVerifier

SECRET = "bench-scale-webhook-secret"
HOMEWARD = Path(sys.executable).with_name("homeward")
CASES = 50


def fails_first(key: str) -> bool:
    return int(key[:8], 16) % 5 == 0  # a fifth of the keys, fixed by the key itself


class Receiver:
    """A partner's webhook endpoint: verifies, fails a fifth of first attempts, dedupes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.attempts: Counter[str] = Counter()
        self.processed: Counter[str] = Counter()
        self.ok_at: dict[int, float] = {}  # message id -> first 2xx (wall clock)
        self.answered_ok: Counter[str] = Counter()
        self.refused = 0
        verifier = WebhookVerifier(SECRET)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with outer.lock:
                    try:
                        verifier.verify(dict(self.headers.items()), raw)
                    except SignatureRefused:
                        outer.refused += 1
                        self._answer(401)
                        return
                    key = self.headers["Idempotency-Key"]
                    outer.attempts[key] += 1
                    if outer.attempts[key] == 1 and fails_first(key):
                        self._answer(503)
                        return
                    if key not in outer.processed:
                        outer.processed[key] += 1  # the partner's work, once per key
                    outer.answered_ok[key] += 1
                    outer.ok_at.setdefault(int(self.headers["X-Homeward-Message-Id"]),
                                           time.time())
                self._answer(200)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the API process at {base} exited")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(admin_url: str, messages: int, clients: int, kill: bool, workdir: Path) -> None:
    print(f"load average before: {_load()} ({os.cpu_count()} cores)", flush=True)
    name = f"hw_bench_scale_{uuid.uuid4().hex[:8]}"
    _admin(admin_url, f'CREATE DATABASE "{name}"')
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name) \
        .render_as_string(hide_password=False)
    key = new_key_text()
    services = build_services(Settings(database_url=url, secret_key=key,
                                       key_file=workdir / "unused.key"))
    receiver = Receiver()
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "HOMEWARD_DATABASE_URL": url, "HOMEWARD_SECRET_KEY": key,
           "HOMEWARD_DELIVERY_BATCH": "20", "HOMEWARD_DELIVERY_IDLE_S": "0.05",
           "HOMEWARD_DELIVERY_LEASE_S": "10", "HOMEWARD_DELIVERY_BACKOFF_BASE_S": "0.5",
           "HOMEWARD_DELIVERY_BACKOFF_CAP_S": "2"}
    try:
        migrate.upgrade(services.db.engine)
        with services.db.write_session() as session:
            agency = accounts.ensure_agency(session, actor=SYSTEM, name="Bench Hotline",
                                            kind=AgencyKind.HOTLINE).id
            tokens = {}
            for role in (Role.PLATFORM_ADMIN, Role.ADVOCATE):
                _account, issued = accounts.create_account(session, actor=SYSTEM,
                                                           data=AccountCreate(
                    name=f"bench-{role.value}", role=role, agency_id=agency))
                tokens[role] = {"Authorization": f"Bearer {issued.token}"}
        bases = []
        for i in range(2):
            port = _free_port()
            log = (workdir / f"api-{i}.log").open("w")
            procs.append(subprocess.Popen(
                [str(HOMEWARD), "serve", "--port", str(port)], env=env, cwd=workdir,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            _wait_ready(base, proc)
        with httpx.Client(base_url=bases[0], timeout=30) as http:
            org = http.post("/v1/directory/organizations", headers=tokens[Role.PLATFORM_ADMIN],
                            json={"name": "Bench Law Project", "specialisation": "both",
                                  "lat": 29.76, "lon": -95.36, "city": "Houston",
                                  "state": "TX", "timezone": "America/Chicago",
                                  "services": [{"service_type": "legal", "name": "T visa"}],
                                  "areas": [{"kind": "city", "state": "TX",
                                             "city": "Houston"}]}).json()["id"]
            made = http.post("/v1/delivery/endpoints", headers=tokens[Role.PLATFORM_ADMIN],
                             json={"channel": "webhook", "address": receiver.url,
                                   "secret": SECRET, "organization_id": org})
            assert made.status_code == 201, made.text
            cases = [http.post("/v1/cases", headers=tokens[Role.ADVOCATE], json={
                "case_ref": f"B-{n:04}", "household": [{"age": 30, "gender": "female"}],
                "languages": ["es"], "trafficking_type": "labor",
                "location": {"lat": 29.76, "lon": -95.37}}).json()["id"]
                for n in range(CASES)]
        workers = []
        for i in range(3):
            workers.append(subprocess.Popen(
                [str(HOMEWARD), "worker", "--name", f"scale{i}"], env=env, cwd=workdir,
                stdout=subprocess.DEVNULL, stderr=(workdir / f"worker-{i}.log").open("w"),
                start_new_session=True))
        procs += workers

        def delivered() -> int:
            return delivered_count(services)

        errors: Counter[int] = Counter()
        local = threading.local()

        def refer(n: int) -> None:
            if not hasattr(local, "clients"):
                local.clients = [httpx.Client(base_url=b, timeout=60) for b in bases]
            answer = local.clients[n % 2].post("/v1/referrals", headers=tokens[Role.ADVOCATE],
                                               json={"case_id": cases[n % CASES],
                                                     "recipient_id": org,
                                                     "service_type": "legal"})
            if answer.status_code != 201:
                errors[answer.status_code] += 1

        started = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            posting = pool.map(refer, range(messages))
            killed = None
            while kill and killed is None:
                if delivered() >= messages // 3:
                    os.killpg(workers[0].pid, signal.SIGKILL)
                    killed = workers[0].wait()
                    print(f"worker scale0 SIGKILLed at {delivered()} delivered", flush=True)
                time.sleep(0.05)
            list(posting)
        posted_s = time.perf_counter() - started
        created = messages - sum(errors.values())
        while delivered() < created:
            if all(w.poll() is not None for w in workers):
                raise SystemExit("every worker died")
            time.sleep(0.1)
        total_s = time.perf_counter() - started

        with services.db.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT id, idempotency_key, created_at, attempts, claimed_by, state "
                "FROM outbox_message")).all()
        keys = {r[1] for r in rows}
        latencies = [(receiver.ok_at[r[0]] - r[2].timestamp()) * 1000 for r in rows
                     if r[0] in receiver.ok_at]
        first_time = [(receiver.ok_at[r[0]] - r[2].timestamp()) * 1000 for r in rows
                      if r[0] in receiver.ok_at and receiver.attempts[r[1]] == 1]
        once = sum(1 for k in keys if receiver.processed[k] == 1)
        resent = sum(1 for k in keys if receiver.answered_ok[k] > 1)
        states = Counter(r[5] for r in rows)
        print(json.dumps({"api_errors": dict(errors), "states": dict(states)}))
        print(f"messages {created}: delivered exactly once {once}, lost "
              f"{sum(1 for k in keys if receiver.processed[k] == 0)}, processed twice "
              f"{sum(1 for k in keys if receiver.processed[k] > 1)}; first attempts failed "
              f"{sum(1 for k in keys if fails_first(k))}; re-sent after success (deduplicated "
              f"by key) {resent}; signatures refused {receiver.refused}")
        print(f"API: {messages} referrals through 2 processes in {posted_s:.1f} s = "
              f"{messages / posted_s:.1f} requests/s ({clients} clients)")
        print(f"delivery: {created} messages by 3 workers{' (one SIGKILLed)' if kill else ''}"
              f" in {total_s:.1f} s = {created / total_s:.1f} messages/s")
        print(f"enqueue to receiver 2xx: p50 {pct(latencies, 0.5):.0f} ms, p95 "
              f"{pct(latencies, 0.95):.0f} ms; first-attempt deliveries p50 "
              f"{pct(first_time, 0.5):.0f} ms, p95 {pct(first_time, 0.95):.0f} ms")
        print(f"load average after: {_load()} at {datetime.now().isoformat(timespec='seconds')}")
    finally:
        stop_all(procs, receiver, services, admin_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--no-kill", dest="kill", action="store_false")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        run(ADMIN_URL, args.messages, args.clients, args.kill, Path(folder))


if __name__ == "__main__":
    main()
