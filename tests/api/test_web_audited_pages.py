"""Pages that show case data audit each read, so they write: another writer must not fail them.

In a GET's read session SQLite upgrades the page's read snapshot to a write when the audit row
is inserted; if another writer committed in between, that fails at once (a 503 page), which
under mixed load was most of them (`bench/load.py`: 48 of 58 `/web/cases`). The audit row of
a read now goes in a write transaction of its own (`core.audit.record`), so the page neither
fails nor holds the write lock while it reads: the other writer commits at once, and the
page's audit row is still written.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.deps import Services
from core import audit
from core.models import Role
from tests.api.web_support import sign_in
from tests.support import AccountFactory


@pytest.mark.parametrize("page", ["/web/cases", "/web/cases/{case}", "/web/travel"])
def test_a_write_during_an_audited_page_neither_fails_it_nor_slips_in(
        client: TestClient, services: Services, settings: Settings, make: AccountFactory,
        monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    path = settings.sqlite_path()
    if path is None:
        pytest.skip("SQLite's snapshot upgrade; PostgreSQL reads and writes in one transaction")
    manager = make.account(Role.CASE_MANAGER)
    token = sign_in(client, services, manager.name, next_page="/web/cases")
    made = client.post("/web/cases", data={"case_ref": "C-7", "members": "30F",
                                           "city": "Washington", "state": "DC",
                                           "csrf_token": token}, follow_redirects=False)
    assert made.status_code == 303
    case = made.headers["location"].rsplit("/", 1)[1]
    other_writes: list[str] = []
    real_record = audit.record

    def record_after_another_write(*args: Any, **kwargs: Any) -> Any:
        if not other_writes:
            # Another process's writer, straight after the page read its data: no busy wait,
            # so it either commits now or finds the page holding the write lock.
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE web_session SET csrf_token = csrf_token")
                other.execute("COMMIT")
                other_writes.append("committed")
            except sqlite3.OperationalError as exc:
                other_writes.append(str(exc))
            finally:
                other.close()
        return real_record(*args, **kwargs)

    monkeypatch.setattr(audit, "record", record_after_another_write)
    response = client.get(page.format(case=case))
    assert response.status_code == 200, response.text[:300]
    assert other_writes == ["committed"]  # the page held no lock while it read
    with services.db.read_session() as session:
        reads = session.connection().exec_driver_sql(
            "SELECT count(*) FROM audit_entry WHERE object_type = 'case' "
            "AND action LIKE 'case.%read%'").scalar_one()
    assert reads >= 1
