"""Use cases of travel plans: propose from an itinerary the search vouched for, move through
the status machine, record safety check-ins, list overdue ones, and hold a bed at the
destination shelter.

A plan is made from an `itinerary_id` (`logistics.travel.vouch`): its account and expiry are
checked, then the search it came from runs again on the timetable stored now, with the case's
exclusion zones added to the places avoided, and the chosen itinerary must be among the
answers (same legs, times, fares, carriers and stops) and must not have left yet. So the
carrier rules (ID, minors), the avoid list and the stored feeds are checked by the engine
itself, as at search time, and a plan never rests on a client's word.

A check-in recorded unsafe, or one overdue past its grace period, raises a safety alert
(`logistics.travel.alerts`); a plan with an open alert cannot become `arrived` (409).

Only the case's agency and admins see a plan (others get the same 404 as for a missing one);
every read that opens sealed fields is audited in the same transaction. Status changes are one
conditional UPDATE on the status read, so two people cannot both move a plan; a move the machine
does not allow is a 409. The optional bed hold is staged in the plan's own transaction with
`hold_service.stage_hold` and expires exactly at the scheduled arrival plus a buffer, unless
the shelter's `max_hold_minutes` ends it sooner: then `hold.covers_arrival` is false and
`hold.note` says when it lapses; when no bed is free the note says so, instead of failing the
plan.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import audit, idempotency
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import Conflict, InvalidInput
from core.models import Role
from core.principal import Principal
from logistics.beds import holds as hold_service
from logistics.beds.models import BedHold, HoldPublic, HoldSource
from logistics.cases.models import Case, CaseStatus, ExclusionPoint
from logistics.cases.service import can_see, decode, visible_case
from logistics.errors import (
    InvalidTransition,
    ItineraryUnavailable,
    NotShelterStaff,
    OpenAlerts,
    TooManyHolds,
    TravelPlanNotFound,
)
from logistics.shelters.models import Shelter
from logistics.travel import alerts, vouch
from logistics.travel import search as transport_search
from logistics.travel.feed_models import ItineraryPublic
from logistics.travel.plan_models import (
    CHECK_IN_GRACE_MINUTES,
    TRANSITIONS,
    TRAVELLING,
    CheckInKind,
    CheckInPublic,
    CheckInRecord,
    CheckInStatus,
    HoldSummary,
    OverdueCheckIn,
    PlanCreated,
    PlanPublic,
    PlanStatus,
    PlanTransition,
    TravelCheckIn,
    TravelPlan,
    TravelPlanCreate,
)
from logistics.travel.timetables import TimetableStore

ITINERARY_FIELD = "travel_plan.itinerary"
BOOKING_FIELD = "travel_plan.booking"
PLACE_FIELD = "travel_check_in.place"
NOTE_FIELD = "travel_check_in.note"
WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
SCHEDULED = ("rail", "bus", "air")
GRACE_MINUTES = CHECK_IN_GRACE_MINUTES
MAX_ACTIVE_HOLDS = 10


def _instant(text: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(field, "not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, "needs a UTC offset")
    return moment.astimezone(UTC)


def check_in_points(itinerary: ItineraryPublic) -> list[tuple[CheckInKind, datetime, str]]:
    """Due check-ins: when each scheduled ride ends and another follows, and on arrival."""
    rides = [i for i, leg in enumerate(itinerary.legs) if leg.mode in SCHEDULED]
    points = [(CheckInKind.TRANSFER, _instant(itinerary.legs[i].arrive, f"itinerary.legs.{i}"),
               itinerary.legs[i].destination) for i in rides[:-1]]
    last = itinerary.legs[-1].destination
    points.append((CheckInKind.ARRIVAL, _instant(itinerary.arrive, "itinerary.arrive"), last))
    return points


def _span(itinerary: ItineraryPublic) -> tuple[datetime, datetime]:
    return (_instant(itinerary.depart, "itinerary.depart"),
            _instant(itinerary.arrive, "itinerary.arrive"))


def _visible(session: Session, actor: Principal, plan_id: int) -> TravelPlan:
    plan = session.get(TravelPlan, plan_id)
    if plan is None or not can_see(actor, plan.agency_id):
        raise TravelPlanNotFound(f"travel plan {plan_id} not found")
    return plan


def _public(session: Session, cipher: FieldCipher, plan: TravelPlan) -> PlanPublic:
    assert plan.id is not None
    rows = session.exec(select(TravelCheckIn).where(TravelCheckIn.plan_id == plan.id)
                        .order_by(col(TravelCheckIn.seq))).all()
    booking = cipher.open_optional(plan.booking_sealed, field=BOOKING_FIELD)
    return PlanPublic(
        id=plan.id, case_id=plan.case_id, agency_id=plan.agency_id, status=plan.status,
        depart_at=plan.depart_at, arrive_at=plan.arrive_at, cost_cents=plan.cost_cents,
        itinerary=ItineraryPublic.model_validate_json(
            cipher.open(plan.itinerary_sealed, field=ITINERARY_FIELD)),
        booking_references=None if booking is None else json.loads(booking),
        hold_id=plan.hold_id, version=plan.version, created_at=plan.created_at,
        updated_at=plan.updated_at,
        check_ins=[CheckInPublic(
            id=c.id or 0, seq=c.seq, kind=c.kind, due_at=c.due_at, status=c.status,
            place=cipher.open(c.place_sealed, field=PLACE_FIELD),
            note=cipher.open_optional(c.note_sealed, field=NOTE_FIELD),
            checked_at=c.checked_at) for c in rows])


def _audit(session: Session, actor: Principal, plan_id: object, action: str,
           details: dict[str, object] | None = None) -> None:
    audit.record(session, actor, action=action, object_type="travel_plan", object_id=plan_id,
                 purpose="travel home", details=details)


def _stage_hold(session: Session, *, actor: Principal, data: TravelPlanCreate, case_ref: str,
                arrive: datetime, now: datetime) -> tuple[HoldPublic | None, HoldSummary]:
    assert data.shelter_id is not None
    if data.bed_type is None:
        raise InvalidInput("bed_type", "give the bed type to hold at the shelter")
    if actor.account_id is None or actor.agency_id is None:
        raise InvalidInput("shelter_id", "only a person's account can hold beds")
    shelter = session.get(Shelter, data.shelter_id)
    if shelter is None:
        raise InvalidInput("shelter_id", f"shelter {data.shelter_id} does not exist")
    if actor.role is Role.SHELTER_COORDINATOR:
        raise NotShelterStaff("coordinators do not hold beds for travel plans")
    until = arrive + timedelta(minutes=data.hold_buffer_minutes)
    # The shelter's cap may end the hold sooner; then the plan says so rather than pretend.
    expires = min(until, now + timedelta(minutes=shelter.max_hold_minutes))
    ttl = -(-int((expires - now).total_seconds()) // 60)
    active = session.exec(select(func.count()).select_from(BedHold).where(
        BedHold.account_id == actor.account_id, BedHold.status == "active",
        BedHold.source == HoldSource.SINGLE, col(BedHold.expires_at) > now)).one()
    if active >= MAX_ACTIVE_HOLDS:
        raise TooManyHolds(f"an account may keep at most {MAX_ACTIVE_HOLDS} active holds")
    hold = hold_service.stage_hold(session, actor=actor, shelter_id=data.shelter_id,
                                  bed_type=data.bed_type, beds=data.beds, case_ref=case_ref,
                                  ttl_minutes=ttl, now=now, until=expires)
    if hold is None:
        return None, HoldSummary(
            hold_id=None, shelter_id=data.shelter_id, expires_at=None,
            buffer_minutes=data.hold_buffer_minutes, covers_arrival=False,
            note=f"no {data.bed_type.value} bed is free at shelter {data.shelter_id}: "
                 "no hold was placed")
    covers = expires >= until
    note = (f"held until {hold.expires_at.isoformat()}: scheduled arrival plus "
            f"{data.hold_buffer_minutes} minutes" if covers else
            f"shelter {data.shelter_id} holds beds for at most {shelter.max_hold_minutes} "
            f"minutes, so this hold lapses at {hold.expires_at.isoformat()}, "
            f"{-(-int((until - hold.expires_at).total_seconds()) // 60)} minutes before the "
            "scheduled arrival plus buffer: renew it or call the shelter before then")
    return hold, HoldSummary(hold_id=hold.id, shelter_id=data.shelter_id,
                             expires_at=hold.expires_at, buffer_minutes=data.hold_buffer_minutes,
                             covers_arrival=covers, note=note)


def _recheck(session: Session, *, cipher: FieldCipher, case: Case, voucher: vouch.Voucher,
             timetables: TimetableStore, now: datetime) -> ItineraryPublic:
    """The vouched itinerary as the current timetable has it, or 409 `itinerary-unavailable`.

    The same search again, avoiding the case's exclusion zones too: the chosen itinerary must
    be among the answers. Removing places can only drop itineraries, so one that passes no
    zone and still runs stays in the Pareto set (unless an exactly equal one is kept in its
    place: then the caller is told to search again, never given a plan it did not choose).
    """
    zones = [ExclusionPoint(lat=p.lat, lon=p.lon, radius_km=p.radius_km)
             for p in decode(cipher, case).exclusions.points]
    body = voucher.search
    avoid = body.avoid.model_copy(update={"points": [*body.avoid.points, *zones]})
    found, _reasons = transport_search.find(session, body.model_copy(update={"avoid": avoid}),
                                            timetables)
    chosen = next((i for i in found if vouch.digest(i) == voucher.digest), None)
    if chosen is None:
        raise ItineraryUnavailable(
            "the itinerary no longer runs in the stored timetables, or it passes through one "
            "of the case's exclusion zones: search again")
    if _instant(chosen.depart, "itinerary_id") <= now:
        raise ItineraryUnavailable("the itinerary's first departure has passed: search again")
    return chosen


def recheck_id(session: Session, *, actor: Principal, cipher: FieldCipher,
               ids: vouch.ItineraryIds, timetables: TimetableStore, case: Case,
               itinerary_id: str, now: datetime) -> ItineraryPublic:
    """The itinerary an id vouches for, as the current timetable has it (see `_recheck`)."""
    voucher = vouch.redeem(ids, itinerary_id, account_id=actor.account_id, now=now)
    return _recheck(session, cipher=cipher, case=case, voucher=voucher,
                    timetables=timetables, now=now)


def stage_plan(session: Session, *, actor: Principal, cipher: FieldCipher, case: Case,
               itinerary: ItineraryPublic, hold_id: int | None, now: datetime) -> TravelPlan:
    """A proposed plan with its check-ins, added to the caller's transaction and audited."""
    depart, arrive = _span(itinerary)
    points = check_in_points(itinerary)
    assert case.id is not None
    plan = TravelPlan(
        case_id=case.id, agency_id=case.agency_id, depart_at=depart, arrive_at=arrive,
        cost_cents=itinerary.cost_cents, created_by=actor.account_id,
        itinerary_sealed=cipher.seal(itinerary.model_dump_json(by_alias=True),
                                     field=ITINERARY_FIELD),
        hold_id=hold_id, created_at=now, updated_at=now)
    session.add(plan)
    session.flush()
    assert plan.id is not None
    for seq, (kind, due, place) in enumerate(points):
        session.add(TravelCheckIn(plan_id=plan.id, agency_id=case.agency_id, seq=seq, kind=kind,
                                  due_at=due, place_sealed=cipher.seal(place, field=PLACE_FIELD)))
    _audit(session, actor, plan.id, "travel_plan.create",
           {"case_id": case.id, "check_ins": len(points), "hold": plan.hold_id})
    return plan


def create_plan(session: Session, *, actor: Principal, cipher: FieldCipher,
                ids: vouch.ItineraryIds, timetables: TimetableStore, data: TravelPlanCreate,
                now: datetime | None = None,
                idempotency_key: str | None = None, request_hash: str = "") -> PlanCreated:
    """A plan from an itinerary id the search gave this account, re-checked against the
    current timetable and the case's exclusion zones, with its check-ins and an optional
    destination hold.

    With an Idempotency-Key a retry after a lost answer replays the first plan instead of
    booking a second trip and a second bed.
    """
    actor.require_role(*WORKERS)
    now = now or utcnow()
    case = visible_case(session, actor, data.case_id)
    if idempotency_key is not None:
        assert actor.account_id is not None
        replay = idempotency.claim(session, account_id=actor.account_id, key=idempotency_key,
                                   request_hash=request_hash)
        if replay is not None:
            session.rollback()
            return PlanCreated.model_validate(replay)
    created = book_plan(session, actor=actor, cipher=cipher, ids=ids, timetables=timetables,
                        data=data, case=case, now=now)
    if idempotency_key is not None:
        assert actor.account_id is not None
        idempotency.remember(session, account_id=actor.account_id, key=idempotency_key,
                             response=created.model_dump(mode="json", by_alias=True))
    session.commit()
    return created


def book_plan(session: Session, *, actor: Principal, cipher: FieldCipher,
              ids: vouch.ItineraryIds, timetables: TimetableStore, data: TravelPlanCreate,
              case: Case, now: datetime, expected_cost_cents: int | None = None) -> PlanCreated:
    """Re-check the itinerary id, hold the destination bed if asked and stage the plan, without
    committing: the caller commits it with whatever else must happen with it (a single plan, or
    every plan of a committed allocation at once). With `expected_cost_cents`, an itinerary
    whose fare is not what was budgeted is refused (409 `itinerary-unavailable`)."""
    if case.status == CaseStatus.CLOSED:
        raise Conflict(f"case {data.case_id} is closed")
    itinerary = recheck_id(session, actor=actor, cipher=cipher, ids=ids, timetables=timetables,
                           case=case, itinerary_id=data.itinerary_id, now=now)
    if expected_cost_cents is not None and itinerary.cost_cents != expected_cost_cents:
        raise ItineraryUnavailable(
            f"case {data.case_id}: the itinerary costs {itinerary.cost_cents} cents, not the "
            f"{expected_cost_cents} budgeted for it: allocate again with its real cost")
    hold: HoldPublic | None = None
    summary: HoldSummary | None = None
    if data.shelter_id is not None:
        hold, summary = _stage_hold(session, actor=actor, data=data, case_ref=case.case_ref,
                                    arrive=_span(itinerary)[1], now=now)
    plan = stage_plan(session, actor=actor, cipher=cipher, case=case, itinerary=itinerary,
                      hold_id=None if hold is None else hold.id, now=now)
    # The answer is built before the commit, so nothing can fail after the plan exists.
    return PlanCreated(**_public(session, cipher, plan).model_dump(), hold=summary)


def get_plan(session: Session, *, actor: Principal, cipher: FieldCipher,
             plan_id: int) -> PlanPublic:
    actor.require_role(*WORKERS)
    plan = _visible(session, actor, plan_id)
    _audit(session, actor, plan_id, "travel_plan.read")
    public = _public(session, cipher, plan)
    session.commit()
    return public


def list_plans(session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
               limit: int, offset: int) -> list[PlanPublic]:
    actor.require_role(*WORKERS)
    alerts.sweep_before_reading(session, cipher=cipher, now=utcnow())
    visible_case(session, actor, case_id)
    plans = session.exec(select(TravelPlan).where(TravelPlan.case_id == case_id)
                         .order_by(col(TravelPlan.id)).limit(limit).offset(offset)).all()
    for plan in plans:
        _audit(session, actor, plan.id, "travel_plan.list_read")
    public = [_public(session, cipher, p) for p in plans]
    session.commit()
    return public


def transition(session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
               data: PlanTransition) -> PlanPublic:
    actor.require_role(*WORKERS)
    plan = _visible(session, actor, plan_id)
    current = PlanStatus(plan.status)
    target = data.status
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(f"a {current.value} plan cannot become {target.value}")
    if target is PlanStatus.APPROVED:
        actor.require_role(Role.CASE_MANAGER)
    if target is PlanStatus.ARRIVED:
        _refuse_arrival_with_open_alerts(session, cipher, plan_id)
    values: dict[str, object] = {"status": target.value, "updated_at": utcnow(),
                                 "version": TravelPlan.version + 1}
    if target is PlanStatus.APPROVED:
        values["approved_by"] = actor.account_id
    if target is PlanStatus.BOOKED:
        refs = [r.strip() for r in data.booking_references or [] if r.strip()]
        if not refs or any(len(r) > 100 for r in refs):
            raise InvalidInput("booking_references", "give 1-20 booking references "
                                                     "of at most 100 characters")
        values["booking_sealed"] = cipher.seal(json.dumps(refs), field=BOOKING_FIELD)
    elif data.booking_references is not None:
        raise InvalidInput("booking_references", "booking references go with status booked")
    result = session.execute(update(TravelPlan).where(
        col(TravelPlan.id) == plan_id, col(TravelPlan.status) == current.value).values(**values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise InvalidTransition(f"travel plan {plan_id} changed meanwhile; read it again")
    _audit(session, actor, plan_id, "travel_plan.status",
           {"from": current.value, "to": target.value})
    session.refresh(plan)
    if target is PlanStatus.CANCELLED and plan.hold_id is not None:
        hold = session.get(BedHold, plan.hold_id)
        if hold is not None:
            # Released in the same transaction; a hold already confirmed, lapsed or released
            # stays as it is.
            hold_service.stage_close(session, actor=actor, hold=hold, confirm=False, now=utcnow())
    public = _public(session, cipher, plan)
    session.commit()
    return public


def _refuse_arrival_with_open_alerts(session: Session, cipher: FieldCipher,
                                     plan_id: int) -> None:
    """409 while an alert on the plan is open, sweeping this plan first so that a check-in
    missed a minute ago blocks the arrival too."""
    raised = alerts.stage_overdue(session, cipher=cipher, now=utcnow(), plan_id=plan_id)
    count = alerts.open_alert_count(session, plan_id=plan_id)
    if not count:
        return
    if raised:
        # The new alerts must outlive the refusal, which ends the request's transaction.
        session.commit()
    raise OpenAlerts(f"the travel plan has {count} open safety alert(s); "
                     "acknowledge them before marking it arrived")


def record_check_in(session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
                    check_in_id: int, data: CheckInRecord) -> PlanPublic:
    actor.require_role(*WORKERS)
    plan = _visible(session, actor, plan_id)
    row = session.get(TravelCheckIn, check_in_id)
    if row is None or row.plan_id != plan_id:
        raise TravelPlanNotFound(f"check-in {check_in_id} of travel plan {plan_id} not found")
    if PlanStatus(plan.status) not in TRAVELLING:
        raise InvalidTransition(f"check-ins are recorded on booked or in-transit plans, "
                                f"not on a {plan.status} one")
    status = CheckInStatus.SAFE if data.safe else CheckInStatus.CONCERN
    result = session.execute(update(TravelCheckIn).where(
        col(TravelCheckIn.id) == check_in_id, col(TravelCheckIn.status) == "pending").values(
        status=status.value, checked_at=utcnow(), checked_by=actor.account_id,
        note_sealed=cipher.seal_optional(data.note, field=NOTE_FIELD)))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict(f"check-in {check_in_id} is already recorded")
    _audit(session, actor, plan_id, "travel_plan.check_in",
           {"check_in_id": check_in_id, "status": status.value})
    if not data.safe:
        alerts.stage_unsafe(session, cipher=cipher, plan=plan, check_in=row, now=utcnow())
    session.refresh(plan)
    public = _public(session, cipher, plan)
    session.commit()
    return public


def overdue_check_ins(session: Session, *, actor: Principal, cipher: FieldCipher,
                      now: datetime | None = None,
                      limit: int = 100, offset: int = 0) -> list[OverdueCheckIn]:
    """Pending check-ins past due (plus 15 minutes' grace) of the caller's agency's travelling
    plans, most overdue first. No sealed field is opened."""
    actor.require_role(*WORKERS)
    now = now or utcnow()
    alerts.sweep_before_reading(session, cipher=cipher, now=now)
    query = (select(TravelCheckIn, TravelPlan)
             .join(TravelPlan, col(TravelPlan.id) == col(TravelCheckIn.plan_id))
             .where(TravelCheckIn.status == "pending",
                    col(TravelCheckIn.due_at) <= now - timedelta(minutes=GRACE_MINUTES),
                    col(TravelPlan.status).in_([s.value for s in TRAVELLING]))
             .order_by(col(TravelCheckIn.due_at), col(TravelCheckIn.id))
             .limit(limit).offset(offset))
    if actor.agency_id is not None:
        query = query.where(TravelCheckIn.agency_id == actor.agency_id)
    rows = session.exec(query).all()
    _audit(session, actor, "overdue", "travel_plan.overdue_read", {"count": len(rows)})
    session.commit()
    return [OverdueCheckIn(plan_id=p.id or 0, case_id=p.case_id, check_in_id=c.id or 0,
                           kind=c.kind, due_at=c.due_at,
                           minutes_overdue=int((now - c.due_at).total_seconds() // 60))
            for c, p in rows]
