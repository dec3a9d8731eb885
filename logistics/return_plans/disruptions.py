"""Stored disruptions: record them idempotently, alert the case manager, sweep, list, reject.

`stage` records that a live travel plan is disrupted, in the caller's transaction: one row per
(plan, cause), inserted with ON CONFLICT DO NOTHING so the same feed read twice, or two sweeps
racing, record it once; each new row raises a message to the case's case manager and its
escalation to the agency's on-call contact, through the same outbox path as check-in safety
alerts (`logistics.travel.alerts.notify_case_manager`). Deciding on the disruption (accept or
reject) cancels the escalation.

Registry changes reach it two ways, both from this room (the registry below must not import a
higher one): a hold released early (by the shelter's staff, say) calls the hook `watch`
registers with `logistics.beds.hooks` (`stage_holds` here), in the release's own
transaction; a hold that lapses does so by the clock, not by any service call (holds are
marked expired lazily, by whichever write next touches their beds), so `sweep` finds live
plans whose hold has ended and runs from the CLI loop (`homeward travel realtime --every`)
and before disruptions are listed. A
bed count can never fall below the beds held (the registry refuses it: CHECK constraint and
conditional UPDATE) and the registry has no "close a shelter" operation: a shelter closing
means releasing its holds, which the hook sees.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import Table, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import SIDE_WRITER
from core.models import Role
from core.principal import SYSTEM, Principal
from delivery import outbox
from logistics.beds.models import BedHold, HoldStatus
from logistics.cases.models import Case
from logistics.cases.service import can_see, visible_case
from logistics.errors import ReturnPlanConflict, ReturnPlanNotFound
from logistics.return_plans.disruption_models import (
    DisruptionKind,
    DisruptionPublic,
    DisruptionStatus,
    RestoreProposal,
    ReturnDisruption,
)
from logistics.travel import alerts
from logistics.travel.plan_models import PlanStatus, TravelPlan

PLANNERS = (Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
LIVE = (PlanStatus.PROPOSED, PlanStatus.APPROVED, PlanStatus.BOOKED, PlanStatus.IN_TRANSIT)
PLANNERS_PURPOSE = "re-planning"
REASONS_FIELD = "return_disruption.reasons"
PROPOSALS_FIELD = "return_disruption.proposals"
SOURCE = "return_disruption"
_TABLE: Table = ReturnDisruption.__table__  # type: ignore[attr-defined]


def cause_of(reasons: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(reasons)).encode()).hexdigest()[:32]


def stage(session: Session, *, cipher: FieldCipher, plan: TravelPlan, kind: DisruptionKind,
          reasons: list[str], now: datetime, feed: dict[str, object] | None = None) -> int:
    """The disruption of `plan` for these reasons, recorded once (see the module docstring);
    its id, new or already stored. `feed` is the part of a feed that touches the plan (kept
    so that proposals asked for later avoid it too). No commit."""
    assert plan.id is not None
    cause = cause_of(reasons)
    row = {"agency_id": plan.agency_id, "case_id": plan.case_id, "travel_plan_id": plan.id,
           "hold_id": plan.hold_id, "kind": kind.value, "cause": cause,
           "reasons_sealed": cipher.seal(json.dumps({"reasons": reasons, "feed": feed or {}}),
                                         field=REASONS_FIELD),
           "status": DisruptionStatus.OPEN.value, "detected_at": now}
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql"
              else sqlite.insert)
    session.flush()
    new = session.connection().execute(
        insert(_TABLE).values(**row).on_conflict_do_nothing(
            index_elements=["travel_plan_id", "cause"]).returning(_TABLE.c.id)).scalars().all()
    if not new:
        return int(session.exec(select(ReturnDisruption.id).where(
            ReturnDisruption.travel_plan_id == plan.id,
            ReturnDisruption.cause == cause)).one() or 0)
    disruption_id = int(new[0])
    case = session.get(Case, plan.case_id)
    if case is not None:
        what = {DisruptionKind.TRIP_CANCELLED: "a trip of the travel plan is cancelled",
                DisruptionKind.TRIP_DELAYED: "a trip of the travel plan is too late",
                DisruptionKind.OUT_OF_SERVICE: "a stop or route of the travel plan is out of "
                                               "service",
                DisruptionKind.HOLD_ENDED: "the destination bed hold has ended"}[kind]
        alerts.notify_case_manager(
            session, cipher=cipher, case=case, agency_id=plan.agency_id, source_type=SOURCE,
            source_id=disruption_id, subject=f"Travel plan disrupted on case {case.case_ref}",
            text=f"Disruption {disruption_id}: {what} (case {case.case_ref}, travel plan "
                 f"{plan.id}). Review the proposals in Homeward.",
            escalated_subject=f"Undecided travel disruption on case {case.case_ref}",
            escalated_text=f"ESCALATED: disruption {disruption_id} ({what}) on case "
                           f"{case.case_ref} has not been decided.",
            data={"disruption_id": disruption_id, "kind": kind.value, "case_id": plan.case_id,
                  "case_ref": case.case_ref, "plan_id": plan.id,
                  "detected_at": now.isoformat()},
            now=now)
    audit.record(session, SYSTEM, action="return_disruption.raise",
                 object_type="return_disruption", object_id=disruption_id,
                 purpose=PLANNERS_PURPOSE, details={"kind": kind.value, "plan_id": plan.id})
    return disruption_id


def _hold_ended(hold: BedHold | None, plan: TravelPlan, now: datetime) -> list[str]:
    if hold is None:
        return []
    if hold.status == HoldStatus.ACTIVE.value and hold.expires_at > now:
        return []
    if hold.status == HoldStatus.CONFIRMED.value:
        return []  # the household was taken in: nothing to restore
    ended = hold.closed_at or hold.expires_at
    how = {"released": "was released", "expired": "lapsed"}.get(str(hold.status), "lapsed")
    return [f"the bed hold {hold.id} at shelter {hold.shelter_id} {how} at "
            f"{ended.isoformat()}, before the arrival at {plan.arrive_at.isoformat()}"]


def stage_holds(session: Session, *, cipher: FieldCipher, now: datetime,
                hold_ids: list[int] | None = None, agency_id: int | None = None) -> int:
    """Record a disruption for every live plan whose hold has ended (only those `hold_ids`,
    or only that agency's, when given); how many new or known. No commit."""
    query = select(TravelPlan, BedHold).join(
        BedHold, col(BedHold.id) == col(TravelPlan.hold_id)).where(
        col(TravelPlan.status).in_([s.value for s in LIVE]),
        (col(BedHold.status) != HoldStatus.ACTIVE.value) | (col(BedHold.expires_at) <= now),
        col(BedHold.status) != HoldStatus.CONFIRMED.value)
    if hold_ids is not None:
        query = query.where(col(BedHold.id).in_(hold_ids))
    if agency_id is not None:
        query = query.where(TravelPlan.agency_id == agency_id)
    count = 0
    for plan, hold in session.exec(query.order_by(col(TravelPlan.id))).all():
        reasons = _hold_ended(hold, plan, now)
        if reasons:
            stage(session, cipher=cipher, plan=plan, kind=DisruptionKind.HOLD_ENDED,
                  reasons=reasons, now=now)
            count += 1
    return count


def sweep(session: Session, *, cipher: FieldCipher, now: datetime | None = None) -> int:
    """The hold sweep as a use case of its own (CLI loop, schedulers): one commit."""
    count = stage_holds(session, cipher=cipher, now=now or utcnow())
    session.commit()
    return count


def reasons_of(cipher: FieldCipher, row: ReturnDisruption) -> list[str]:
    return list(json.loads(cipher.open(row.reasons_sealed, field=REASONS_FIELD))["reasons"])


def feeds_of(session: Session, cipher: FieldCipher, travel_plan_id: int) -> list[dict[str, object]]:
    """The feed parts of every open disruption of one plan (what proposals must avoid)."""
    rows = session.exec(select(ReturnDisruption).where(
        ReturnDisruption.travel_plan_id == travel_plan_id,
        ReturnDisruption.status == DisruptionStatus.OPEN.value)).all()
    return [dict(json.loads(cipher.open(r.reasons_sealed, field=REASONS_FIELD))["feed"])
            for r in rows]


def stored_proposals(cipher: FieldCipher, row: ReturnDisruption
                     ) -> tuple[list[RestoreProposal] | None, list[str], int | None]:
    """The proposals last made, the reasons there are none, and the account they were vouched
    for (itinerary ids are bound to one account)."""
    if row.proposals_sealed is None:
        return None, [], None
    data = json.loads(cipher.open(row.proposals_sealed, field=PROPOSALS_FIELD))
    return ([RestoreProposal.model_validate(p) for p in data["proposals"]], data["none"],
            data["account_id"])


def public(cipher: FieldCipher, row: ReturnDisruption) -> DisruptionPublic:
    assert row.id is not None
    proposals, none, _ = stored_proposals(cipher, row)
    return DisruptionPublic(
        id=row.id, case_id=row.case_id, travel_plan_id=row.travel_plan_id, hold_id=row.hold_id,
        kind=DisruptionKind(row.kind), reasons=reasons_of(cipher, row),
        status=DisruptionStatus(row.status), proposals=proposals, no_proposal_reasons=none,
        detected_at=row.detected_at, decided_at=row.decided_at, decided_by=row.decided_by,
        replaced_by_plan_id=row.replaced_by_plan_id)


def visible(session: Session, actor: Principal, disruption_id: int) -> ReturnDisruption:
    row = session.get(ReturnDisruption, disruption_id)
    if row is None or not can_see(actor, row.agency_id):
        raise ReturnPlanNotFound(f"disruption {disruption_id} not found")
    return row


def resolve_if_moot(session: Session, row: ReturnDisruption, now: datetime) -> bool:
    """Mark an open disruption `resolved` when its plan is no longer live; True if so."""
    plan = session.get(TravelPlan, row.travel_plan_id)
    if row.status != DisruptionStatus.OPEN or (plan is not None and plan.status in LIVE):
        return False
    row.status, row.decided_at = DisruptionStatus.RESOLVED, now
    session.add(row)
    outbox.cancel(session, source_type=SOURCE, source_id=row.id)
    return True


def _stage_reading(session: Session, cipher: FieldCipher, now: datetime,
                   agency_id: int | None) -> int:
    """The hold sweep and the open disruptions whose plan stopped being live, resolved."""
    count = stage_holds(session, cipher=cipher, now=now, agency_id=agency_id)
    query = select(ReturnDisruption).join(
        TravelPlan, col(TravelPlan.id) == col(ReturnDisruption.travel_plan_id)).where(
        ReturnDisruption.status == DisruptionStatus.OPEN.value,
        col(TravelPlan.status).not_in([s.value for s in LIVE]))
    if agency_id is not None:
        query = query.where(ReturnDisruption.agency_id == agency_id)
    return count + sum(resolve_if_moot(session, r, now) for r in session.exec(query).all())


def before_reading(session: Session, *, cipher: FieldCipher, now: datetime,
                   agency_id: int | None) -> None:
    """Sweep and resolve before a listing reads, from a read or a write session, as the
    safety alerts' sweep does (`logistics.travel.alerts.sweep_before_reading`): a SQLite
    read session must not write, so the writes go through a write session of their own and
    the read session starts a fresh snapshot that sees them. Call before loading any row."""
    side_writer = session.info.get(SIDE_WRITER)
    if side_writer is None:
        _stage_reading(session, cipher, now, agency_id)
        session.flush()
        return
    with side_writer() as own:
        count = _stage_reading(own, cipher, now, agency_id)
        own.commit()
    if count:
        session.rollback()


def list_disruptions(session: Session, *, actor: Principal, cipher: FieldCipher,
                     case_id: int | None = None, open_only: bool = False, limit: int = 100,
                     offset: int = 0, now: datetime | None = None) -> list[DisruptionPublic]:
    """The caller's agency's disruptions (or one case's), newest first, after a hold sweep of
    that agency; audited."""
    actor.require_role(*PLANNERS)
    before_reading(session, cipher=cipher, now=now or utcnow(), agency_id=actor.agency_id)
    query = select(ReturnDisruption)
    if case_id is not None:
        visible_case(session, actor, case_id)
        query = query.where(ReturnDisruption.case_id == case_id)
    elif not actor.is_platform_admin:
        query = query.where(ReturnDisruption.agency_id == actor.agency_id)
    rows = [r for r in session.exec(query.order_by(col(ReturnDisruption.id).desc())
                                    .limit(limit).offset(offset)).all()
            if can_see(actor, r.agency_id)]
    if open_only:
        rows = [r for r in rows if r.status == DisruptionStatus.OPEN]
    audit.record(session, actor, action="return_disruption.list_read",
                 object_type="return_disruption",
                 object_id=case_id if case_id is not None else "agency",
                 purpose=PLANNERS_PURPOSE, details={"ids": [r.id for r in rows]})
    out = [public(cipher, r) for r in rows]
    session.commit()
    return out


def get(session: Session, *, actor: Principal, cipher: FieldCipher,
        disruption_id: int) -> DisruptionPublic:
    actor.require_role(*PLANNERS)
    before_reading(session, cipher=cipher, now=utcnow(), agency_id=actor.agency_id)
    row = visible(session, actor, disruption_id)
    audit.record(session, actor, action="return_disruption.read",
                 object_type="return_disruption", object_id=disruption_id,
                 purpose=PLANNERS_PURPOSE)
    out = public(cipher, row)
    session.commit()
    return out


def decide(session: Session, row: ReturnDisruption, *, actor: Principal,
           status: DisruptionStatus, now: datetime, replaced_by: int | None = None) -> None:
    """Close an open disruption (accepted or rejected) and stop its escalation. No commit.
    A conditional UPDATE, so two decisions racing cannot both win."""
    done = session.execute(update(ReturnDisruption).where(
        col(ReturnDisruption.id) == row.id,
        col(ReturnDisruption.status) == DisruptionStatus.OPEN.value).values(
        status=status.value, decided_at=now, decided_by=actor.account_id,
        replaced_by_plan_id=replaced_by))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        current = session.exec(select(ReturnDisruption.status).where(
            ReturnDisruption.id == row.id)).one()
        session.rollback()
        raise ReturnPlanConflict(f"disruption {row.id} is already {current}")
    session.refresh(row)
    outbox.cancel(session, source_type=SOURCE, source_id=row.id)
    audit.record(session, actor, action=f"return_disruption.{status.value}",
                 object_type="return_disruption", object_id=row.id, purpose=PLANNERS_PURPOSE,
                 details={"replaced_by": replaced_by})


def reject(session: Session, *, actor: Principal, cipher: FieldCipher,
           disruption_id: int, now: datetime | None = None) -> DisruptionPublic:
    """The case manager keeps the plan as it is (or will re-plan by hand)."""
    actor.require_role(*PLANNERS)
    row = visible(session, actor, disruption_id)
    now = now or utcnow()
    resolve_if_moot(session, row, now)
    decide(session, row, actor=actor, status=DisruptionStatus.REJECTED, now=now)
    out = public(cipher, row)
    session.commit()
    return out
