"""Use cases of shelter matching: the registry read as solver input, one household or a batch.

Every request reads a fresh snapshot of the registry (nothing is cached in process memory):
for each shelter, the beds available per bed type net of active, unexpired holds, the age of
its oldest count, whether intake is open now, its languages, populations, requirements and,
for a confidential safe house, its exact point opened from the sealed column (used only for
distances and exclusion zones, never returned). Cases, inline or stored, become
`solvers.matching.Household` values. One household is ranked in process (it takes
milliseconds); a batch is solved in a worker process (`logistics.solver_pool`). With
`hold: true` the batch's holds are staged in ONE transaction through the registry's
conditional UPDATE; if any count changed since the snapshot, everything rolls back and the
batch is solved again on fresh counts, a bounded number of times. Reading a stored case for
matching is audited, and so is every match made for one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, case, cast, func, select
from sqlmodel import Session, col

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import Database
from core.errors import Conflict, InvalidInput
from core.models import Role
from core.principal import Principal
from logistics import bed_service, case_service, solver_pool
from logistics.bed_models import BedHold
from logistics.matching_models import (
    BatchAssignment,
    BatchCertificate,
    BatchMatchRequest,
    BatchObjective,
    BatchResponse,
    BatchUnplaced,
    ExcludedReason,
    MatchCase,
    MatchOption,
    MatchRequest,
    MatchResponse,
    ScoreParts,
)
from logistics.models import BedInventory, Shelter, ShelterLanguage, ShelterStaff
from logistics.schedule import is_open
from logistics.service import ADDRESS_FIELD, LOCATION_FIELD
from logistics.solver_pool import PoolLimits
from logistics.visibility import rounded_distance_m
from logistics.vocabulary import BedType, mask_to_populations
from solvers.eligibility import REASONS
from solvers.errors import SolverInputError
from solvers.geo import BoundingBox, bounding_box, haversine_m, travel_minutes
from solvers.matching import (
    BatchOptions,
    BatchResult,
    ExclusionPoint,
    Exclusions,
    Household,
    MatchWeights,
    Member,
    RankResult,
    ShelterOption,
    rank_for_household,
)

MATCHERS = (Role.ADVOCATE, Role.CASE_MANAGER)
# Confidential shelters are filtered on their coarse grid point (within ~4 km of the house), so
# the SQL box is widened by this much to never miss one.
_BOX_MARGIN_M = 10_000
# A family unit whose size limit is not recorded takes any household the case model allows.
_UNLIMITED_UNIT = 30


@dataclass(frozen=True)
class ShelterMeta:
    """What the response needs about a shelter beyond the solver's view of it."""

    name: str
    city: str
    state: str
    confidential: bool
    stale: bool
    max_hold_minutes: int


@dataclass(frozen=True)
class Snapshot:
    """The registry as the matcher sees it at `at`; `total` counts every shelter in it."""

    options: tuple[ShelterOption, ...]
    meta: dict[int, ShelterMeta]
    total: int
    at: datetime


_SHELTER_COLUMNS = (
    "id", "name", "lat", "lon", "location_sealed", "city", "state", "timezone",
    "confidential_location", "populations_mask", "specialisation", "accessible", "pets",
    "children_max_age", "requires_photo_id", "requires_referral", "requires_sobriety",
    "stale_after_hours", "max_hold_minutes")
_BED_COLUMNS = ("shelter_id", "bed_type", "total", "occupied", "held", "max_household",
                "updated_at")


def _columns(table: type[Any], names: Sequence[str]) -> Any:
    # Plain column rows, not ORM objects: thousands of shelters load in a few milliseconds.
    return select(*(col(getattr(table, name)) for name in names))


def _boxed(stmt: Any, box: BoundingBox | None) -> Any:
    if box is None:
        return stmt
    return stmt.where(col(Shelter.lat).between(box.min_lat, box.max_lat),
                      col(Shelter.lon).between(box.min_lon, box.max_lon))


def _beds_per_shelter(now: datetime, box: BoundingBox | None) -> Any:
    """One row per shelter: free beds per bed type (lapsed holds excluded), unit size, age."""
    inv = BedInventory
    free = bed_service.available_expression(now)
    per_type = [func.sum(case((col(inv.bed_type) == b.value, free), else_=None)).label(b.value)
                for b in BedType]
    unit = case((col(inv.bed_type) == BedType.FAMILY_UNIT.value,
                 func.coalesce(col(inv.max_household), _UNLIMITED_UNIT)), else_=None)
    stmt = (select(col(inv.shelter_id).label("sid"), *per_type,
                   func.max(unit).label("family_max"),
                   func.min(col(inv.updated_at)).label("counted_at"))
            .join(Shelter, col(Shelter.id) == col(inv.shelter_id))
            .group_by(col(inv.shelter_id)))
    return _boxed(stmt, box).subquery()


def _beyond(near: tuple[float, float, int], lat: float, lon: float) -> bool:
    return haversine_m(near[0], near[1], lat, lon) > near[2] + _BOX_MARGIN_M


def load_snapshot(session: Session, *, cipher: FieldCipher, now: datetime | None = None,
                  box: BoundingBox | None = None,
                  near: tuple[float, float, int] | None = None) -> Snapshot:
    """Shelters (inside `box`, or all) as `ShelterOption` values, with capacity read now.

    With `near` = (lat, lon, metres), shelters clearly beyond that reach are left out too;
    `total` still counts them, so callers can report them as out of reach.
    """
    now = now or utcnow()
    beds = _beds_per_shelter(now, box)
    # Core rows on the session's connection: no ORM row processing for thousands of rows.
    conn = session.connection()
    rows = conn.execute(_boxed(
        _columns(Shelter, _SHELTER_COLUMNS)
        .add_columns(*(beds.c[b.value] for b in BedType), beds.c.family_max, beds.c.counted_at,
                     # The schedule as JSON text, so that equal schedules are parsed once.
                     cast(col(Shelter.intake_hours), Text).label("intake_hours"))
        .outerjoin(beds, beds.c.sid == col(Shelter.id)), box)).all()
    languages: dict[int, set[str]] = {}
    for sid, language in conn.execute(_boxed(
            _columns(ShelterLanguage, ("shelter_id", "language"))
            .join(Shelter, col(Shelter.id) == col(ShelterLanguage.shelter_id)), box)).all():
        languages.setdefault(sid, set()).add(language)
    populations = {mask: frozenset(p.value for p in mask_to_populations(mask))
                   for mask in {r.populations_mask for r in rows}}
    # Schedules repeat across shelters: each distinct one is parsed and evaluated once.
    open_now: dict[tuple[str | None, str], bool] = {}
    n_types = len(BedType)
    options, meta = [], {}
    for r in rows:
        if near is not None and _beyond(near, r.lat, r.lon):
            continue
        counts = r[len(_SHELTER_COLUMNS):len(_SHELTER_COLUMNS) + n_types]
        available = {b.value: max(0, int(n)) for b, n in zip(BedType, counts, strict=True)
                     if n is not None}
        age = 0 if r.counted_at is None else max(
            0, int((now - r.counted_at).total_seconds() // 60))
        key = (r.intake_hours, r.timezone)
        if key not in open_now:
            hours = None if r.intake_hours is None else json.loads(r.intake_hours)
            open_now[key] = is_open(hours, r.timezone, now)
        lat, lon = r.lat, r.lon
        if r.confidential_location and r.location_sealed is not None:
            exact = cipher.open(r.location_sealed, field=LOCATION_FIELD)
            lat, lon = (float(part) for part in exact.split(","))
        options.append(ShelterOption(
            shelter_id=str(r.id), lat=lat, lon=lon, populations=populations[r.populations_mask],
            available=available, city=r.city, state=r.state,
            languages=frozenset(languages.get(r.id, ())),
            family_unit_max_household=r.family_max or 0, children_max_age=r.children_max_age,
            wheelchair_accessible=r.accessible, pets_allowed=r.pets,
            # The registry records no medical support yet, so a medical need matches nowhere
            # and is reported as such rather than silently ignored.
            medical_support=False,
            requires_photo_id=r.requires_photo_id, requires_referral=r.requires_referral,
            requires_sobriety=r.requires_sobriety,
            trafficking_specialisation=str(r.specialisation),
            intake_open_now=open_now[key], count_age_minutes=age,
            confidential=r.confidential_location))
        meta[r.id] = ShelterMeta(r.name, r.city, r.state, r.confidential_location,
                                 age > r.stale_after_hours * 60, r.max_hold_minutes)
    total = len(rows) if box is None and near is None else int(
        conn.execute(select(func.count()).select_from(Shelter)).scalar_one())
    return Snapshot(tuple(options), meta, total, now)


# ---- cases -> households ----------------------------------------------------------------


def stored_case(session: Session, *, actor: Principal, cipher: FieldCipher,
                case_id: int) -> MatchCase:
    """A stored case as a match input; the read is audited in the caller's transaction."""
    data = case_service.load_case_data(session, actor=actor, cipher=cipher, case_id=case_id,
                                       purpose="matching")
    public = data.public().model_dump(mode="json", include=set(MatchCase.model_fields))
    return MatchCase.model_validate(public)


def _point(session: Session, case: MatchCase, prefix: str) -> tuple[float, float]:
    loc = case.location
    if loc.lat is not None and loc.lon is not None:
        return loc.lat, loc.lon
    # A city without a point is matched from the centre of the shelters listed in it.
    lat, lon = session.execute(
        select(func.avg(col(Shelter.lat)), func.avg(col(Shelter.lon))).where(
            func.lower(col(Shelter.city)) == (loc.city or "").strip().lower(),
            col(Shelter.state) == loc.state)).one()
    if lat is None:
        raise InvalidInput(f"{prefix}location",
                           "no known point for this city; give lat and lon")
    return float(lat), float(lon)


def check_shelter_ids(session: Session, case: MatchCase, prefix: str) -> None:
    wanted = set(case.exclusions.shelter_ids)
    if not wanted:
        return
    ids = select(col(Shelter.id)).where(col(Shelter.id).in_(wanted))
    found = set(session.execute(ids).scalars())
    for i, sid in enumerate(case.exclusions.shelter_ids):
        if sid not in found:
            raise InvalidInput(f"{prefix}exclusions.shelter_ids[{i}]",
                               f"unknown shelter {sid}")


def to_household(session: Session, case: MatchCase, prefix: str = "case.") -> Household:
    """The solver's view of a case; bad input is a 422 naming the field under `prefix`."""
    check_shelter_ids(session, case, prefix)
    lat, lon = _point(session, case, prefix)
    ex = case.exclusions
    try:
        return Household(
            case_ref=case.case_ref,
            members=tuple(Member(m.age, m.gender.value) for m in case.household),
            lat=lat, lon=lon, urgency=case.urgency, max_travel_km=case.max_travel_km,
            languages=tuple(case.languages), needs=frozenset(n.value for n in case.needs),
            trafficking_type=case.trafficking_type.value,
            exclusions=Exclusions(
                points=tuple(ExclusionPoint(p.lat, p.lon, round(p.radius_km * 1000))
                             for p in ex.points),
                cities=tuple(ex.cities), states=tuple(ex.states),
                shelter_ids=tuple(str(i) for i in ex.shelter_ids)),
            has_photo_id=case.has_photo_id,
            # A placement made through the hotline is itself a referral.
            has_referral=True)
    except SolverInputError as exc:
        raise solver_input(exc, prefix) from exc


def solver_input(exc: SolverInputError, prefix: str) -> InvalidInput:
    field = {"members": "household"}.get(exc.field, exc.field.replace("members[", "household["))
    return InvalidInput(f"{prefix}{field}", exc.message)


def box_for(households: Sequence[Household]) -> BoundingBox | None:
    """The SQL box around every household's reach (None when there is no household)."""
    boxes = [bounding_box(h.lat, h.lon, h.max_travel_km * 1000 + _BOX_MARGIN_M)
             for h in households]
    if not boxes:
        return None
    return BoundingBox(min(b.min_lat for b in boxes), max(b.max_lat for b in boxes),
                       min(b.min_lon for b in boxes), max(b.max_lon for b in boxes))


# ---- what a caller may see ----------------------------------------------------------------


def managed_ids(session: Session, actor: Principal, shelter_ids: Sequence[int]) -> set[int]:
    if actor.is_admin:
        return set(shelter_ids)
    if actor.account_id is None or not shelter_ids:
        return set()
    return set(session.execute(select(col(ShelterStaff.shelter_id)).where(
        col(ShelterStaff.account_id) == actor.account_id,
        col(ShelterStaff.shelter_id).in_(list(shelter_ids)))).scalars())


def shown_distance(distance_m: int, minutes: int, hidden: bool) -> tuple[int, int]:
    """Distance and travel time as shown: rounded to 5 km for a hidden safe house."""
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


# ---- holds for a batch ------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    case_ref: str
    shelter_id: int
    bed_type: str
    beds: int


def stage_holds(session: Session, *, actor: Principal, plan: Sequence[Planned],
                meta: dict[int, ShelterMeta], ttl_minutes: int,
                now: datetime) -> dict[str, BedHold] | None:
    """Stage a hold per planned placement in the session; None (and rolled back) if any fails.

    Placements are staged in (shelter, bed type) order, one lock order for every batch, so two
    batches holding at once on PostgreSQL cannot deadlock.
    """
    held: dict[str, BedHold] = {}
    for p in sorted(plan, key=lambda p: (p.shelter_id, p.bed_type, p.case_ref)):
        ttl = min(ttl_minutes, meta[p.shelter_id].max_hold_minutes)
        hold = bed_service.stage_hold(session, actor=actor, shelter_id=p.shelter_id,
                                      bed_type=BedType(p.bed_type), beds=p.beds,
                                      case_ref=p.case_ref, ttl_minutes=ttl, now=now)
        if hold is None:
            session.rollback()
            return None
        held[p.case_ref] = hold
    return held


# ---- use cases ----------------------------------------------------------------------------


def match_household(db: Database, *, actor: Principal, cipher: FieldCipher,
                    request: MatchRequest) -> MatchResponse:
    """The best `limit` shelters for one household now, with every exclusion counted."""
    actor.require_role(*MATCHERS)
    if (request.case is None) == (request.case_id is None):
        raise InvalidInput("case", "give either an inline case or a case_id, not both")
    # A stored case's read and match are audited, so that path needs a write transaction;
    # an inline case leaves no trace and reads only.
    factory = db.read_session if request.case_id is None else db.write_session
    with factory() as session:
        case = request.case
        if case is None:
            assert request.case_id is not None
            case = stored_case(session, actor=actor, cipher=cipher, case_id=request.case_id)
        household = to_household(session, case)
        snapshot = load_snapshot(session, cipher=cipher, box=box_for([household]),
                                 near=(household.lat, household.lon,
                                       household.max_travel_km * 1000))
        ranked = rank_for_household(household, snapshot.options, limit=request.limit,
                                    strict_exclusion_ids=False)
        response = _match_response(session, actor, cipher, snapshot, ranked, request.case_id)
        if request.case_id is not None:
            audit.record(session, actor, action="case.match", object_type="case",
                         object_id=request.case_id, purpose="matching",
                         details={"options": len(response.options),
                                  "eligible": ranked.eligible_shelters})
            session.commit()
    return response


def _excluded(ranked: RankResult, unloaded: int) -> list[ExcludedReason]:
    # Shelters outside the SQL box were never loaded: they are all beyond the travel limit.
    counts = {e.code: e.count for e in ranked.excluded}
    if unloaded:
        counts["beyond_max_travel"] = counts.get("beyond_max_travel", 0) + unloaded
    return [ExcludedReason(reason=code, count=n, sentence=REASONS[code])
            for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _match_response(session: Session, actor: Principal, cipher: FieldCipher,
                    snapshot: Snapshot, ranked: RankResult,
                    case_id: int | None) -> MatchResponse:
    ids = [int(o.shelter_id) for o in ranked.options]
    managed = managed_ids(session, actor, ids)
    address = addresses(session, cipher, snapshot.meta, ids)
    options = []
    for o in ranked.options:
        sid = int(o.shelter_id)
        m = snapshot.meta[sid]
        hidden = m.confidential and sid not in managed
        distance, minutes = shown_distance(o.distance_m, o.travel_minutes, hidden)
        # The travel part is recomputed from the shown distance: an exact part would let the
        # caller work the exact distance back out of the score.
        parts = dict(o.score_parts) | {"travel": -minutes}
        options.append(MatchOption(
            shelter_id=sid, shelter_name=m.name, city=m.city, state=m.state,
            confidential=m.confidential, street_address=address[sid], bed_type=o.bed_type,
            beds=o.beds, distance_km=round(distance / 1000, 1), distance_rounded=hidden,
            travel_minutes=minutes, count_age_minutes=o.count_age_minutes, stale=m.stale,
            language_match=o.language_match, specialisation_match=o.specialisation_match,
            score=sum(parts.values()), score_parts=ScoreParts(**parts)))
    return MatchResponse(
        case_ref=ranked.case_ref, case_id=case_id, options=options,
        eligible_shelters=ranked.eligible_shelters, shelters_considered=snapshot.total,
        excluded=_excluded(ranked, snapshot.total - len(snapshot.options)),
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
                request: BatchMatchRequest, config: BatchConfig) -> BatchResponse:
    """Place many households at once; with `hold`, hold every placement or none."""
    actor.require_role(*MATCHERS)
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
    pool = PoolLimits(wall_time_s=limit + max(5.0, limit / 2), memory_mb=config.memory_mb,
                      max_concurrent=config.max_concurrent)
    solves = 0
    while True:
        with db.read_session() as session:
            snapshot = load_snapshot(session, cipher=cipher, box=box_for(households))
        solves += 1
        try:
            result = solver_pool.solve_batch_in_worker(households, snapshot.options, weights,
                                                       options, pool)
        except SolverInputError as exc:
            raise InvalidInput(exc.field, exc.message) from exc
        with db.write_session() as session:
            held: dict[str, BedHold] = {}
            if opts.hold and result.assignments:
                plan = [Planned(a.case_ref, int(a.shelter_id), a.bed_type, a.beds)
                        for a in result.assignments]
                staged = stage_holds(session, actor=actor, plan=plan, meta=snapshot.meta,
                                     ttl_minutes=opts.hold_ttl_minutes, now=utcnow())
                if staged is None:
                    if solves > config.hold_retries:
                        raise Conflict(f"bed counts changed during each of {solves} attempts "
                                       "to hold this plan; nothing was held; retry")
                    continue  # counts moved since the snapshot: solve again on fresh ones
                held = staged
            response = _batch_response(session, actor, snapshot, result, held, solves)
            _audit_batch(session, actor, response, stored)
            session.commit()
            return response


def _audit_batch(session: Session, actor: Principal, response: BatchResponse,
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


def _batch_response(session: Session, actor: Principal, snapshot: Snapshot,
                    result: BatchResult, held: dict[str, BedHold],
                    solves: int) -> BatchResponse:
    managed = managed_ids(session, actor, sorted({int(a.shelter_id) for a in result.assignments}))
    assignments, travel = [], 0
    for a in result.assignments:
        sid = int(a.shelter_id)
        m = snapshot.meta[sid]
        hidden = m.confidential and sid not in managed
        distance, minutes = shown_distance(a.distance_m, a.travel_minutes, hidden)
        travel += distance
        hold = held.get(a.case_ref)
        assignments.append(BatchAssignment(
            case_ref=a.case_ref, shelter_id=sid, shelter_name=m.name, confidential=m.confidential,
            bed_type=a.bed_type, beds=a.beds, distance_km=round(distance / 1000, 1),
            distance_m=distance, distance_rounded=hidden, travel_minutes=minutes,
            hold_id=hold.id if hold else None))
    obj, cert = result.objective, result.certificate
    return BatchResponse(
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
        held=bool(held), holds=[bed_service.hold_public(h) for h in held.values()],
        solves=solves, computed_at=snapshot.at)
