"""Use cases of return plans: optimise many cases' way home as one decision, read it, re-plan.

`optimise` builds each stored case's candidates (`candidates.for_case`: beds near its
destination under matching's rules, Pareto itineraries from the timetable, vouched for this
account), reads the funding sources with what they have left and the lifetime tickets cases
have used, and solves `solvers.return_plan.solve` (in the solver worker pool when the model is
large), then stores the answer sealed, with the widening certificate. The candidate search and
the solve hold no write transaction; the case reads are audited with the stored plan.

Accepting is `logistics.return_plans.acceptance`; re-planning (GTFS-Realtime and registry
disruptions, proposals, accepting one) is `logistics.return_plans.restore`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlmodel import Session

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import Database
from core.errors import InvalidInput
from core.principal import Principal
from logistics.cases.models import CaseStatus
from logistics.cases.service import can_see, decode, visible_case
from logistics.errors import (
    ReturnPlanNotFound,
)
from logistics.matching.solver_pool import PoolLimits, SolverPool
from logistics.probes import service as probe_guard
from logistics.probes.rules import CaseGeometry, ProbeLimits, case_probes
from logistics.return_plans import candidates, disruptions
from logistics.return_plans.models import (
    PlannedCase,
    ReturnObjective,
    ReturnPlan,
    ReturnPlanOptimiseRequest,
    ReturnPlanPublic,
    ReturnPlanStatus,
    UnplacedCase,
    WideningCertificate,
)
from logistics.travel import budget
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds
from solvers.errors import SolverInputError
from solvers.return_plan import (
    REASON_TEXT,
    BedPool,
    PlanOptions,
    ReturnInstance,
    ReturnResult,
    SourceRule,
    solve,
)
from solvers.return_plan.candidates import widening_certificate

PLANNERS = disruptions.PLANNERS
PURPOSE = "return planning"
RESULT_FIELD = "return_plan.result"
ALLOCATION_FIELD = "travel_allocation.result"  # logistics.travel.budget's field name


@dataclass(frozen=True)
class PlanConfig:
    """Operator limits of a joint solve (from `api.config.Settings`)."""

    memory_mb: int
    workers: int = 2
    max_concurrent: int = 2
    inline_max_pairs: int = 4_000


def _minute(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def _solve(instance: ReturnInstance, config: PlanConfig, pool: SolverPool) -> ReturnResult:
    pairs = sum(len(c.options) for c in instance.cases) * max(len(instance.sources), 1)
    try:
        if pairs <= config.inline_max_pairs:
            return solve(instance)
        limit = instance.options.time_limit_s
        limits = PoolLimits(wall_time_s=limit + max(5.0, limit), memory_mb=config.memory_mb,
                            max_concurrent=config.max_concurrent)
        return pool.run(solve, (instance,), limits)
    except SolverInputError as exc:
        raise InvalidInput(exc.field, exc.message) from exc


def optimise(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
             timetables: TimetableStore, pool: SolverPool, config: PlanConfig,
             body: ReturnPlanOptimiseRequest, db: Database, probe_limits: ProbeLimits,
             now: datetime | None = None) -> ReturnPlanPublic:
    """Solve and store one joint return plan for stored cases (see the module docstring)."""
    actor.require_role(*PLANNERS)
    if actor.account_id is None:
        raise InvalidInput("cases", "only a person's account can plan travel")
    # Each destination and radius draws a circle around a place, as a match does: counted
    # against the probing limit first (a safe house must not be found by asking around it).
    probe_guard.guard(db, actor=actor, cipher=cipher, limits=probe_limits,
                      source="return_plan", purpose=PURPOSE, probes=[
                          p for c in body.cases for p in case_probes(CaseGeometry(
                              lat=c.destination.lat, lon=c.destination.lon,
                              city=c.destination.city, state=c.destination.state,
                              max_travel_km=c.radius_km))])
    now = now or utcnow()
    depart_after = max(body.depart_after or now, now)
    case_ids = [c.case_id for c in body.cases]
    if len(set(case_ids)) != len(case_ids):
        raise InvalidInput("cases", "each case once")
    found, agencies = [], set()
    for i, request in enumerate(body.cases):
        row = visible_case(session, actor, request.case_id)
        if row.status == CaseStatus.CLOSED:
            raise InvalidInput(f"cases.{i}.case_id", "the case is closed")
        agencies.add(row.agency_id)
        found.append(candidates.for_case(
            session, data=decode(cipher, row), request=request, index=i,
            account_id=actor.account_id, ids=ids, timetables=timetables,
            depart_after=depart_after, now=now, options=body.options))
    if len(agencies) != 1:
        raise InvalidInput("cases", "the cases of one agency per return plan")
    agency_id = agencies.pop()
    sources = budget.active_sources(session, actor, body.funding_source_ids,
                                    agency_id=agency_id)
    used = budget.used_lifetime(session, case_ids)
    pools: dict[tuple[str, str], BedPool] = {}
    names: dict[int, str] = {}
    for f in found:
        pools.update(f.pools)
        names.update(f.names)
    cases = tuple(replace(f.case, used_lifetime=used.get(int(f.case.case_id), frozenset()))
                  for f in found)
    rules = tuple(SourceRule(str(s.id), max(s.budget_cents - s.spent_cents, 0), s.min_age,
                             s.max_age, s.lifetime_from_age, s.priority) for s in sources)
    opts = body.options
    instance = ReturnInstance(
        _minute(now), cases, tuple(pools[k] for k in sorted(pools)), rules,
        PlanOptions(hold_buffer_minutes=opts.hold_buffer_minutes,
                    time_limit_s=float(opts.time_limit_s), num_workers=config.workers))
    session.rollback()  # nothing written: the solve must not hold a transaction open
    result = _solve(instance, config, pool)
    cert = widening_certificate(cases, result, {f.case.case_id: f.left_out for f in found},
                                instance.options.minor_bonus, instance)
    itineraries = {f.case.case_id: f.itineraries for f in found}
    searches = {f.case.case_id: f.search for f in found}
    planned = []
    for ch in result.chosen:
        it = itineraries[ch.case_id][ch.itinerary_id]
        planned.append(PlannedCase(
            case_id=int(ch.case_id), shelter_id=int(ch.shelter_id),
            shelter_name=names.get(int(ch.shelter_id), ""), bed_type=ch.bed_type,
            beds=ch.beds, itinerary=it, arrive_at_shelter=_at(ch.arrive),
            hold_until=_at(ch.arrive + opts.hold_buffer_minutes),
            travel_minutes=ch.arrive - ch.depart, cost_cents=ch.cost_cents,
            funding_source_id=None if ch.source_id is None else int(ch.source_id),
            search=searches[ch.case_id]))
    unplaced = [UnplacedCase(case_id=int(u.case_id), reasons=list(u.reasons),
                             sentences=[REASON_TEXT.get(r, r.replace("_", " "))
                                        for r in u.reasons]) for u in result.unplaced]
    for case_id in case_ids:
        visible_case(session, actor, case_id)  # still there after the solve
        audit.record(session, actor, action="case.read", object_type="case",
                     object_id=case_id, purpose=PURPOSE)
    stored = ReturnPlan(agency_id=agency_id, created_by=actor.account_id, created_at=now,
                        updated_at=now, result_sealed=b"")
    session.add(stored)
    session.flush()
    assert stored.id is not None
    o = result.objective
    public = ReturnPlanPublic(
        id=stored.id, agency_id=agency_id, status=ReturnPlanStatus.PROPOSED,
        solve_status=result.status, planned=planned, unplaced=unplaced,
        objective=ReturnObjective(weighted_persons=o.weighted_persons,
                            travel_minutes=o.travel_minutes, cost_cents=o.cost_cents,
                            preference=o.preference, persons=result.persons,
                            households=len(result.chosen)),
        bound=result.bound, gap=result.gap, level_status=list(result.level_status),
        certificate=WideningCertificate(certified=cert.certified,
                                        widened_bound=cert.widened_bound,
                                        widening_gap=cert.widening_gap,
                                        cases_left_out=cert.cases_left_out),
        hold_buffer_minutes=opts.hold_buffer_minutes, accepted_case_ids=[], created_at=now)
    stored.result_sealed = cipher.seal(public.model_dump_json(), field=RESULT_FIELD)
    audit.record(session, actor, action="return_plan.create", object_type="return_plan",
                 object_id=stored.id, purpose=PURPOSE,
                 details={"cases": len(case_ids), "planned": len(planned),
                          "status": result.status})
    session.commit()
    return public


def visible(session: Session, actor: Principal, plan_id: int) -> ReturnPlan:
    actor.require_role(*PLANNERS)
    row = session.get(ReturnPlan, plan_id)
    if row is None or not can_see(actor, row.agency_id):
        raise ReturnPlanNotFound(f"return plan {plan_id} not found")
    return row


def public_of(cipher: FieldCipher, row: ReturnPlan) -> ReturnPlanPublic:
    stored = ReturnPlanPublic.model_validate_json(cipher.open(row.result_sealed,
                                                              field=RESULT_FIELD))
    return stored.model_copy(update={"status": ReturnPlanStatus(row.status),
                                     "accepted_case_ids": list(row.accepted_case_ids)})


def get(session: Session, *, actor: Principal, cipher: FieldCipher,
        plan_id: int) -> ReturnPlanPublic:
    row = visible(session, actor, plan_id)
    audit.record(session, actor, action="return_plan.read", object_type="return_plan",
                 object_id=plan_id, purpose=PURPOSE)
    public = public_of(cipher, row)
    session.commit()
    return public
