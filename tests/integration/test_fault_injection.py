"""Fault injection: the database fails at each statement of the hold and admit flows.

On SQLite an OperationalError is raised at statement N; on PostgreSQL the connection is killed
with `pg_terminate_backend` right before statement N runs. Whatever N is, the request gets a
503 without personal data, nothing is half-written, the pool recovers, and a retry with the
same Idempotency-Key takes effect exactly once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from api.deps import Services
from core.models import Role
from tests.support import BACKEND, Account, AccountFactory, coordinator, shelter_body, wait_for

MAX_STATEMENTS = 40


class Injector:
    """Fails the Nth statement executed on the app's engine after it is armed."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.fail_at: int | None = None
        self.seen = 0
        self.fired = False
        self._admin = None
        if BACKEND == "postgresql":
            url = make_url(services.settings.database_url).set(drivername="postgresql+psycopg")
            self._admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=None)

    def arm(self, n: int) -> None:
        self.fail_at, self.seen, self.fired = n, 0, False

    def disarm(self) -> None:
        self.fail_at = None

    def before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any,
               executemany: bool) -> None:
        if self.fail_at is None:
            return
        self.seen += 1
        if self.seen != self.fail_at:
            return
        self.fired = True
        self.fail_at = None
        if BACKEND == "sqlite":
            raise OperationalError(statement, params, sqlite3.OperationalError("injected fault"))
        pid = cursor.connection.info.backend_pid
        assert self._admin is not None
        with self._admin.connect() as admin:
            admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            wait_for(lambda: not admin.execute(  # until the backend is really gone
                text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid}).scalar_one(), what="the backend to end", poll_s=0.02)

    def close(self) -> None:
        if self._admin is not None:
            self._admin.dispose()


@contextmanager
def injected(services: Services) -> Iterator[Injector]:
    injector = Injector(services)
    event.listen(services.db.engine, "before_cursor_execute", injector.before)
    try:
        yield injector
    finally:
        event.remove(services.db.engine, "before_cursor_execute", injector.before)
        injector.close()


@pytest.fixture
def world(client: TestClient, admin: Account, make: AccountFactory) -> dict[str, Any]:
    agency = make.agency("Fault Shelters")
    shelter = client.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        agency, beds=[{"bed_type": "adult_female", "total": 50, "occupied": 0}])).json()
    return {"shelter": shelter["id"],
            "coord": coordinator(make, [shelter["id"]], agency="Fault Shelters"),
            "make": make}


def _counts(client: TestClient, world: dict[str, Any]) -> dict[str, int]:
    row = client.get(f"/v1/shelters/{world['shelter']}/beds/adult_female",
                     headers=world["coord"].headers).json()
    return {k: row[k] for k in ("total", "occupied", "held")}


def test_hold_fails_cleanly_at_every_statement(client: TestClient, services: Services,
                                               world: dict[str, Any]) -> None:
    url = f"/v1/shelters/{world['shelter']}/holds"
    body = {"bed_type": "adult_female", "beds": 1, "case_ref": "C-1"}
    holds = 0
    with injected(services) as injector:
        for n in range(1, MAX_STATEMENTS):
            # A new advocate each round, so the cap on active holds per account never bites.
            advocate = world["make"].account(Role.ADVOCATE)
            headers = {**advocate.headers, "Idempotency-Key": f"fault-{n}"}
            injector.arm(n)
            failed = client.post(url, json=body, headers=headers)
            injector.disarm()
            if not injector.fired:
                assert failed.status_code == 201  # the flow has fewer than n statements
                holds += 1
                break
            assert failed.status_code == 503, (n, failed.text)
            assert failed.headers["retry-after"] and "C-1" not in failed.text
            assert _counts(client, world)["held"] == holds  # nothing half-written
            retried = client.post(url, json=body, headers=headers)
            again = client.post(url, json=body, headers=headers)
            assert retried.status_code == again.status_code == 201
            assert retried.json() == again.json()
            holds += 1
            assert _counts(client, world)["held"] == holds  # exactly once
        else:
            pytest.fail("the hold flow never completed within the statement budget")
    assert n > 3


def test_admit_fails_cleanly_at_every_statement(client: TestClient, services: Services,
                                                world: dict[str, Any]) -> None:
    url = f"/v1/shelters/{world['shelter']}/beds/adult_female/admit"
    occupied = 0
    with injected(services) as injector:
        for n in range(1, MAX_STATEMENTS):
            injector.arm(n)
            failed = client.post(url, json={"beds": 1}, headers=world["coord"].headers)
            injector.disarm()
            if not injector.fired:
                assert failed.status_code == 200
                break
            assert failed.status_code == 503, (n, failed.text)
            assert _counts(client, world)["occupied"] == occupied
            assert client.post(url, json={"beds": 1},
                               headers=world["coord"].headers).status_code == 200
            occupied += 1
            assert _counts(client, world)["occupied"] == occupied
        else:
            pytest.fail("the admit flow never completed within the statement budget")


def test_travel_booking_fails_cleanly_at_every_statement(
    client: TestClient, services: Services, world: dict[str, Any]
) -> None:
    from tests.api.test_travel_plans import open_case
    from tests.api.travel_support import load_year_round, tomorrow, vouched

    load_year_round(services)
    manager = world["make"].account(Role.CASE_MANAGER)
    case_id = open_case(client, manager)
    base = {"case_id": case_id, "shelter_id": world["shelter"], "bed_type": "adult_female",
            "hold_buffer_minutes": 30}

    def plans() -> int:
        listed = client.get("/v1/travel-plans", params={"case_id": case_id},
                            headers=manager.headers)
        return len(listed.json())

    made = 0
    with injected(services) as injector:
        for n in range(1, MAX_STATEMENTS):
            # A colleague per round, so the cap on active holds per account never bites.
            colleague = world["make"].account(Role.CASE_MANAGER)
            # Itinerary ids are the searching account's own: each colleague searches.
            body = {**base, "itinerary_id": vouched(client, colleague, tomorrow())}
            injector.arm(n)
            failed = client.post("/v1/travel-plans", json=body, headers=colleague.headers)
            injector.disarm()
            if not injector.fired:
                assert failed.status_code == 201
                made += 1
                break
            assert failed.status_code == 503, (n, failed.text)
            assert plans() == made and _counts(client, world)["held"] == made
            key = {**colleague.headers, "Idempotency-Key": f"trip-{n}"}
            retried = client.post("/v1/travel-plans", json=body, headers=key)
            again = client.post("/v1/travel-plans", json=body, headers=key)
            assert retried.status_code == again.status_code == 201, retried.text
            assert retried.json()["id"] == again.json()["id"]
            made += 1
            assert plans() == made and _counts(client, world)["held"] == made
        else:
            pytest.fail("the booking flow never completed within the statement budget")
    plan_id = client.get("/v1/travel-plans", params={"case_id": case_id},
                         headers=manager.headers).json()[0]["id"]
    assert client.post(f"/v1/travel-plans/{plan_id}/status", json={"status": "approved"},
                       headers=manager.headers).status_code == 200
    with injected(services) as injector:
        for n in range(1, MAX_STATEMENTS):
            injector.arm(n)
            failed = client.post(f"/v1/travel-plans/{plan_id}/status", headers=manager.headers,
                                 json={"status": "booked", "booking_references": ["AMT-1"]})
            injector.disarm()
            if not injector.fired:
                assert failed.status_code == 200, failed.text
                break
            assert failed.status_code == 503, (n, failed.text)
            current = client.get(f"/v1/travel-plans/{plan_id}", headers=manager.headers).json()
            assert current["status"] == "approved"  # nothing half-written
        else:
            pytest.fail("booking never completed within the statement budget")
