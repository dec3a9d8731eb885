"""Two worlds that differ only in where the safe houses really are, for non-interference tests.

A `World` is its own database and app with the same agencies, accounts and shelters made in
the same order under one frozen clock, so ids, versions, timestamps and every public field
agree between two worlds. `World.place` then writes each safe house's sealed exact point
(anywhere inside its published cell) straight into storage: the secret, and the only thing
that differs. A caller without the right to see a safe house's place must get byte-identical
answers from both worlds; `same_answers` runs one request in each and says where they differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from api.app import build_services, create_app
from api.config import Settings
from api.deps import Services
from core import clock
from core.crypto import new_key_text
from core.models import AgencyKind, Role
from logistics.shelters.models import Shelter
from logistics.shelters.service import LOCATION_FIELD
from logistics.shelters.visibility import CONFIDENTIAL_GRID_DEG, coarse_point
from tests.support import Account, AccountFactory

KEY = new_key_text()
FROZEN_AT = datetime(2026, 3, 14, 15, 0, tzinfo=UTC)
# Published grid points of the safe houses (Houston area) and two ordinary shelters.
SAFE_CELLS = ((29.80, -95.40), (29.70, -95.30), (29.95, -95.55))
PUBLIC_POINTS = ((29.7612, -95.3701), (29.7421, -95.3602))
# Headers that are a function of the response alone; Date and the like are left out.
COMPARED_HEADERS = ("content-type", "etag", "content-disposition", "location", "retry-after",
                    "x-request-id")


@contextmanager
def frozen_clock(at: datetime = FROZEN_AT) -> Iterator[None]:
    """Every `core.clock.utcnow()` answers `at`, so two worlds stamp the same times."""

    class _Frozen(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return at if tz is None else at.astimezone(tz)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(clock, "datetime", _Frozen)
        yield


def shelter_body(agency_id: int, name: str, point: tuple[float, float], *,
                 confidential: bool) -> dict[str, Any]:
    return {
        "name": name, "agency_id": agency_id, "lat": point[0], "lon": point[1],
        "street_address": f"{len(name)} Quiet Street", "city": "Houston", "state": "TX",
        "zip_code": "77002", "timezone": "America/Chicago",
        "populations": ["adult_women", "families_with_children"], "children_max_age": 17,
        "languages": ["en", "es"], "specialisation": "both", "accessible": True,
        "intake_phone": "713-555-0100", "confidential_location": confidential,
        "beds": [{"bed_type": "adult_female", "total": 3, "occupied": 1},
                 {"bed_type": "family_unit", "total": 2, "occupied": 0, "max_household": 4}],
    }


def inside_cell(cell: tuple[float, float], offset: tuple[float, float]) -> tuple[float, float]:
    """The point `offset` (fractions of a cell, each within -0.5..0.5) from a cell's point."""
    lat = cell[0] + offset[0] * CONFIDENTIAL_GRID_DEG
    lon = cell[1] + offset[1] * CONFIDENTIAL_GRID_DEG
    assert coarse_point(lat, lon) == cell, "the test moved a house out of its cell"
    return lat, lon


@dataclass
class World:
    services: Services
    client: TestClient
    advocate: Account  # of the hotline
    case_manager: Account  # of a legal-aid agency
    admin: Account
    safe_ids: list[int]
    public_ids: list[int]

    def caller(self, role: str) -> Account:
        return {"advocate": self.advocate, "case_manager": self.case_manager,
                "admin": self.admin}[role]

    def place(self, points: Sequence[tuple[float, float]]) -> None:
        """Move each safe house's exact point (the secret) without touching anything else."""
        cipher = self.services.cipher
        with self.services.db.write_session() as session:
            for sid, (lat, lon) in zip(self.safe_ids, points, strict=True):
                session.execute(update(Shelter).where(col(Shelter.id) == sid).values(
                    location_sealed=cipher.seal(f"{lat},{lon}", field=LOCATION_FIELD)))
            session.commit()


def build_world(url: str, workdir: Path, **settings: Any) -> World:
    """One world; call it under `frozen_clock` so that two builds agree to the microsecond."""
    # The probing limit (tests/api/test_probing.py) is lifted: these tests prove that the
    # answers carry nothing to find, however many questions are asked.
    services = build_services(Settings(**{
        "database_url": url, "secret_key": KEY, "key_file": workdir / "unused.key",
        "busy_timeout_ms": 2000, "solver_workers": 1, "probe_limit": 1_000_000, **settings}))
    client = TestClient(create_app(services=services))
    client.__enter__()
    make = AccountFactory(services)
    admin = make.account(Role.PLATFORM_ADMIN, name="admin")
    advocate = make.account(Role.ADVOCATE, name="advocate")
    case_manager = make.account(Role.CASE_MANAGER, agency="Gulf Legal Aid", name="cm")
    homes = make.agency("Safe Homes Network", AgencyKind.SHELTER_ORGANISATION)

    def made(body: dict[str, Any]) -> int:
        response = client.post("/v1/shelters", json=body, headers=admin.headers)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    safe = [made(shelter_body(homes, f"Safe House {i}", cell, confidential=True))
            for i, cell in enumerate(SAFE_CELLS)]
    public = [made(shelter_body(homes, f"Open Door {i}", point, confidential=False))
              for i, point in enumerate(PUBLIC_POINTS)]
    return World(services, client, advocate, case_manager, admin, safe, public)


def close_world(world: World) -> None:
    world.client.__exit__(None, None, None)
    world.services.db.dispose()


@contextmanager
def two_worlds(new_database_url: Callable[[], str], workdir: Path,
               **settings: Any) -> Iterator[tuple[World, World]]:
    with frozen_clock():
        first = build_world(new_database_url(), workdir, **settings)
        second = build_world(new_database_url(), workdir, **settings)
        try:
            yield first, second
        finally:
            close_world(first)
            close_world(second)


Request = Callable[[World, Account, dict[str, str]], httpx.Response]


def same_answers(worlds: tuple[World, World], role: str, request: Request,
                 label: str) -> httpx.Response:
    """Run `request` as `role` in both worlds; fail naming `label` unless the answers agree."""
    answers = []
    for world in worlds:
        # A fixed request id: it is echoed, and must not be what differs.
        request_id = hashlib.sha256(label.encode()).hexdigest()[:32]
        answers.append(request(world, world.caller(role), {"X-Request-ID": request_id}))
    first, second = answers
    assert first.status_code == second.status_code, (label, first.text, second.text)
    assert first.content == second.content, (label, first.text, second.text)
    for name in COMPARED_HEADERS:
        assert first.headers.get(name) == second.headers.get(name), (label, name)
    return first
