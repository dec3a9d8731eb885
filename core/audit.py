"""The append-only audit log: every change and every read of survivor records leaves a row.

`record` writes the row in the caller's transaction, so it commits or rolls back with the change
it describes (an audited read on SQLite writes its row in a transaction of its own, see
`record`). A session guard refuses to update or delete audit rows; the database triggers
created by the migrations refuse it again for anyone who bypasses the ORM.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from core.clock import utcnow
from core.db import SIDE_WRITER
from core.errors import AuditTampering
from core.models import AuditEntry
from core.principal import Principal

_TABLE: Table = AuditEntry.__table__  # type: ignore[attr-defined]
_INSERT = insert(_TABLE).returning(_TABLE.c.id)


def record(
    session: Session,
    actor: Principal,
    *,
    action: str,
    object_type: str,
    object_id: object,
    purpose: str,
    details: dict[str, Any] | None = None,
) -> int:
    """Write one audit row in the current transaction; its id. `details` must hold no
    personal data.

    In a read session on SQLite the row is written and committed at once in a write
    transaction of its own (`core.db.SIDE_WRITER`), before the read answers: an audited read
    then waits its writer turn for that row rather than failing when another writer has
    committed since the read began. A read changes nothing, so nothing is lost by splitting.
    """
    side_writer = session.info.get(SIDE_WRITER)
    if side_writer is not None:
        with side_writer() as own:
            entry = _insert(own, actor, action, object_type, object_id, purpose, details)
            own.commit()
            return entry
    return _insert(session, actor, action, object_type, object_id, purpose, details)


def _insert(session: Session, actor: Principal, action: str, object_type: str,
            object_id: object, purpose: str, details: dict[str, Any] | None) -> int:
    # A prebuilt INSERT, not an ORM object: every write use case pays for this row, and the
    # ORM's unit of work costs several times the statement.
    return int(session.connection().execute(_INSERT, {
        "at": utcnow(),
        "actor_account_id": actor.account_id,
        "actor_role": actor.role_name,
        "agency_id": actor.agency_id,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "purpose": purpose,
        "request_id": actor.request_id,
        "details": details or {},
    }).scalar_one())


@event.listens_for(OrmSession, "before_flush")
def _refuse_audit_changes(session: OrmSession, _ctx: object, _instances: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditTampering("the audit log is append-only")


SQLITE_AUDIT_TRIGGERS = (
    """CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
    """CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry
    BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END""",
)

POSTGRES_AUDIT_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION 'audit log is append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()""",
    """CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()""",
)
