"""Purging a case on request, and retention: a closed case's personal data does not outlive
its use.

A purge deletes the case and everything attached to it through foreign keys (screenings, plans
and their revisions, releases, referrals, travel plans, ...; see `core.purge`), scrubs the case
reference from bed holds, and leaves in the audit log only that a purge happened, by whom, when
and how many rows went. On SQLite, deleted pages are zeroed (`secure_delete`) and the
write-ahead log is checkpointed so the old page images do not linger in the -wal file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.models import Role
from core.principal import Principal
from core.purge import delete_with_dependents
from logistics.beds.models import BedHold
from logistics.cases.models import Case, CaseStatus
from logistics.cases.service import visible_case

PURGED_REF = "purged"


@dataclass(frozen=True)
class PurgeReport:
    case_id: int
    removed: dict[str, int]


def _purge(session: Session, actor: Principal, case: Case, reason: str) -> PurgeReport:
    assert case.id is not None
    case_id, agency_id, case_ref = case.id, case.agency_id, case.case_ref
    session.expunge(case)
    removed = delete_with_dependents(session, "survivor_case", case_id)
    scrubbed = session.execute(
        update(BedHold).where(col(BedHold.agency_id) == agency_id,
                              col(BedHold.case_ref) == case_ref)
        .values(case_ref=PURGED_REF))
    if scrubbed.rowcount:  # type: ignore[attr-defined]
        removed = {**removed, "bed_hold.case_ref": int(scrubbed.rowcount)}  # type: ignore[attr-defined]
    audit.record(session, actor, action="case.purge", object_type="case", object_id=case_id,
                 purpose=reason, details={"removed": removed})
    return PurgeReport(case_id=case_id, removed=removed)


def _checkpoint(session: Session) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        return
    engine = bind if isinstance(bind, Engine) else bind.engine
    # A checkpoint cannot run inside a transaction: use a bare autocommit DBAPI connection.
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def purge_case(session: Session, *, actor: Principal, case_id: int) -> PurgeReport:
    """Purge one case at the survivor's request (the case's case managers, or an admin)."""
    case = visible_case(session, actor, case_id)
    actor.require_role(Role.CASE_MANAGER)
    report = _purge(session, actor, case, "purge on request")
    session.commit()
    _checkpoint(session)
    return report


def purge_closed_cases(session: Session, *, actor: Principal,
                       older_than: timedelta) -> list[PurgeReport]:
    """Retention: purge every case closed longer ago than `older_than`."""
    actor.require_platform_admin()
    cutoff = utcnow() - older_than
    cases = session.exec(select(Case).where(
        Case.status == CaseStatus.CLOSED, col(Case.closed_at) <= cutoff)
        .order_by(col(Case.id))).all()
    reports = [_purge(session, actor, case, "retention") for case in cases]
    session.commit()
    _checkpoint(session)
    return reports
