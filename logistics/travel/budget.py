"""Use cases of travel money: funding sources, allocations over stored cases, committing one.

Funding sources are stored per agency with their budgets; an agency's admins (and platform
admins) create and change them, its case managers read them. `allocate` takes stored cases
(each with the candidate itineraries the search returned for it, by reference and cost, and a
priority) and the sources to use (by default the agency's active ones), reads each case's
travellers' ages (an audited read), works out which lifetime tickets each case has used from
earlier committed allocations, and solves with `solvers.travel_allocation.allocate` against
what each source has left. The answer is a stored value: who is funded by what, and for every
case left out, why; an empty allocation is a valid answer, never an error. A large request
(more case x source pairs than `AllocationConfig.inline_max_pairs`) runs in the solver worker
pool (`logistics.matching.solver_pool`) under its wall-time and memory limits; a small one in
this process, where a child's start would cost more than the solve.

`commit` records the allocation's spending against its sources, each by a conditional UPDATE
that refuses to spend past a source's budget (money committed by someone else since the solve
is a 409 naming the source), once. With `create_plans` the same transaction books every funded
case's itinerary (an id the search returned) as a travel plan, re-checked as a single plan is
and refused unless its fare is what the allocation budgeted, with a destination bed hold where
one is named: money, plans and beds are committed together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import DomainError, InvalidInput
from core.models import Role
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.cases.service import can_see
from logistics.errors import (
    AllocationCommitted,
    AllocationNotFound,
    FundingExhausted,
    FundingSourceNotFound,
    InsufficientCapacity,
)
from logistics.matching.solver_pool import PoolLimits, SolverPool
from logistics.travel import plans as plan_service
from logistics.travel import vouch
from logistics.travel.budget_models import (
    AllocationCommitRequest,
    AllocationCommitResult,
    AllocationPublic,
    AllocationRequest,
    AllocationStatus,
    FundedCase,
    FundingSource,
    FundingSourceCreate,
    FundingSourcePublic,
    FundingSourceUpdate,
    PlanDestination,
    TravelAllocation,
    TravelAllocationItem,
    UnfundedCase,
)
from logistics.travel.plan_models import PlanCreated, TravelPlanCreate
from logistics.travel.timetables import TimetableStore
from solvers.errors import SolverInputError
from solvers.travel_allocation import Allocation, Candidate, CaseNeed, SourceRule, allocate

ALLOCATORS = (Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
RESULT_FIELD = "travel_allocation.result"
PURPOSE = "travel budget allocation"


@dataclass(frozen=True)
class AllocationConfig:
    """Operator limits of an allocation solve (from `api.config.Settings`)."""

    time_limit_s: float
    memory_mb: int
    max_concurrent: int = 2
    inline_max_pairs: int = 2_000


def _audit(session: Session, actor: Principal, object_type: str, object_id: object,
           action: str, details: dict[str, object] | None = None) -> None:
    audit.record(session, actor, action=action, object_type=object_type, object_id=object_id,
                 purpose=PURPOSE, details=details)


# ---- funding sources ----------------------------------------------------------------------


def _source_public(row: FundingSource) -> FundingSourcePublic:
    assert row.id is not None
    return FundingSourcePublic(
        id=row.id, agency_id=row.agency_id, name=row.name, budget_cents=row.budget_cents,
        spent_cents=row.spent_cents, remaining_cents=row.budget_cents - row.spent_cents,
        active=row.active, min_age=row.min_age, max_age=row.max_age,
        lifetime_from_age=row.lifetime_from_age, priority=row.priority, version=row.version,
        updated_at=row.updated_at)


def _name_free(session: Session, agency_id: int, name: str, own_id: int | None = None) -> None:
    clash = session.exec(select(FundingSource.id).where(
        FundingSource.agency_id == agency_id, FundingSource.name == name)).first()
    if clash is not None and clash != own_id:
        raise InvalidInput("name", "the agency already has a funding source of this name")


def create_source(session: Session, *, actor: Principal,
                  data: FundingSourceCreate) -> FundingSourcePublic:
    """A funding source of an agency the caller administers (by default its own)."""
    agency_id = data.agency_id if data.agency_id is not None else actor.agency_id
    if agency_id is None:
        raise InvalidInput("agency_id", "give the agency the source belongs to")
    if not actor.administers(agency_id):
        actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
        raise FundingSourceNotFound("no such agency among those you administer")
    if data.min_age > data.max_age:
        raise InvalidInput("max_age", "must be at least min_age")
    _name_free(session, agency_id, data.name)
    now = utcnow()
    row = FundingSource(agency_id=agency_id, **data.model_dump(exclude={"agency_id"}),
                        created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    _audit(session, actor, "funding_source", row.id, "funding_source.create",
           {"agency_id": agency_id, "budget_cents": data.budget_cents})
    public = _source_public(row)
    session.commit()
    return public


def list_sources(session: Session, *, actor: Principal,
                 active: bool | None = None) -> list[FundingSourcePublic]:
    """The caller's agency's sources (a platform admin's: every agency's)."""
    actor.require_role(*ALLOCATORS)
    query = select(FundingSource).order_by(col(FundingSource.agency_id), col(FundingSource.id))
    if not actor.is_platform_admin:
        query = query.where(FundingSource.agency_id == actor.agency_id)
    if active is not None:
        query = query.where(FundingSource.active == active)
    return [_source_public(r) for r in session.exec(query).all()]


def update_source(session: Session, *, actor: Principal, source_id: int,
                  data: FundingSourceUpdate) -> FundingSourcePublic:
    row = session.get(FundingSource, source_id)
    if row is None or not can_see(actor, row.agency_id):
        raise FundingSourceNotFound("funding source not found")
    if not actor.administers(row.agency_id):
        actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("name") is not None:
        _name_free(session, row.agency_id, changes["name"], source_id)
    values: dict[str, object] = {k: v for k, v in changes.items() if v is not None}
    values |= {"updated_at": utcnow(), "version": FundingSource.version + 1}
    statement = update(FundingSource).where(col(FundingSource.id) == source_id)
    if "budget_cents" in values:
        # Never below what is already committed; checked in the UPDATE, not before it.
        statement = statement.where(col(FundingSource.spent_cents) <= values["budget_cents"])
    if session.execute(statement.values(**values)).rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidInput("budget_cents", "the budget cannot go below what is already spent")
    _audit(session, actor, "funding_source", source_id, "funding_source.update",
           {"fields": sorted(changes)})
    session.refresh(row)
    public = _source_public(row)
    session.commit()
    return public


# ---- allocations ------------------------------------------------------------------------


def active_sources(session: Session, actor: Principal, ids: list[int] | None, *,
                   agency_id: int | None = None) -> list[FundingSource]:
    """The sources to spend from: those named (each visible, active and, with `agency_id`,
    that agency's), or by default every active source of `agency_id` (else the caller's
    agency). Shared by allocations and return plans."""
    owner = agency_id if agency_id is not None else actor.agency_id
    if ids is None:
        query = select(FundingSource).where(FundingSource.active == True)  # noqa: E712
        if owner is not None:
            query = query.where(FundingSource.agency_id == owner)
        return list(session.exec(query.order_by(col(FundingSource.id))).all())
    if len(set(ids)) != len(ids):
        raise InvalidInput("funding_source_ids", "ids must be unique")
    rows = []
    for i, source_id in enumerate(ids):
        row = session.get(FundingSource, source_id)
        if row is None or not can_see(actor, row.agency_id) or (
                agency_id is not None and row.agency_id != agency_id):
            raise FundingSourceNotFound("funding source not found")
        if not row.active:
            raise InvalidInput(f"funding_source_ids.{i}", "the funding source is not active")
        rows.append(row)
    return rows


def used_lifetime(session: Session, case_ids: list[int]) -> dict[int, frozenset[str]]:
    """Per case, the sources that paid for it in committed allocations."""
    rows = session.exec(
        select(TravelAllocationItem.case_id, TravelAllocationItem.funding_source_id)
        .join(TravelAllocation,
              col(TravelAllocation.id) == col(TravelAllocationItem.allocation_id))
        .where(TravelAllocation.status == AllocationStatus.COMMITTED.value,
               col(TravelAllocationItem.case_id).in_(case_ids))).all()
    used: dict[int, set[str]] = {}
    for case_id, source_id in rows:
        used.setdefault(case_id, set()).add(str(source_id))
    return {k: frozenset(v) for k, v in used.items()}


def _solve(cases: list[CaseNeed], rules: list[SourceRule], config: AllocationConfig,
           pool: SolverPool) -> Allocation:
    try:
        if len(cases) * max(len(rules), 1) <= config.inline_max_pairs:
            return allocate(cases, rules, time_limit_s=config.time_limit_s)
        # The child's wall time covers the solver's own limit plus building the model and
        # sending the answer back; the solver returns at its limit with what it has.
        limits = PoolLimits(wall_time_s=config.time_limit_s + max(5.0, config.time_limit_s),
                            memory_mb=config.memory_mb, max_concurrent=config.max_concurrent)
        return pool.run(allocate, (cases, rules, config.time_limit_s), limits)
    except SolverInputError as exc:
        raise InvalidInput(exc.field, exc.message) from exc


def allocate_budget(session: Session, *, actor: Principal, cipher: FieldCipher,
                    body: AllocationRequest, config: AllocationConfig,
                    pool: SolverPool) -> AllocationPublic:
    """Solve and store an allocation for stored cases (see the module docstring)."""
    actor.require_role(*ALLOCATORS)
    ids = [c.case_id for c in body.cases]
    if len(set(ids)) != len(ids):
        raise InvalidInput("cases", "each case once")
    ages: dict[int, tuple[int, ...]] = {}
    for c in body.cases:
        data = case_service.load_case_data(session, actor=actor, cipher=cipher,
                                           case_id=c.case_id, purpose=PURPOSE)
        ages[c.case_id] = tuple(m.age for m in data.household)
    sources = active_sources(session, actor, body.funding_source_ids)
    used = used_lifetime(session, ids)
    cases = [CaseNeed(str(c.case_id), c.priority, ages[c.case_id],
                      tuple(Candidate(k.itinerary_id, k.cost_cents) for k in c.candidates),
                      used.get(c.case_id, frozenset())) for c in body.cases]
    rules = [SourceRule(str(s.id), max(s.budget_cents - s.spent_cents, 0), s.min_age,
                        s.max_age, s.lifetime_from_age, s.priority) for s in sources]
    # The solve can take seconds: it must not hold the write transaction (and so every other
    # writer) meanwhile. Nothing is written yet, so this rollback loses nothing; the case reads
    # are audited below, in the transaction that stores the allocation.
    session.rollback()
    result = _solve(cases, rules, config, pool)
    for case_id in ids:
        case_service.visible_case(session, actor, case_id)  # still there after the solve
        _audit(session, actor, "case", case_id, "case.read")
    agency_id = sources[0].agency_id if sources else actor.agency_id
    if agency_id is None:
        raise InvalidInput("funding_source_ids", "give the funding sources to allocate from")
    now = utcnow()
    public_items = ([FundedCase(case_id=int(a.case_id), itinerary_id=a.itinerary_id,
                                   funding_source_id=int(a.source_id), cost_cents=a.cost_cents)
                     for a in result.assignments],
                    [UnfundedCase(case_id=int(u.case_id), reason=u.reason)
                     for u in result.unfunded])
    row = TravelAllocation(agency_id=agency_id, created_by=actor.account_id, created_at=now,
                           result_sealed=b"")
    session.add(row)
    session.flush()
    assert row.id is not None
    public = AllocationPublic(
        id=row.id, agency_id=agency_id, status=AllocationStatus.PROPOSED,
        funded=public_items[0], unfunded=public_items[1],
        weighted_survivors=result.weighted_survivors, spent_cents=result.spent_cents,
        optimal=result.optimal, created_at=now, committed_at=None)
    row.result_sealed = cipher.seal(public.model_dump_json(), field=RESULT_FIELD)
    for a in public.funded:
        session.add(TravelAllocationItem(allocation_id=row.id, case_id=a.case_id,
                                         funding_source_id=a.funding_source_id,
                                         itinerary_id=a.itinerary_id, cost_cents=a.cost_cents))
    _audit(session, actor, "travel_allocation", row.id, "travel_allocation.create",
           {"cases": len(ids), "funded": len(public.funded), "optimal": result.optimal})
    session.commit()
    return public


def _visible_allocation(session: Session, actor: Principal,
                        allocation_id: int) -> TravelAllocation:
    actor.require_role(*ALLOCATORS)
    row = session.get(TravelAllocation, allocation_id)
    if row is None or not can_see(actor, row.agency_id):
        raise AllocationNotFound("allocation not found")
    return row


def _allocation_public(cipher: FieldCipher, row: TravelAllocation) -> AllocationPublic:
    stored = json.loads(cipher.open(row.result_sealed, field=RESULT_FIELD))
    stored |= {"status": row.status, "committed_at": row.committed_at}
    return AllocationPublic.model_validate(stored)


def get_allocation(session: Session, *, actor: Principal, cipher: FieldCipher,
                   allocation_id: int) -> AllocationPublic:
    row = _visible_allocation(session, actor, allocation_id)
    _audit(session, actor, "travel_allocation", allocation_id, "travel_allocation.read")
    public = _allocation_public(cipher, row)
    session.commit()
    return public


def commit_allocation(session: Session, *, actor: Principal, cipher: FieldCipher,
                      allocation_id: int, request: AllocationCommitRequest | None = None,
                      ids: vouch.ItineraryIds | None = None,
                      timetables: TimetableStore | None = None,
                      now: datetime | None = None) -> AllocationCommitResult:
    """Record the allocation's spending against its sources, all or nothing, once; with
    `create_plans`, book every funded case's itinerary as a travel plan in the same
    transaction (each re-checked as `POST /v1/travel-plans` does, and refused unless its fare
    is the cost the allocation budgeted), holding a destination bed where one is named."""
    request = request or AllocationCommitRequest()
    row = _visible_allocation(session, actor, allocation_id)
    now = now or utcnow()
    if request.destinations and not request.create_plans:
        raise InvalidInput("destinations", "destinations are given only with create_plans")
    moved = session.execute(update(TravelAllocation).where(
        col(TravelAllocation.id) == allocation_id,
        col(TravelAllocation.status) == AllocationStatus.PROPOSED.value).values(
        status=AllocationStatus.COMMITTED.value, committed_at=now,
        committed_by=actor.account_id))
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise AllocationCommitted("the allocation is already committed")
    totals: dict[int, int] = {}
    for item in session.exec(select(TravelAllocationItem).where(
            TravelAllocationItem.allocation_id == allocation_id)).all():
        totals[item.funding_source_id] = totals.get(item.funding_source_id, 0) + item.cost_cents
    spend(session, totals, now, again="allocate again")
    session.refresh(row)
    public = _allocation_public(cipher, row)
    plans = (_stage_plans(session, actor=actor, cipher=cipher, funded=public.funded,
                          request=request, ids=ids, timetables=timetables, now=now)
             if request.create_plans else [])
    _audit(session, actor, "travel_allocation", allocation_id, "travel_allocation.commit",
           {"sources": {str(k): v for k, v in totals.items()},
            "plans": [p.id for p in plans]})
    session.commit()
    return AllocationCommitResult(**public.model_dump(), plans=plans)


def spend(session: Session, totals: dict[int, int], now: datetime, *, again: str) -> None:
    """Record `totals` (cents by source id) as spent, each by a conditional UPDATE that refuses
    to go past a source's budget or to spend from an inactive one: then the whole transaction
    is rolled back and the 409 names the source and what to do (`again`)."""
    for source_id, cost in sorted(totals.items()):
        spent = session.execute(update(FundingSource).where(
            col(FundingSource.id) == source_id, col(FundingSource.active).is_(True),
            col(FundingSource.spent_cents) + cost <= col(FundingSource.budget_cents)).values(
            spent_cents=FundingSource.spent_cents + cost, updated_at=now,
            version=FundingSource.version + 1))
        if spent.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise FundingExhausted(
                f"funding source {source_id} no longer has {cost} cents left (or is inactive): "
                f"{again}")


def _stage_plans(session: Session, *, actor: Principal, cipher: FieldCipher,
                 funded: list[FundedCase], request: AllocationCommitRequest,
                 ids: vouch.ItineraryIds | None, timetables: TimetableStore | None,
                 now: datetime) -> list[PlanCreated]:
    """One staged travel plan per funded case; any refusal names its case and undoes all."""
    if ids is None or timetables is None:
        raise InvalidInput("create_plans", "this server cannot book travel plans")
    actor.require_role(*plan_service.WORKERS)
    funded_ids = {f.case_id for f in funded}
    where: dict[int, PlanDestination] = {}
    for destination in request.destinations:
        if destination.case_id not in funded_ids:
            raise InvalidInput("destinations", f"case {destination.case_id} is not funded by "
                                               "this allocation")
        if destination.case_id in where:
            raise InvalidInput("destinations", f"case {destination.case_id} is named twice")
        where[destination.case_id] = destination
    plans: list[PlanCreated] = []
    for item in sorted(funded, key=lambda f: f.case_id):
        goes_to = where.get(item.case_id)
        data = TravelPlanCreate(
            case_id=item.case_id, itinerary_id=item.itinerary_id,
            shelter_id=None if goes_to is None else goes_to.shelter_id,
            bed_type=None if goes_to is None else goes_to.bed_type,
            beds=1 if goes_to is None else goes_to.beds,
            hold_buffer_minutes=120 if goes_to is None else goes_to.hold_buffer_minutes)
        case = case_service.visible_case(session, actor, item.case_id)
        try:
            plan = plan_service.book_plan(
                session, actor=actor, cipher=cipher, ids=ids, timetables=timetables, data=data,
                case=case, now=now, expected_cost_cents=item.cost_cents)
            if goes_to is not None and plan.hold_id is None:
                # A single plan may go ahead without its bed (and says so); a committed
                # allocation promises every bed it names, or commits nothing.
                raise InsufficientCapacity(
                    f"no {goes_to.bed_type.value} bed is free at shelter {goes_to.shelter_id}")
            plans.append(plan)
        except DomainError as exc:
            session.rollback()  # nothing of the commit stays: no spending, no plan, no hold
            _name_case(exc, item.case_id)
            raise
    return plans


def _name_case(exc: DomainError, case_id: int) -> None:
    """Say which case of the allocation a refusal is about (the detail is shown to the caller)."""
    prefix = f"case {case_id}: "
    if not exc.detail.startswith(prefix):
        exc.detail = prefix + exc.detail
        exc.args = (exc.detail,)
    errors = exc.extra.get("errors")
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, dict) and not str(error.get("message", "")).startswith(prefix):
            error["message"] = prefix + str(error.get("message", ""))
