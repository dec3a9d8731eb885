"""Use cases of safety alerts: raise them from check-ins, sweep for overdue ones, list and
acknowledge them, and tell the status machine whether a plan may arrive.

An unsafe check-in raises its alert in the check-in's own transaction (`stage_unsafe`). An
overdue one is found by `sweep_overdue`: pending check-ins past due plus the grace period on
booked or in-transit plans that have no overdue alert yet. The sweep runs from the CLI
(`homeward travel sweep-checkins`) and, opportunistically, whenever plans, overdue check-ins or
alerts are listed, so an alert exists by the time anyone looks, with or without a scheduler.
It is idempotent: the unique (check_in_id, kind) and an insert that skips an existing row mean
one alert per missed check-in, whoever sweeps and however often.

Every new alert is also a message (issue #21), written in the alert's own transaction through
the outbox (`delivery.outbox`): to the case's case manager (the account that opened the case,
or the agency's default desk when that account has no endpoint) at once, and to the agency's
on-call contact after the escalation delay its endpoint sets (`escalate_after_minutes`,
15 by default). Acknowledging the alert cancels the escalation if it has not left yet.

Only the case's agency and platform admins see an alert (others get the 404 of a missing one);
every list and every acknowledgement is audited.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, func, update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import SIDE_WRITER, insert_skipping_conflicts
from core.models import Role
from core.principal import SYSTEM, Principal
from delivery import outbox
from delivery.models import MessageKind, Purpose
from logistics.cases.models import Case
from logistics.cases.service import can_see, visible_case
from logistics.errors import AlertAcknowledged, AlertNotFound
from logistics.travel.alert_models import AlertAcknowledge, AlertKind, AlertPublic, TravelAlert
from logistics.travel.plan_models import (
    CHECK_IN_GRACE_MINUTES,
    TRAVELLING,
    CheckInStatus,
    TravelCheckIn,
    TravelPlan,
)

NOTE_FIELD = "travel_alert.note"
WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
_TABLE: Table = TravelAlert.__table__  # type: ignore[attr-defined]


def _insert_new(session: Session, rows: list[dict[str, object]]) -> list[int]:
    """Insert alerts, skipping any (check-in, kind) already raised; the new alerts' ids.

    Skipping in the INSERT itself, not by a read first, keeps two sweeps racing on PostgreSQL
    (read committed) from failing on the unique constraint.
    """
    if not rows:
        return []
    statement = insert_skipping_conflicts(
        session.connection(), _TABLE, index_elements=["check_in_id", "kind"]
    ).returning(_TABLE.c.id)
    inserted: list[int] = []
    for row in rows:
        inserted += [int(i) for i in session.connection().execute(statement.values(**row))
                     .scalars()]
    return inserted


def notify_case_manager(session: Session, *, cipher: FieldCipher, case: Case, agency_id: int,
                        source_type: str, source_id: int, subject: str, text: str,
                        escalated_subject: str, escalated_text: str, data: dict[str, object],
                        now: datetime) -> None:
    """Enqueue a message to the case's case manager (the account that opened the case, or the
    agency's default desk when that account has no endpoint) at once, and its escalation to
    the agency's on-call contact after the escalation delay; cancelling the source's
    escalation (`outbox.cancel`) stops it. Shared by safety alerts and return-plan
    disruptions (`logistics.return_plans.disruptions`)."""
    body = {"subject": subject, "text": text, "data": data}
    manager = outbox.Recipient(account_id=case.created_by)
    if case.created_by is None or not outbox.endpoints_for(session, manager):
        manager = outbox.Recipient(agency_id=agency_id)
    common = {"cipher": cipher, "agency_id": agency_id, "case_id": case.id,
              "source_type": source_type, "source_id": source_id, "now": now}
    outbox.enqueue(session, kind=MessageKind.ALERT_RAISED.value, to=manager, body=body,
                   **common)  # type: ignore[arg-type]
    on_call = outbox.Recipient(agency_id=agency_id, purpose=Purpose.ON_CALL)
    escalated = {**body, "subject": escalated_subject, "text": escalated_text}
    outbox.enqueue(session, kind=MessageKind.ALERT_ESCALATED.value, to=on_call,
                   body=escalated, escalation_level=1,
                   not_before=now + outbox.escalation_delay(session, agency_id),
                   **common)  # type: ignore[arg-type]


def _notify(session: Session, cipher: FieldCipher, alert_ids: list[int], now: datetime) -> None:
    """Enqueue each new alert's message to the case manager and its escalation to on-call."""
    for alert_id in alert_ids:
        alert = session.get(TravelAlert, alert_id)
        case = session.get(Case, alert.case_id) if alert is not None else None
        if alert is None or case is None:
            continue
        what = ("a check-in was recorded as not safe" if alert.kind == AlertKind.UNSAFE
                else "a check-in is overdue")
        data = {"alert_id": alert_id, "kind": str(alert.kind), "case_id": alert.case_id,
                "case_ref": case.case_ref, "plan_id": alert.plan_id,
                "check_in_id": alert.check_in_id, "raised_at": now.isoformat()}
        notify_case_manager(
            session, cipher=cipher, case=case, agency_id=alert.agency_id,
            source_type="travel_alert", source_id=alert_id,
            subject=f"Safety alert on case {case.case_ref}",
            text=f"Travel safety alert {alert_id}: {what} on case {case.case_ref}. "
                 "Acknowledge it in Homeward.",
            escalated_subject=f"Unacknowledged safety alert on case {case.case_ref}",
            escalated_text=f"ESCALATED: travel safety alert {alert_id} ({what}) on case "
                           f"{case.case_ref} has not been acknowledged.",
            data=data, now=now)


def _audit(session: Session, actor: Principal, object_id: object, action: str,
           details: dict[str, object] | None = None) -> None:
    audit.record(session, actor, action=action, object_type="travel_alert",
                 object_id=object_id, purpose="travel safety", details=details)


def stage_unsafe(session: Session, *, cipher: FieldCipher, plan: TravelPlan,
                 check_in: TravelCheckIn, now: datetime) -> None:
    """Raise the unsafe alert of a check-in just recorded `safe: false`, in the caller's
    transaction (no commit)."""
    assert plan.id is not None and check_in.id is not None
    new = _insert_new(session, [{"case_id": plan.case_id, "plan_id": plan.id,
                                 "check_in_id": check_in.id, "agency_id": plan.agency_id,
                                 "kind": AlertKind.UNSAFE.value, "raised_at": now}])
    if new:
        _notify(session, cipher, new, now)
        _audit(session, SYSTEM, plan.id, "travel_alert.raise",
               {"kind": "unsafe", "check_in_id": check_in.id})


def stage_overdue(session: Session, *, cipher: FieldCipher, now: datetime,
                  plan_id: int | None = None) -> int:
    """Raise an overdue alert for every pending check-in past due plus the grace period on a
    travelling plan (or only on `plan_id`) that has none yet, in the caller's transaction; how
    many were raised."""
    raised = (select(TravelAlert.check_in_id)
              .where(TravelAlert.kind == AlertKind.OVERDUE.value).scalar_subquery())
    query = (select(TravelCheckIn, TravelPlan)
             .join(TravelPlan, col(TravelPlan.id) == col(TravelCheckIn.plan_id))
             .where(TravelCheckIn.status == CheckInStatus.PENDING.value,
                    col(TravelCheckIn.due_at) <= now - timedelta(minutes=CHECK_IN_GRACE_MINUTES),
                    col(TravelPlan.status).in_([s.value for s in TRAVELLING]),
                    col(TravelCheckIn.id).not_in(raised))
             .order_by(col(TravelCheckIn.id)))
    if plan_id is not None:
        query = query.where(TravelCheckIn.plan_id == plan_id)
    found = session.exec(query).all()
    new = _insert_new(session, [
        {"case_id": p.case_id, "plan_id": p.id, "check_in_id": c.id, "agency_id": p.agency_id,
         "kind": AlertKind.OVERDUE.value, "raised_at": now} for c, p in found])
    count = len(new)
    if count:
        _notify(session, cipher, new, now)
        _audit(session, SYSTEM, "sweep", "travel_alert.raise",
               {"kind": "overdue", "count": count})
    return count


def sweep_overdue(session: Session, *, cipher: FieldCipher, now: datetime | None = None) -> int:
    """The sweep as a use case of its own (CLI, schedulers): one transaction, one commit."""
    count = stage_overdue(session, cipher=cipher, now=now or utcnow())
    session.commit()
    return count


def sweep_before_reading(session: Session, *, cipher: FieldCipher, now: datetime) -> None:
    """Sweep before a listing reads, from a read or a write session.

    A SQLite read session must not write (another writer may have committed since its
    snapshot), so the sweep then runs in a write transaction of its own and the read session
    starts a fresh snapshot that sees the new alerts. Call it before loading any row: the
    fresh snapshot expires what was loaded.
    """
    side_writer = session.info.get(SIDE_WRITER)
    if side_writer is None:
        stage_overdue(session, cipher=cipher, now=now)
        session.flush()
        return
    with side_writer() as own:
        count = stage_overdue(own, cipher=cipher, now=now)
        own.commit()
    if count:
        session.rollback()


def open_alert_count(session: Session, *, plan_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(TravelAlert).where(
        TravelAlert.plan_id == plan_id, col(TravelAlert.acknowledged_at).is_(None))).one())


def _public(cipher: FieldCipher, row: TravelAlert) -> AlertPublic:
    assert row.id is not None
    return AlertPublic(
        id=row.id, case_id=row.case_id, plan_id=row.plan_id, check_in_id=row.check_in_id,
        kind=row.kind, raised_at=row.raised_at, open=row.acknowledged_at is None,
        acknowledged_at=row.acknowledged_at, acknowledged_by=row.acknowledged_by,
        note=cipher.open_optional(row.note_sealed, field=NOTE_FIELD))


def list_alerts(session: Session, *, actor: Principal, cipher: FieldCipher,
                case_id: int | None = None, plan_id: int | None = None,
                open_only: bool | None = None, limit: int = 100, offset: int = 0,
                now: datetime | None = None) -> list[AlertPublic]:
    """Alerts the caller may see, newest first: of one case, one plan, or (without either) of
    the caller's agency (every agency for a platform admin). The list is audited."""
    actor.require_role(*WORKERS)
    sweep_before_reading(session, cipher=cipher, now=now or utcnow())
    query = select(TravelAlert)
    if case_id is not None:
        visible_case(session, actor, case_id)
        query = query.where(TravelAlert.case_id == case_id)
    if plan_id is not None:
        query = query.where(TravelAlert.plan_id == plan_id)
    if case_id is None and not actor.is_platform_admin:
        query = query.where(TravelAlert.agency_id == actor.agency_id)
    if open_only is not None:
        opened = col(TravelAlert.acknowledged_at).is_(None)
        query = query.where(opened if open_only else ~opened)
    rows = session.exec(query.order_by(col(TravelAlert.raised_at).desc(),
                                       col(TravelAlert.id).desc())
                        .limit(limit).offset(offset)).all()
    rows = [r for r in rows if can_see(actor, r.agency_id)]
    _audit(session, actor, case_id if case_id is not None else "agency",
           "travel_alert.list_read", {"count": len(rows), "ids": [r.id for r in rows]})
    public = [_public(cipher, r) for r in rows]
    session.commit()
    return public


def acknowledge(session: Session, *, actor: Principal, cipher: FieldCipher, alert_id: int,
                data: AlertAcknowledge) -> AlertPublic:
    """Acknowledge an open alert (409 if someone already did); audited."""
    actor.require_role(*WORKERS)
    row = session.get(TravelAlert, alert_id)
    if row is None or not can_see(actor, row.agency_id):
        raise AlertNotFound("alert not found")
    now = utcnow()
    result = session.execute(update(TravelAlert).where(
        col(TravelAlert.id) == alert_id, col(TravelAlert.acknowledged_at).is_(None)).values(
        acknowledged_at=now, acknowledged_by=actor.account_id,
        note_sealed=cipher.seal_optional(data.note, field=NOTE_FIELD)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise AlertAcknowledged("the alert is already acknowledged")
    cancelled = outbox.cancel(session, source_type="travel_alert", source_id=alert_id)
    _audit(session, actor, alert_id, "travel_alert.acknowledge",
           {"plan_id": row.plan_id, "kind": row.kind, "escalations_cancelled": cancelled})
    session.refresh(row)
    public = _public(cipher, row)
    session.commit()
    return public
