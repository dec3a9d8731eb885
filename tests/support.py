"""Helpers shared by tests: accounts made through the real use cases, backend markers, waits.

A test that waits for another process waits on a condition (the server answers, a worker is
gone) for as long as that process is alive, and fails at once with its log if it died. The only
clock is `SAFETY_CAP_S`, far beyond any start-up on a loaded machine: it catches a hang, not a
slow run, so a loaded CI machine and a quiet one give the same verdict (bench/under_load.sh).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
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
SAFETY_CAP_S = 600.0


def wait_for(condition: Callable[[], bool], *, what: str,
             alive: Callable[[], bool] = lambda: True, log: Path | None = None,
             poll_s: float = 0.1) -> None:
    """Poll `condition` until it holds; fail fast if `alive()` turns false (the process we wait
    on died), or after SAFETY_CAP_S (a hang). `log` is shown in either failure."""
    started = time.monotonic()
    while not condition():
        elapsed = time.monotonic() - started
        if not alive() or elapsed > SAFETY_CAP_S:
            reason = "the process died" if not alive() else f"still not after {elapsed:.0f} s"
            shown = f"\n{log.read_text()}" if log is not None and log.exists() else ""
            raise AssertionError(f"waiting for {what}: {reason}{shown}")
        time.sleep(poll_s)


def listening_sockets(port: int) -> int:
    """How many sockets listen on the loopback TCP `port` (one per `serve` worker)."""
    hex_port = f":{port:04X}"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        count += sum(1 for line in lines
                     if line.split()[1].endswith(hex_port) and line.split()[3] == "0A")
    return count


def answers(url: str) -> bool:
    """Whether `url` answers 200 now (a refused or slow connection is a no, not an error)."""
    import httpx

    try:
        return httpx.get(url, timeout=10).status_code == 200
    except httpx.TransportError:
        return False


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
    from logistics.shelters import service as shelters
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


# The running test's node, set by an autouse fixture in tests/conftest.py, so helpers that start
# processes can insist on their tier's marker.
CURRENT_TEST: list[pytest.Item] = []
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def require_servers_marker() -> None:
    """Tests that start `homeward serve` form their own tier (`-m servers`, `-m "not servers"`):
    one that forgets the marker fails instead of slipping into the quick tier."""
    if CURRENT_TEST and CURRENT_TEST[-1].get_closest_marker("servers") is None:
        raise AssertionError(f"{CURRENT_TEST[-1].nodeid} starts servers: mark it "
                             "@pytest.mark.servers")


def needs_shared_data(*paths: Path) -> pytest.MarkDecorator:
    """Skip a test whose public data (`../shared/data`) is absent on a developer's machine; in CI
    (HOMEWARD_REQUIRE_SHARED_DATA=1, set by .ci/run) a missing file fails collection instead,
    so a test cannot pass CI by silently skipping."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing and os.environ.get("HOMEWARD_REQUIRE_SHARED_DATA") == "1":
        raise RuntimeError(f"shared data required in CI is missing: {', '.join(missing)}")
    return pytest.mark.skipif(bool(missing), reason=f"shared data absent: {', '.join(missing)}")


def require_shared_data(*paths: Path) -> None:
    """`needs_shared_data` inside a test or helper: skip here, fail in CI."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing and os.environ.get("HOMEWARD_REQUIRE_SHARED_DATA") == "1":
        pytest.fail(f"shared data required in CI is missing: {', '.join(missing)}")
    if missing:
        pytest.skip(f"shared data absent: {', '.join(missing)}")


@contextmanager
def served(database_url: str, secret_key: str, workdir: Path, *, workers: int = 1,
           env: dict[str, str] | None = None, args: Sequence[str] = ()) -> Iterator[str]:
    """Run `homeward serve` as its own process on a free loopback port; yield its base URL
    once every worker listens and /readyz answers."""
    require_servers_marker()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    full_env = {**os.environ, "HOMEWARD_DATABASE_URL": database_url,
                "HOMEWARD_SECRET_KEY": secret_key, **(env or {})}
    log_path = workdir / f"server-{port}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(HOMEWARD), "serve", "--port", str(port), "--workers", str(workers), *args],
            env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
            start_new_session=True)  # its own process group: a test can find all it started
    base = f"http://127.0.0.1:{port}"
    try:
        # Every worker binds its own socket once its app is loaded: all are up when all listen.
        wait_for(lambda: listening_sockets(port) >= workers and answers(f"{base}/readyz"),
                 what=f"`homeward serve` on port {port}",
                 alive=lambda: server.poll() is None, log=log_path)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=SAFETY_CAP_S)
