"""Use cases of shelter matching: one household ranked now, or a batch placed at once.

Every request reads the registry afresh (nothing is cached in process memory). Cases, inline
or stored, become `solvers.matching.Household` values (`logistics.matching.households`). One
household is ranked in process over a column index of the shelters within its reach
(`logistics.matching.index`; milliseconds); `rank_in_session` is that use case inside the caller's
transaction, which the safety-plan layer reuses to list shelters with open beds in a plan. A
batch is solved over `logistics.matching.snapshot` in a worker process
(`logistics.matching.solver_pool`). With `hold: true` the batch's
holds are staged in ONE transaction through the registry's conditional UPDATE; if any count
changed since the snapshot, everything rolls back and the batch is solved again on fresh
counts, a bounded number of times; they are batch holds (`logistics.beds.batch_holds`: the agency's
mass-rescue budget, one per case across re-runs). Reading a stored case for matching is
audited, and so is every match made for one. Both use cases first count the request's circles
against the caller's probing budget (`logistics.matching.probe_guard`; 429 when over it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlmodel import Session, col

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import Database
from core.errors import Conflict, InvalidInput
from core.models import Role
from core.principal import Principal
from logistics.beds import batch_holds
from logistics.beds.models import HoldPublic
from logistics.matching import probe_guard
from logistics.matching.households import stored_case, to_household
from logistics.matching.index import IndexedSnapshot, load_index
from logistics.matching.models import (
    BatchAssignment,
    BatchCertificate,
    BatchMatchRequest,
    BatchMatchResult,
    BatchObjective,
    BatchUnplaced,
    ExcludedReason,
    MatchCase,
    MatchOption,
    MatchRequest,
    MatchResult,
    ScoreParts,
)
from logistics.matching.snapshot import ShelterMeta, Snapshot, box_for, load_snapshot
from logistics.matching.solver_pool import PoolLimits, SolverPool
from logistics.probes.rules import ProbeLimits
from logistics.shelters.models import Shelter
from logistics.shelters.service import ADDRESS_FIELD
from logistics.shelters.visibility import rounded_distance_m
from solvers.errors import SolverInputError
from solvers.geo import travel_minutes
from solvers.matching import (
    BatchOptions,
    BatchResult,
    Household,
    MatchWeights,
    Objective,
    RankResult,
    rank_for_household,
)
from solvers.matching.eligibility import REASONS

__all__ = [
    "MATCHERS", "BatchConfig", "HouseholdMatch", "ShelterMeta", "Snapshot", "box_for",
    "load_snapshot", "match_batch", "match_household", "rank_in_session", "stored_case",
    "to_household",
]

MATCHERS = (Role.ADVOCATE, Role.CASE_MANAGER)


# ---- what a caller may see ----------------------------------------------------------------


def shown_distance(distance_m: int, minutes: int, hidden: bool) -> tuple[int, int]:
    """Distance and travel time as shown: rounded to 5 km for a safe house.

    Matching sees a safe house only at its public cell point, for every caller (its own staff
    read the exact place on the shelter itself), so its distances are always shown rounded:
    the answer, and any plan that stores it, is the same whoever asked.
    """
    if not hidden:
        return distance_m, minutes
    rounded = rounded_distance_m(distance_m)
    return rounded, travel_minutes(rounded)


def addresses(session: Session, cipher: FieldCipher, meta: dict[int, ShelterMeta],
              shelter_ids: Sequence[int]) -> dict[int, str | None]:
    """Street addresses of non-confidential shelters; a safe house's is never opened here."""
    public = [i for i in shelter_ids if not meta[i].confidential]
    found: dict[int, str | None] = {i: None for i in shelter_ids}
    if public:
        query = select(col(Shelter.id), col(Shelter.address_sealed)).where(
            col(Shelter.id).in_(public))
        for sid, sealed in session.execute(query).all():
            found[sid] = cipher.open_optional(sealed, field=ADDRESS_FIELD)
    return found


# ---- use cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdMatch:
    """A ranking as answered, plus the free beds of each option's bed type (for plans)."""

    response: MatchResult
    open_beds: dict[int, int]


def rank_in_session(session: Session, *, actor: Principal, cipher: FieldCipher,
                    case: MatchCase | None = None, case_id: int | None = None,
                    limit: int = 10) -> HouseholdMatch:
    """Rank shelters for an inline case or a stored one, in the caller's transaction.

    A stored case's read and its match are audited here; the caller commits.
    """
    actor.require_role(*MATCHERS)
    if (case is None) == (case_id is None):
        raise InvalidInput("case", "give either an inline case or a case_id, not both")
    if case is None:
        assert case_id is not None
        case = stored_case(session, actor=actor, cipher=cipher, case_id=case_id)
    household = to_household(session, case)
    snapshot = load_index(session, household=household)
    ranked = rank_for_household(household, snapshot.index, limit=limit,
                                strict_exclusion_ids=False)
    response = _match_response(session, cipher, snapshot, ranked, case_id)
    if case_id is not None:
        audit.record(session, actor, action="case.match", object_type="case",
                     object_id=case_id, purpose="matching",
                     details={"options": len(response.options),
                              "eligible": ranked.eligible_shelters})
    open_beds = {o.shelter_id: snapshot.option(o.shelter_id).beds(o.bed_type)
                 for o in response.options}
    return HouseholdMatch(response, open_beds)


def match_household(db: Database, *, actor: Principal, cipher: FieldCipher,
                    request: MatchRequest, probe_limits: ProbeLimits) -> MatchResult:
    """The best `limit` shelters for one household now, with every exclusion counted."""
    actor.require_role(*MATCHERS)
    probe_guard.guard_match(db, actor=actor, cipher=cipher, request=request,
                              limits=probe_limits)
    # A stored case's read and match are audited, so that path needs a write transaction;
    # an inline case only reads (its circles were counted above, in their own transaction).
    factory = db.read_session if request.case_id is None else db.write_session
    with factory() as session:
        found = rank_in_session(session, actor=actor, cipher=cipher, case=request.case,
                                case_id=request.case_id, limit=request.limit)
        if request.case_id is not None:
            session.commit()
    return found.response


def _excluded(ranked: RankResult, unloaded: int) -> list[ExcludedReason]:
    # Shelters beyond the household's reach were never loaded: they are all beyond the
    # travel limit.
    counts = {e.code: e.count for e in ranked.excluded}
    if unloaded:
        counts["beyond_max_travel"] = counts.get("beyond_max_travel", 0) + unloaded
    return [ExcludedReason(reason=code, count=n, sentence=REASONS[code])
            for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _match_response(session: Session, cipher: FieldCipher,
                    snapshot: IndexedSnapshot, ranked: RankResult,
                    case_id: int | None) -> MatchResult:
    ids = [int(o.shelter_id) for o in ranked.options]
    meta = snapshot.meta(session, ids)
    address = addresses(session, cipher, meta, ids)
    options = []
    for o in ranked.options:
        sid = int(o.shelter_id)
        m = meta[sid]
        distance, minutes = shown_distance(o.distance_m, o.travel_minutes, m.confidential)
        # The travel part is recomputed from the shown distance: an exact part would let the
        # caller work the exact distance back out of the score.
        parts = dict(o.score_parts) | {"travel": -minutes}
        options.append(MatchOption(
            shelter_id=sid, shelter_name=m.name, city=m.city, state=m.state,
            confidential=m.confidential, street_address=address[sid], bed_type=o.bed_type,
            beds=o.beds, distance_km=round(distance / 1000, 1), distance_rounded=m.confidential,
            travel_minutes=minutes, count_age_minutes=o.count_age_minutes, stale=m.stale,
            language_match=o.language_match, specialisation_match=o.specialisation_match,
            score=sum(parts.values()), score_parts=ScoreParts(**parts)))
    return MatchResult(
        case_ref=ranked.case_ref, case_id=case_id, options=options,
        eligible_shelters=ranked.eligible_shelters, shelters_considered=snapshot.total,
        excluded=_excluded(ranked, snapshot.total - snapshot.loaded),
        computed_at=snapshot.at)


@dataclass(frozen=True)
class BatchConfig:
    """Operator limits for batch solves (from `api.config.Settings`)."""

    time_limit_cap_s: float
    default_time_limit_s: float
    memory_mb: int
    max_concurrent: int = 2
    workers: int = 2
    hold_retries: int = 3


def _households(db: Database, actor: Principal, cipher: FieldCipher,
                request: BatchMatchRequest) -> tuple[list[Household], dict[str, int]]:
    """Households of the batch and the stored case id behind each stored case_ref."""
    if len(set(request.case_ids)) != len(request.case_ids):
        raise InvalidInput("case_ids", "each case id may appear once")
    factory = db.write_session if request.case_ids else db.read_session
    with factory() as session:
        cases = [(f"cases[{i}].", c) for i, c in enumerate(request.cases)]
        stored: dict[str, int] = {}
        for i, case_id in enumerate(request.case_ids):
            case = stored_case(session, actor=actor, cipher=cipher, case_id=case_id)
            cases.append((f"case_ids[{i}].", case))
            stored[case.case_ref] = case_id
        seen: set[str] = set()
        for prefix, case in cases:
            if case.case_ref in seen:
                raise InvalidInput(f"{prefix}case_ref", "each case_ref may appear once")
            seen.add(case.case_ref)
        households = [to_household(session, case, prefix) for prefix, case in cases]
        if request.case_ids:
            session.commit()  # the reads happened, whatever the solve does next
    return households, stored


def match_batch(db: Database, *, actor: Principal, cipher: FieldCipher,
                request: BatchMatchRequest, config: BatchConfig, solvers: SolverPool,
                probe_limits: ProbeLimits) -> BatchMatchResult:
    """Place many households at once; with `hold`, hold every placement or none, within the
    agency's mass-rescue budget, keeping (not repeating) a case's earlier batch hold."""
    actor.require_role(*MATCHERS)
    probe_guard.guard_matching(db, actor=actor, cipher=cipher, cases=request.cases,
                                 case_ids=request.case_ids, limits=probe_limits, source="batch")
    opts = request.options
    limit = opts.time_limit_s or min(config.default_time_limit_s, config.time_limit_cap_s)
    if limit > config.time_limit_cap_s:
        raise InvalidInput("options.time_limit_s",
                           f"must be at most {config.time_limit_cap_s:g} seconds")
    if not request.cases and not request.case_ids:
        raise InvalidInput("cases", "give at least one case or case id")
    households, stored = _households(db, actor, cipher, request)
    weights = MatchWeights(**opts.weights.model_dump())
    options = BatchOptions(max_time_in_seconds=limit, num_workers=config.workers,
                           random_seed=opts.seed, time_limit_cap_seconds=config.time_limit_cap_s,
                           strict_exclusion_ids=False)
    # Model building and the bound run before CP-SAT's clock starts: allow for them.
    limits = PoolLimits(wall_time_s=limit + max(5.0, limit / 2), memory_mb=config.memory_mb,
                        max_concurrent=config.max_concurrent)
    solves = 0
    while True:
        with db.read_session() as session:
            # A case an earlier held batch holds is not solved again: it keeps its bed.
            kept = batch_holds.kept_holds(
                session, agency_id=actor.agency_id or 0, now=utcnow(),
                case_refs=[h.case_ref for h in households]) if opts.hold else {}
            snapshot = load_snapshot(session, box=box_for(households))
        todo = [h for h in households if h.case_ref not in kept]
        solves += 1
        try:
            result = (solvers.solve_batch(todo, snapshot.options, weights, options, limits)
                      if todo else _NOTHING_TO_SOLVE)
        except SolverInputError as exc:
            raise InvalidInput(exc.field, exc.message) from exc
        with db.write_session() as session:
            staged = batch_holds.Staged(placed={}, kept={})
            if opts.hold:
                plan = [batch_holds.Planned(
                    a.case_ref, int(a.shelter_id), a.bed_type, a.beds,
                    min(opts.hold_ttl_minutes, snapshot.meta[int(a.shelter_id)].max_hold_minutes))
                    for a in result.assignments]
                found = batch_holds.stage_batch(
                    session, actor=actor, case_refs=[h.case_ref for h in households],
                    plan=plan, now=utcnow())
                if found is None:
                    session.rollback()
                    if solves > config.hold_retries:
                        raise Conflict(f"bed counts changed during each of {solves} attempts "
                                       "to hold this plan; nothing was held; retry")
                    continue  # counts moved since the snapshot: solve again on fresh ones
                staged = found
            response = _batch_response(snapshot, result, staged.placed, solves)
            response = _with_kept(response, staged.kept)
            _audit_batch(session, actor, response, stored)
            session.commit()
            return response


# No household left to solve (every one kept its hold): trivially optimal.
_NOTHING_TO_SOLVE = BatchResult(
    status="optimal", assignments=(), unplaced=(),
    objective=Objective(weighted_persons=0, travel_m=0, preference=0, persons=0, households=0),
    bound=0, gap=0.0, certificate=None, level_status=())


def _with_kept(response: BatchMatchResult, kept: dict[str, HoldPublic]) -> BatchMatchResult:
    """The answer with the holds kept from an earlier batch: among `holds` (so a re-run
    reports the same hold ids), their case_refs in `already_held`; a kept case is in no
    assignment (it was not placed again) and in no `unplaced`."""
    if not kept:
        return response
    # A planned placement for a kept case (held by a concurrent batch meanwhile) was not held.
    assignments = [a for a in response.assignments if a.case_ref not in kept]
    holds = sorted([*response.holds, *kept.values()], key=lambda h: h.id)
    return response.model_copy(update={"assignments": assignments, "holds": holds,
                                       "held": True, "already_held": sorted(kept)})


def _audit_batch(session: Session, actor: Principal, response: BatchMatchResult,
                 stored: dict[str, int]) -> None:
    placed = {a.case_ref for a in response.assignments}
    audit.record(session, actor, action="match.batch", object_type="match", object_id="batch",
                 purpose="matching",
                 details={"households": len(response.assignments) + len(response.unplaced),
                          "placed": len(placed), "status": response.status,
                          "held": response.held, "solves": response.solves,
                          "case_ids": sorted(stored.values())})
    for case_ref, case_id in sorted(stored.items(), key=lambda kv: kv[1]):
        audit.record(session, actor, action="case.match", object_type="case", object_id=case_id,
                     purpose="matching",
                     details={"placed": case_ref in placed, "held": response.held})


def _batch_response(snapshot: Snapshot,
                    result: BatchResult, held: dict[str, HoldPublic],
                    solves: int) -> BatchMatchResult:
    assignments, travel = [], 0
    for a in result.assignments:
        sid = int(a.shelter_id)
        m = snapshot.meta[sid]
        distance, minutes = shown_distance(a.distance_m, a.travel_minutes, m.confidential)
        travel += distance
        hold = held.get(a.case_ref)
        assignments.append(BatchAssignment(
            case_ref=a.case_ref, shelter_id=sid, shelter_name=m.name, confidential=m.confidential,
            bed_type=a.bed_type, beds=a.beds, distance_km=round(distance / 1000, 1),
            distance_m=distance, distance_rounded=m.confidential, travel_minutes=minutes,
            hold_id=hold.id if hold else None))
    obj, cert = result.objective, result.certificate
    return BatchMatchResult(
        status=result.status, assignments=assignments,
        unplaced=[BatchUnplaced(case_ref=u.case_ref, reasons=list(u.reasons),
                                sentences=[REASONS.get(r, r) for r in u.reasons])
                  for u in result.unplaced],
        # Travel is summed over the distances as shown, so a rounded safe-house distance cannot
        # be recovered from the total.
        objective=BatchObjective(weighted_persons=obj.weighted_persons, travel_m=travel,
                                 preference=obj.preference, persons=obj.persons,
                                 households=obj.households),
        bound=result.bound, gap=result.gap, level_status=list(result.level_status),
        certificate=None if cert is None else BatchCertificate(
            certified=cert.certified, candidate_k=cert.candidate_k, rounds=cert.rounds,
            pairs_eligible=cert.pairs_eligible, pairs_modelled=cert.pairs_modelled),
        held=bool(held), holds=list(held.values()),
        solves=solves, computed_at=snapshot.at)
