"""Helpers shared by tests: accounts made through the real use cases, backend markers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.deps import Services
from core import service as accounts
from core.models import AccountCreate, AgencyKind, Role
from core.principal import SYSTEM

POSTGRES_URL = os.environ.get("HOMEWARD_TEST_POSTGRES_URL")
BACKEND = "postgresql" if POSTGRES_URL else "sqlite"
HOMEWARD = Path(sys.executable).with_name("homeward")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    role: Role
    agency_id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class AccountFactory:
    """Creates agencies and accounts through the real use cases."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def agency(self, name: str, kind: AgencyKind = AgencyKind.HOTLINE) -> int:
        with self.services.db.write_session() as session:
            agency = accounts.ensure_agency(session, actor=SYSTEM, name=name, kind=kind)
            assert agency.id is not None
            return agency.id

    def account(self, role: Role, *, agency: str = "National Hotline",
                name: str | None = None, kind: AgencyKind | None = None) -> Account:
        """An account; a new agency is of `kind` (default: a coordinator's a shelter
        organisation, anyone else's the hotline, where a platform admin must be)."""
        kind = kind or (AgencyKind.SHELTER_ORGANISATION if role is Role.SHELTER_COORDINATOR
                        else AgencyKind.HOTLINE)
        agency_id = self.agency(agency, kind)
        name = name or f"{role.value}-{uuid.uuid4().hex[:8]}"
        with self.services.db.write_session() as session:
            account, issued = accounts.create_account(session, actor=SYSTEM, data=AccountCreate(
                name=name, role=role, agency_id=agency_id))
            assert account.id is not None
        return Account(account.id, name, role, agency_id, issued.token)


requires_postgres = pytest.mark.skipif(POSTGRES_URL is None,
                                       reason="HOMEWARD_TEST_POSTGRES_URL is not set")


def coordinator(factory: AccountFactory, shelter_ids: list[int], *,
                agency: str = "Capital Shelter Network") -> Account:
    """A shelter coordinator bound to the given shelters (all of `agency`)."""
    from logistics import service as shelters

    agency_id = factory.agency(agency, AgencyKind.SHELTER_ORGANISATION)
    name = f"coord-{uuid.uuid4().hex[:8]}"
    with factory.services.db.write_session() as session:
        account, issued = shelters.create_staff_account(
            session, actor=SYSTEM, shelter_ids=shelter_ids,
            data=AccountCreate(name=name, role=Role.SHELTER_COORDINATOR, agency_id=agency_id))
        assert account.id is not None
    return Account(account.id, name, Role.SHELTER_COORDINATOR, agency_id, issued.token)


def shelter_body(agency_id: int, **overrides: object) -> dict[str, object]:
    """A valid shelter as the API takes it: a women's shelter in Washington, DC."""
    body: dict[str, object] = {
        "name": "Harbor House", "agency_id": agency_id, "lat": 38.9007, "lon": -77.0090,
        "street_address": "425 2nd St NW", "city": "Washington", "state": "DC",
        "zip_code": "20001", "timezone": "America/New_York",
        "populations": ["adult_women"], "specialisation": "both", "languages": ["en", "es"],
        "beds": [{"bed_type": "adult_female", "total": 20, "occupied": 0}],
    }
    body.update(overrides)
    return body


@contextmanager
def served(database_url: str, secret_key: str, workdir: Path, *, workers: int = 1,
           env: dict[str, str] | None = None) -> Iterator[str]:
    """Run `homeward serve` as its own process on a free loopback port; yield its base URL."""
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    full_env = {**os.environ, "HOMEWARD_DATABASE_URL": database_url,
                "HOMEWARD_SECRET_KEY": secret_key, **(env or {})}
    log_path = workdir / f"server-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(HOMEWARD), "serve", "--port", str(port), "--workers", str(workers)],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError(f"server did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
