"""Purge on request and retention: a case's personal data leaves the database for good.

Before the purge the test captures the case's sealed bytes and its plain reference in the raw
storage; afterwards neither is anywhere in the SQLite file and its WAL (or in a pg_dump), the
case is gone for everyone, and the audit log says only that a purge happened.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from api.cli import app as cli
from api.config import Settings
from api.deps import Services
from core.clock import utcnow
from core.models import Role
from core.purge import dependent_tables
from logistics.cases.models import Case
from tests.conftest import TEST_KEY
from tests.support import BACKEND, Account, AccountFactory

CANARY_REF = "C-PURGE-Q7Z"


def _raw(services: Services) -> bytes:
    if BACKEND == "sqlite":
        path = services.settings.sqlite_path()
        assert path is not None
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    url = make_url(services.settings.database_url).set(drivername="postgresql")
    return subprocess.run([shutil.which("pg_dump") or "/usr/bin/pg_dump",
                           url.render_as_string(hide_password=False)],
                          capture_output=True, check=True).stdout


def _case(client: TestClient, who: Account, ref: str) -> int:
    body = {"case_ref": ref, "household": [{"age": 29, "gender": "female"}],
            "languages": ["en"], "trafficking_type": "sex", "needs": [],
            "location": {"lat": 38.9, "lon": -77.0},
            "exclusions": {"points": [], "cities": ["Canaryville, VA"], "states": [],
                           "shelter_ids": []},
            "has_photo_id": False, "urgency": 4, "max_travel_km": 500,
            "notes": "met at the bus station; trafficker drives a grey van"}
    made = client.post("/v1/cases", json=body, headers=who.headers)
    assert made.status_code == 201, made.text
    case_id = int(made.json()["id"])
    screening = client.post(f"/v1/cases/{case_id}/screenings", headers=who.headers,
                            json={"answers": {"phone_monitored": True}})
    assert screening.status_code == 201, screening.text
    plan = client.post("/v1/safety-plans", headers=who.headers, json={
        "case_id": case_id, "screening_id": screening.json()["id"], "code_word": "bluebird"})
    assert plan.status_code == 201, plan.text
    return case_id


def _sealed(services: Services, case_id: int) -> list[bytes]:
    """The case's sealed values as they appear in raw storage (pg_dump prints bytea as hex)."""
    with services.db.read_session() as session:
        case = session.get(Case, case_id)
        assert case is not None
        blobs = [v for v in vars(case).values() if isinstance(v, bytes) and len(v) > 16]
    assert blobs
    return [b.hex().encode() if BACKEND == "postgresql" else b for b in blobs]


def test_purge_on_request_removes_everything(client: TestClient, services: Services,
                                             make: AccountFactory, admin: Account) -> None:
    manager = make.account(Role.CASE_MANAGER, agency="Hotline East")
    advocate = make.account(Role.ADVOCATE, agency="Hotline East")
    outsider = make.account(Role.CASE_MANAGER, agency="Hotline West")
    case_id = _case(client, manager, CANARY_REF)
    keep_id = _case(client, manager, "C-KEEP-1")
    sealed = _sealed(services, case_id)
    before = _raw(services)
    assert CANARY_REF.encode() in before and all(blob in before for blob in sealed)

    assert client.post(f"/v1/cases/{case_id}/purge", headers=outsider.headers).status_code == 404
    assert client.post(f"/v1/cases/{case_id}/purge", headers=advocate.headers).status_code == 403
    purged = client.post(f"/v1/cases/{case_id}/purge", headers=manager.headers)
    assert purged.status_code == 200, purged.text
    removed = purged.json()["removed"]
    assert removed["survivor_case"] == 1 and removed["screening_record"] == 1
    assert removed["safety_plan"] == 1

    assert client.get(f"/v1/cases/{case_id}", headers=manager.headers).status_code == 404
    assert client.get(f"/v1/cases/{keep_id}", headers=manager.headers).status_code == 200
    after = _raw(services)
    assert CANARY_REF.encode() not in after
    assert not any(blob in after for blob in sealed)
    trail = client.get(f"/v1/audit?object_type=case&object_id={case_id}",
                       headers=admin.headers).json()
    assert trail[0]["action"] == "case.purge" and trail[0]["actor_account_id"] == manager.id
    assert CANARY_REF not in str(trail)


def test_retention_purges_only_old_closed_cases(client: TestClient, services: Services,
                                                make: AccountFactory,
                                                settings: Settings) -> None:
    manager = make.account(Role.CASE_MANAGER)
    old, recent, open_case = (_case(client, manager, ref)
                              for ref in ("C-OLD-1", "C-RECENT-1", "C-OPEN-1"))
    for case_id in (old, recent):
        assert client.post(f"/v1/cases/{case_id}/close",
                           headers=manager.headers).status_code == 200
    with services.db.write_session() as session:
        session.execute(update(Case).where(Case.id == old)  # type: ignore[arg-type]
                        .values(closed_at=utcnow() - timedelta(days=400)))
        session.commit()
    result = CliRunner().invoke(cli, ["retention", "run"], env={
        "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
    assert result.exit_code == 0 and "1 closed cases older than 365 days purged" in result.output
    status = {cid: client.get(f"/v1/cases/{cid}", headers=manager.headers).status_code
              for cid in (old, recent, open_case)}
    assert status == {old: 404, recent: 200, open_case: 200}
    with services.db.read_session() as session:
        assert session.execute(text("SELECT count(*) FROM screening_record WHERE case_id = :c"),
                               {"c": old}).scalar_one() == 0


def test_every_table_attached_to_a_case_is_purged() -> None:
    import api.schema  # noqa: F401  (every table registered)

    attached = dependent_tables("survivor_case")
    assert {"screening_record", "safety_plan", "safety_plan_revision", "travel_plan"} <= set(
        attached)
