"""Accepting a return plan: all or some planned cases turned into action in ONE transaction.

Per case, in (shelter, bed type) order: the itinerary is re-checked against the current
timetable and the case's exclusion zones (as booking one does), a destination hold is staged
until the arrival at the shelter plus the buffer (a batch hold, under the agency's mass-rescue
budget, refused if the shelter's hold limit from now no longer reaches it), and the travel plan
with its check-ins is staged; then the funding is committed against its sources by conditional
UPDATEs and recorded as a committed allocation (so lifetime tickets count). Anything that no
longer fits (a bed or money gone, a hold that could not cover the arrival, an itinerary gone or
expired) rolls everything back with a 409 or 422 saying so: optimise again. An Idempotency-Key
replays the first answer. Accepting a plan that planned nothing does nothing.
"""


from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlmodel import Session

from core import audit, idempotency
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.beds import hold_sql
from logistics.beds import holds as hold_service
from logistics.beds.models import HoldSource
from logistics.cases.models import CaseStatus
from logistics.cases.service import visible_case
from logistics.errors import (
    MassRescueBudgetExceeded,
    ReturnPlanConflict,
)
from logistics.return_plans import service
from logistics.return_plans.models import (
    AcceptedCase,
    PlannedCase,
    ReturnPlan,
    ReturnPlanAcceptRequest,
    ReturnPlanAcceptResult,
    ReturnPlanPublic,
    ReturnPlanStatus,
)
from logistics.shelters.models import Shelter
from logistics.travel import budget
from logistics.travel import plans as plan_service
from logistics.travel.budget_models import (
    AllocationPublic,
    AllocationStatus,
    FundedCase,
    TravelAllocation,
    TravelAllocationItem,
)
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds
from logistics.vocabulary import BedType


def _conflict(session: Session, message: str) -> ReturnPlanConflict:
    session.rollback()
    return ReturnPlanConflict(message)


def _wanted(session: Session, row: ReturnPlan, public: ReturnPlanPublic,
            body: ReturnPlanAcceptRequest) -> list[PlannedCase]:
    planned = {p.case_id: p for p in public.planned}
    done = set(row.accepted_case_ids)
    ids = body.case_ids if body.case_ids is not None else [c for c in planned if c not in done]
    if len(set(ids)) != len(ids):
        raise InvalidInput("case_ids", "each case once")
    for i, cid in enumerate(ids):
        if cid not in planned:
            raise InvalidInput(f"case_ids.{i}", "the case has no way home in this plan")
        if cid in done:
            raise _conflict(session, f"case {cid} of this plan is already accepted")
    if not ids and planned:
        raise _conflict(session, "every planned case is already accepted")
    # One lock order for every acceptance: (shelter, bed type), as batch holds do.
    return sorted((planned[c] for c in ids), key=lambda p: (p.shelter_id, p.bed_type, p.case_id))


def reserve_holds(session: Session, agency_id: int, wanted: int, now: datetime) -> None:
    conn = session.connection()
    budget = conn.execute(hold_sql.LOCK_BUDGET, {"agency": agency_id}).scalar_one()
    used = int(conn.execute(hold_sql.BATCH_HOLDS_IN_USE,
                            {"agency": agency_id, "at": now}).scalar_one())
    if used + wanted > budget:
        session.rollback()
        raise MassRescueBudgetExceeded(
            f"accepting needs {wanted} new holds but the agency's mass-rescue budget is "
            f"{budget} active batch holds and {used} are in use; nothing was accepted",
            extra={"budget": budget, "in_use": used, "requested": wanted})


def _record_allocation(session: Session, cipher: FieldCipher, actor: Principal, agency_id: int,
                       plan_id: int, accepted: list[AcceptedCase], totals: dict[int, int],
                       now: datetime) -> int:
    """The funding as a committed allocation, readable at /v1/travel/allocations/{id}, whose
    items make later solves see the lifetime tickets used."""
    row = TravelAllocation(agency_id=agency_id, status=AllocationStatus.COMMITTED,
                           created_by=actor.account_id, created_at=now,
                           committed_by=actor.account_id, committed_at=now, result_sealed=b"")
    session.add(row)
    session.flush()
    assert row.id is not None
    funded = [FundedCase(case_id=a.case_id, itinerary_id=f"return-plan-{plan_id}",
                            funding_source_id=a.funding_source_id, cost_cents=a.cost_cents)
              for a in accepted if a.funding_source_id is not None and a.cost_cents > 0]
    public = AllocationPublic(id=row.id, agency_id=agency_id, status=AllocationStatus.COMMITTED,
                              funded=funded, unfunded=[], weighted_survivors=0,
                              spent_cents={str(k): v for k, v in totals.items()}, optimal=True,
                              created_at=now, committed_at=now)
    row.result_sealed = cipher.seal(public.model_dump_json(), field=service.ALLOCATION_FIELD)
    for f in funded:
        session.add(TravelAllocationItem(allocation_id=row.id, case_id=f.case_id,
                                         funding_source_id=f.funding_source_id,
                                         itinerary_id=f.itinerary_id, cost_cents=f.cost_cents))
    return row.id


def accept(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
           timetables: TimetableStore, plan_id: int, body: ReturnPlanAcceptRequest,
           now: datetime | None = None, idempotency_key: str | None = None,
           request_hash: str = "") -> ReturnPlanAcceptResult:
    """Travel plans, destination holds and funding for the chosen cases, all or nothing."""
    row = service.visible(session, actor, plan_id)
    now = now or utcnow()
    if actor.account_id is None or actor.agency_id is None:
        raise InvalidInput("case_ids", "only a person's account of the agency can accept")
    if idempotency_key is not None:
        replay = idempotency.claim(session, account_id=actor.account_id, key=idempotency_key,
                                   request_hash=request_hash)
        if replay is not None:
            session.rollback()
            return ReturnPlanAcceptResult.model_validate(replay)
    public = service.public_of(cipher, row)
    wanted = _wanted(session, row, public, body)
    reserve_holds(session, row.agency_id, len(wanted), now)
    buffer = timedelta(minutes=public.hold_buffer_minutes)
    accepted: list[AcceptedCase] = []
    totals: dict[int, int] = {}
    for p in wanted:
        case = visible_case(session, actor, p.case_id)
        if case.status == CaseStatus.CLOSED:
            raise _conflict(session, f"case {p.case_id} is closed")
        itinerary = plan_service.recheck_id(
            session, actor=actor, cipher=cipher, ids=ids, timetables=timetables, case=case,
            itinerary_id=p.itinerary.itinerary_id, now=now)
        until = p.arrive_at_shelter + buffer
        shelter = session.get(Shelter, p.shelter_id)
        if shelter is None or until > now + timedelta(minutes=shelter.max_hold_minutes):
            raise _conflict(session, f"case {p.case_id}: a hold at shelter {p.shelter_id} "
                                     "can no longer last until the arrival plus buffer: "
                                     "optimise again")
        hold = hold_service.stage_hold(
            session, actor=actor, shelter_id=p.shelter_id, bed_type=BedType(p.bed_type),
            beds=p.beds, case_ref=case.case_ref, now=now, source=HoldSource.BATCH,
            ttl_minutes=math.ceil((until - now).total_seconds() / 60), until=until)
        if hold is None:
            raise _conflict(session, f"case {p.case_id}: the {p.bed_type} beds at shelter "
                                     f"{p.shelter_id} are no longer free: optimise again")
        plan = plan_service.stage_plan(session, actor=actor, cipher=cipher, case=case,
                                       itinerary=itinerary, hold_id=hold.id, now=now)
        assert plan.id is not None
        if p.funding_source_id is not None and p.cost_cents > 0:
            totals[p.funding_source_id] = totals.get(p.funding_source_id, 0) + p.cost_cents
        accepted.append(AcceptedCase(case_id=p.case_id, travel_plan_id=plan.id,
                                     hold_id=hold.id, hold_expires_at=hold.expires_at,
                                     funding_source_id=p.funding_source_id,
                                     cost_cents=p.cost_cents))
    budget.spend(session, totals, now, again="optimise again")
    allocation_id = _record_allocation(session, cipher, actor, row.agency_id, plan_id,
                                       accepted, totals, now) if totals else None
    done = sorted({*row.accepted_case_ids, *(a.case_id for a in accepted)})
    row.accepted_case_ids = done
    row.status = (ReturnPlanStatus.ACCEPTED if set(done) >= {p.case_id for p in public.planned}
                  else ReturnPlanStatus.PARTLY_ACCEPTED)
    row.updated_at = now
    session.add(row)
    audit.record(session, actor, action="return_plan.accept", object_type="return_plan",
                 object_id=plan_id, purpose=service.PURPOSE,
                 details={"cases": [a.case_id for a in accepted], "allocation": allocation_id})
    out = ReturnPlanAcceptResult(return_plan_id=plan_id, status=row.status, accepted=accepted,
                    allocation_id=allocation_id, accepted_case_ids=done)
    if idempotency_key is not None:
        idempotency.remember(session, account_id=actor.account_id, key=idempotency_key,
                             response=out.model_dump(mode="json"))
    session.commit()
    return out
