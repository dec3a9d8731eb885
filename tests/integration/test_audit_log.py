"""The audit log is append-only: the ORM guard and the database triggers both refuse changes."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from api.deps import Services
from core import audit
from core.errors import AuditTampering
from core.models import AuditEntry
from core.principal import SYSTEM
from tests.support import BACKEND


def _one_entry(services: Services) -> int:
    with services.db.write_session() as session:
        entry_id = audit.record(session, SYSTEM, action="test.write", object_type="thing",
                                object_id=1, purpose="testing")
        session.commit()
        return entry_id


def test_audit_row_is_written_with_its_change(services: Services) -> None:
    entry_id = _one_entry(services)
    with services.db.read_session() as session:
        row = session.get(AuditEntry, entry_id)
        assert row is not None and row.actor_role == "system" and row.at.tzinfo is not None


def test_rolled_back_change_leaves_no_audit_row(services: Services) -> None:
    with services.db.write_session() as session:
        audit.record(session, SYSTEM, action="test.rollback", object_type="thing",
                     object_id=2, purpose="testing")
        session.rollback()
    with services.db.read_session() as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.action == "test.rollback"))
        assert rows.all() == []


def test_orm_refuses_update_and_delete(services: Services) -> None:
    entry_id = _one_entry(services)
    with services.db.write_session() as session:
        row = session.get(AuditEntry, entry_id)
        assert row is not None
        row.purpose = "rewritten"
        session.add(row)
        with pytest.raises(AuditTampering):
            session.flush()
        session.rollback()
        row = session.get(AuditEntry, entry_id)
        session.delete(row)
        with pytest.raises(AuditTampering):
            session.flush()


@pytest.mark.parametrize("statement", [
    "UPDATE audit_entry SET purpose = 'rewritten'",
    "DELETE FROM audit_entry",
])
def test_database_refuses_raw_update_and_delete(services: Services, statement: str) -> None:
    _one_entry(services)
    with services.db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text(statement))
        conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM audit_entry")).scalar_one() >= 1


@pytest.mark.skipif(BACKEND != "postgresql", reason="TRUNCATE exists only on PostgreSQL")
def test_postgres_refuses_truncate(services: Services) -> None:
    _one_entry(services)
    with services.db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"):
            conn.execute(text("TRUNCATE audit_entry"))
