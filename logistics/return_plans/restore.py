"""Restoring disrupted plans: the smallest changes that work again, and accepting one.

`propose` answers one stored disruption with at most one proposal of each kind, smallest
change first: the same shelter (and bed type) by the same itinerary with a new hold, when only
the hold ended, or else by a later itinerary, keeping the plan's own hold when it still covers
the arrival plus the return plan's buffer, else a new hold there; the
same itinerary to another shelter near the destination (only when the itinerary still runs:
a hold that ended, say); then another shelter by another itinerary. The itineraries are the
case's original search run again from now, with its exclusion zones, dropping every one the
disruption touches (the timetable still has a cancelled train, and it would dominate what
replaces it, so the search starts again after each disrupted departure, a few times). The
other shelters are those joint planning would offer (`candidates.for_case`: matching's
eligibility and the case's exclusions, conservative for safe houses) and each pairing must
pass the planner's own rules (`solvers.return_plan.rules.option_problem`: free beds,
exclusions, a hold that lasts until the arrival plus buffer, intake hours). The itineraries
are vouched for the asking account and the proposals stored sealed on the disruption.

`accept` takes one proposal in ONE transaction: the disruption still open and its plan still
live, the itinerary re-checked against the timetable and the exclusion zones (as booking
does), the kept hold still covering the arrival or a new hold staged (under the agency's
mass-rescue budget), the old plan cancelled and its old hold released (after the plan, so the
release raises no second disruption), the new plan staged with its check-ins, and the
disruption marked accepted. Anything gone since rolls it all back with a 409.
"""

from __future__ import annotations

import base64
import json
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.beds import holds as hold_service
from logistics.beds.inventory import available_expression
from logistics.beds.models import BedHold, HoldSource, HoldStatus
from logistics.cases.models import Location
from logistics.cases.service import decode, visible_case
from logistics.errors import ReturnPlanConflict
from logistics.return_plans import candidates, disruptions, intake, realtime
from logistics.return_plans.acceptance import reserve_holds
from logistics.return_plans.disruption_models import (
    DisruptionDecisionResult,
    DisruptionPublic,
    DisruptionStatus,
    ProposalKind,
    RestoreProposal,
    ReturnDisruption,
)
from logistics.return_plans.models import (
    Disrupted,
    PlannedCase,
    ReplanRequest,
    ReplanResult,
    ReturnCaseChoice,
    ReturnOptions,
    ReturnPlan,
)
from logistics.return_plans.realtime import Disruptions, leg_reasons, rides_delayed
from logistics.return_plans.service import public_of
from logistics.shelters.models import BedInventory, Shelter
from logistics.travel import plans as plan_service
from logistics.travel import search as transport_search
from logistics.travel.feed_models import ItineraryPublic, ItinerarySearchRequest
from logistics.travel.plan_models import PlanStatus, TravelPlan
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds, digest, vouch
from logistics.vocabulary import BedType
from solvers.return_plan import ReturnOption, TripOption
from solvers.return_plan.rules import option_problem

RESEARCHES = 4  # searches past disrupted departures, at most


def _minute(moment: datetime | str) -> int:
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return int(at.timestamp()) // 60


def _at(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


def origin(session: Session, cipher: FieldCipher, plan: TravelPlan
           ) -> tuple[PlannedCase, int] | None:
    """The case's planned way home in the newest return plan that accepted it, and that plan's
    hold buffer: the search re-planning runs again (None for a plan made by hand)."""
    rows = session.exec(select(ReturnPlan).where(
        ReturnPlan.agency_id == plan.agency_id,
        col(ReturnPlan.status) != "proposed").order_by(col(ReturnPlan.id).desc())).all()
    for row in rows:
        if plan.case_id in row.accepted_case_ids:
            public = public_of(cipher, row)
            for p in public.planned:
                if p.case_id == plan.case_id:
                    return p, public.hold_buffer_minutes
    return None


def _itineraries(session: Session, timetables: TimetableStore, search: ItinerarySearchRequest,
                 d: Disruptions, now: datetime
                 ) -> list[tuple[ItineraryPublic, ItinerarySearchRequest]]:
    """Itineraries of the search from now that no disruption touches, each with the search
    that found it (for vouching)."""
    after = max(now, search.depart_after)
    found: dict[str, tuple[ItineraryPublic, ItinerarySearchRequest]] = {}
    for _ in range(RESEARCHES):
        body = search.model_copy(update={"depart_after": after})
        answers, _ = transport_search.find(session, body, timetables)
        for it in answers:
            if (not leg_reasons(it, d) and not rides_delayed(it, d)
                    and datetime.fromisoformat(it.depart) > now):
                found.setdefault(digest(it), (it, body))
        hit = [datetime.fromisoformat(it.depart) for it in answers
               if leg_reasons(it, d) or rides_delayed(it, d)]
        if not hit:
            break
        after = min(hit) + timedelta(minutes=1)
    return sorted(found.values(), key=lambda p: (p[0].arrive, p[0].cost_cents))


def _free(session: Session, shelter_id: int, bed_type: str, now: datetime) -> int:
    return int(session.exec(select(available_expression(now)).where(
        BedInventory.shelter_id == shelter_id, BedInventory.bed_type == bed_type)).first() or 0)


def propose(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
            timetables: TimetableStore, row: ReturnDisruption, d: Disruptions,
            now: datetime) -> tuple[list[RestoreProposal], list[str]]:
    """The proposals for one disruption and, when there are none of some kind, why."""
    assert actor.account_id is not None
    plan = session.get(TravelPlan, row.travel_plan_id)
    assert plan is not None
    found = origin(session, cipher, plan)
    hold = None if plan.hold_id is None else session.get(BedHold, plan.hold_id)
    if found is None or hold is None:
        return [], ["the plan was not made by a return plan (or has no destination hold), so "
                    "its search is not known: optimise again"]
    planned, buffer_min = found
    buffer = timedelta(minutes=buffer_min)
    case = visible_case(session, actor, plan.case_id)
    data = decode(cipher, case)
    zones = list(data.exclusions.points)
    search = planned.search.model_copy(update={"avoid": planned.search.avoid.model_copy(
        update={"points": [*planned.search.avoid.points, *zones]})})
    current = ItineraryPublic.model_validate_json(
        cipher.open(plan.itinerary_sealed, field=plan_service.ITINERARY_FIELD))
    trips = _itineraries(session, timetables, search, d, now)
    others = [(it, body) for it, body in trips if digest(it) != digest(current)]
    # Other shelters: those joint planning would offer now, with their hand-over minutes.
    near = candidates.for_case(
        session, data=data, request=ReturnCaseChoice(
            case_id=plan.case_id, destination=Location(lat=search.destination.lat,
                                                       lon=search.destination.lon)),
        index=0, account_id=actor.account_id, ids=ids, timetables=timetables,
        depart_after=max(now, search.depart_after), now=now,
        options=ReturnOptions(shelters_per_case=8, itineraries_per_shelter=10,
                              hold_buffer_minutes=buffer_min))
    arrivals = {k: _minute(it.arrive) for k, it in near.itineraries.items()}
    handover = {(o.shelter_id, o.bed_type): o.trip.arrive - arrivals[o.trip.itinerary_id]
                for o in near.case.options}
    own = (str(hold.shelter_id), str(hold.bed_type))
    same_handover = handover.get(own, _minute(planned.arrive_at_shelter)
                                 - _minute(planned.itinerary.arrive))
    hold_alive = hold.status == HoldStatus.ACTIVE.value and hold.expires_at > now
    shelter = session.get(Shelter, hold.shelter_id)
    assert shelter is not None
    proposals: list[RestoreProposal] = []
    none: list[str] = []

    def add(kind: ProposalKind, shelter_id: int, bed_type: str, it: ItineraryPublic,
            body: ItinerarySearchRequest, arrive: int, keeps: bool, reasons: list[str]) -> None:
        [vouched] = vouch(ids, account_id=actor.account_id or 0, search=body,
                          itineraries=[it], now=now)
        proposals.append(RestoreProposal(
            id=len(proposals), kind=kind, shelter_id=shelter_id, bed_type=bed_type,
            beds=hold.beds, itinerary=vouched, arrive_at_shelter=_at(arrive),
            hold_until=hold.expires_at if keeps else _at(arrive) + buffer, keeps_hold=keeps,
            reasons=reasons))

    # 1. The same shelter by a later itinerary: the plan's hold if it still covers, else anew.
    until_max = now + timedelta(minutes=shelter.max_hold_minutes)
    spare = _free(session, hold.shelter_id, str(hold.bed_type), now) + (
        hold.beds if hold_alive else 0)
    windows = intake.windows(shelter.intake_hours, shelter.timezone, now, until_max)
    runs = (not leg_reasons(current, d) and not rides_delayed(current, d)
            and datetime.fromisoformat(current.depart) > now)
    same = [(it, body) for it, body in trips if digest(it) == digest(current)]
    for it, body in (same if runs else []) + others:
        arrive = _minute(it.arrive) + same_handover
        keeps = hold_alive and _at(arrive) + buffer <= hold.expires_at
        fits = keeps or (spare >= hold.beds and _at(arrive) + buffer <= until_max)
        open_ = not windows or any(lo <= arrive <= hi for lo, hi in windows)
        if fits and open_:
            again = digest(it) == digest(current)
            add(ProposalKind.SAME_SHELTER_NEW_HOLD if again else
                ProposalKind.SAME_SHELTER_LATER_TRIP, hold.shelter_id, str(hold.bed_type), it,
                body, arrive, keeps,
                ["the same shelter and bed type", "the same itinerary" if again else
                 "a later itinerary, the disrupted one no longer serving",
                 "the plan's hold still covers the arrival" if keeps else
                 "a new hold until the arrival plus buffer"])
            break
    else:
        none.append("no itinerary reaches the same shelter while a hold there can last "
                    "and within its intake hours")

    def other_shelter(kind: ProposalKind, choices: list[tuple[ItineraryPublic,
                                                              ItinerarySearchRequest]]) -> bool:
        best: tuple[int, int, int, str, ItineraryPublic, ItinerarySearchRequest] | None = None
        for rank, o in enumerate(near.case.options):
            if (o.shelter_id, o.bed_type) == own or o.beds != hold.beds:
                continue
            for it, body in choices:
                arrive = _minute(it.arrive) + handover[(o.shelter_id, o.bed_type)]
                option = ReturnOption(o.shelter_id, o.bed_type, o.beds, TripOption(
                    "x", _minute(it.depart), arrive, it.cost_cents))
                if option_problem(near.case, option, near.pools.get((o.shelter_id, o.bed_type)),
                                  now=_minute(now), buffer=buffer_min) is None:
                    key = (arrive, rank, int(o.shelter_id), o.bed_type, it, body)
                    if best is None or key[:2] < best[:2]:
                        best = key
        if best is None:
            return False
        arrive, _, sid, bed_type, it, body = best
        add(kind, sid, bed_type, it, body, arrive, False,
            [f"{near.names.get(sid, 'another shelter')} near the destination, a new hold "
             "until the arrival plus buffer", "the plan's own hold is released"])
        return True

    # 2. The same itinerary to another shelter, while it still runs.
    if not (runs and same and other_shelter(ProposalKind.OTHER_SHELTER_SAME_TRIP, same)):
        none.append("the itinerary no longer runs" if not (runs and same) else
                    "no other shelter near the destination can take the household on this "
                    "itinerary's arrival")
    # 3. Another shelter by another itinerary.
    if not other_shelter(ProposalKind.OTHER_SHELTER_OTHER_TRIP, others):
        none.append("no other shelter near the destination is reachable by another itinerary "
                    "while a hold there can last")
    return proposals, none


def store(cipher: FieldCipher, row: ReturnDisruption, proposals: list[RestoreProposal],
          none: list[str], account_id: int) -> None:
    row.proposals_sealed = cipher.seal(json.dumps({
        "proposals": [p.model_dump(mode="json", by_alias=True) for p in proposals],
        "none": none, "account_id": account_id}), field=disruptions.PROPOSALS_FIELD)


def refresh(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
            timetables: TimetableStore, disruption_id: int,
            now: datetime | None = None) -> DisruptionPublic:
    """Make (or make again, vouched for the caller) an open disruption's proposals."""
    actor.require_role(*disruptions.PLANNERS)
    if actor.account_id is None:
        raise InvalidInput("disruption_id", "only a person's account can re-plan")
    row = disruptions.visible(session, actor, disruption_id)
    now = now or utcnow()
    disruptions.resolve_if_moot(session, row, now)
    if row.status != DisruptionStatus.OPEN:
        session.rollback()
        raise ReturnPlanConflict(f"disruption {disruption_id} is {row.status}")
    d = realtime.merged(disruptions.feeds_of(session, cipher, row.travel_plan_id))
    proposals, none = propose(session, actor=actor, cipher=cipher, ids=ids,
                              timetables=timetables, row=row, d=d, now=now)
    store(cipher, row, proposals, none, actor.account_id)
    session.add(row)
    audit.record(session, actor, action="return_disruption.propose",
                 object_type="return_disruption", object_id=disruption_id,
                 purpose=disruptions.PLANNERS_PURPOSE, details={"proposals": len(proposals)})
    out = disruptions.public(cipher, row)
    session.commit()
    return out


def _conflict(session: Session, message: str) -> ReturnPlanConflict:
    session.rollback()
    return ReturnPlanConflict(message)


def accept(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
           timetables: TimetableStore, disruption_id: int, proposal_id: int,
           now: datetime | None = None) -> DisruptionDecisionResult:
    """Take one proposal, all in one transaction (see the module docstring)."""
    actor.require_role(*disruptions.PLANNERS)
    row = disruptions.visible(session, actor, disruption_id)
    now = now or utcnow()
    if actor.account_id is None or actor.agency_id is None:
        raise InvalidInput("proposal_id", "only a person's account of the agency can accept")
    proposals, _, account_id = disruptions.stored_proposals(cipher, row)
    if proposals is None or not 0 <= proposal_id < len(proposals):
        raise InvalidInput("proposal_id", "no such proposal: ask for the proposals first")
    if account_id != actor.account_id:
        raise _conflict(session, "the proposals were made for another account: ask for them "
                                 "again")
    if disruptions.resolve_if_moot(session, row, now):
        raise _conflict(session, f"travel plan {row.travel_plan_id} is no longer live")
    p = proposals[proposal_id]
    old = session.get(TravelPlan, row.travel_plan_id)
    assert old is not None
    case = visible_case(session, actor, old.case_id)
    itinerary = plan_service.recheck_id(
        session, actor=actor, cipher=cipher, ids=ids, timetables=timetables, case=case,
        itinerary_id=p.itinerary.itinerary_id, now=now)
    old_hold = None if old.hold_id is None else session.get(BedHold, old.hold_id)
    if p.keeps_hold:
        if (old_hold is None or old_hold.status != HoldStatus.ACTIVE.value
                or old_hold.expires_at < p.hold_until):
            raise _conflict(session, "the plan's hold no longer covers the arrival: ask for "
                                     "the proposals again")
        hold_id: int = old_hold.id  # type: ignore[assignment]
    else:
        shelter = session.get(Shelter, p.shelter_id)
        if shelter is None or p.hold_until > now + timedelta(minutes=shelter.max_hold_minutes):
            raise _conflict(session, f"a hold at shelter {p.shelter_id} can no longer last "
                                     "until the arrival plus buffer")
        reserve_holds(session, row.agency_id, 1, now)
    result = session.execute(update(TravelPlan).where(
        col(TravelPlan.id) == old.id,
        col(TravelPlan.status).in_([s.value for s in disruptions.LIVE])).values(
        status=PlanStatus.CANCELLED.value, updated_at=now, version=TravelPlan.version + 1))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise _conflict(session, f"travel plan {old.id} changed meanwhile")
    audit.record(session, actor, action="travel_plan.status", object_type="travel_plan",
                 object_id=old.id, purpose=disruptions.PLANNERS_PURPOSE,
                 details={"from": str(old.status), "to": "cancelled",
                          "disruption": disruption_id})
    released = None
    if not p.keeps_hold:
        if old_hold is not None and hold_service.stage_close(
                session, actor=actor, hold=old_hold, confirm=False, now=now):
            released = old_hold.id
        staged = hold_service.stage_hold(
            session, actor=actor, shelter_id=p.shelter_id, bed_type=BedType(p.bed_type),
            beds=p.beds, case_ref=case.case_ref, now=now, source=HoldSource.BATCH,
            ttl_minutes=math.ceil((p.hold_until - now).total_seconds() / 60),
            until=p.hold_until)
        if staged is None:
            raise _conflict(session, f"the {p.bed_type} beds at shelter {p.shelter_id} are no "
                                     "longer free: ask for the proposals again")
        hold_id = staged.id
    new = plan_service.stage_plan(session, actor=actor, cipher=cipher, case=case,
                                  itinerary=itinerary, hold_id=hold_id, now=now)
    disruptions.decide(session, row, actor=actor, status=DisruptionStatus.ACCEPTED, now=now,
                       replaced_by=new.id)
    out = DisruptionDecisionResult(disruption=disruptions.public(cipher, row),
                                   travel_plan_id=new.id, hold_id=hold_id,
                                   released_hold_id=released)
    session.commit()
    return out


def replan_feed(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
                timetables: TimetableStore, data: bytes, now: datetime | None = None,
                propose_too: bool = True) -> ReplanResult:
    """Read a GTFS-Realtime feed: record a disruption for every live plan it touches (once
    however often the feed is read) and, for a person's account, its proposals. The system
    (CLI, worker) records and alerts only: proposals are vouched for the account that asks."""
    actor.require_role(*disruptions.PLANNERS)
    now = now or utcnow()
    d = realtime.read_disruptions(data)
    affected = []
    for plan, disruption_id, reasons in realtime.detect(session, actor=actor, cipher=cipher,
                                                        d=d, now=now):
        row = session.get(ReturnDisruption, disruption_id)
        assert row is not None and plan.id is not None
        proposals: list[RestoreProposal] = []
        none = ["ask for proposals: POST /v1/return-plans/disruptions/"
                f"{disruption_id}/proposals"]
        if propose_too and actor.account_id is not None and row.status == DisruptionStatus.OPEN:
            proposals, none = propose(session, actor=actor, cipher=cipher, ids=ids,
                                      timetables=timetables, row=row, d=d, now=now)
            store(cipher, row, proposals, none, actor.account_id)
            session.add(row)
        affected.append(Disrupted(travel_plan_id=plan.id, case_id=plan.case_id,
                                  hold_id=plan.hold_id, disruption_id=disruption_id,
                                  reasons=reasons, proposals=proposals,
                                  no_proposal_reasons=none))
    session.commit()
    return ReplanResult(cancelled_trips=sorted(d.cancelled), affected=affected)


def replan_request(session: Session, *, actor: Principal, cipher: FieldCipher,
                   ids: ItineraryIds, timetables: TimetableStore,
                   body: ReplanRequest) -> ReplanResult:
    """`POST /v1/return-plans/realtime`: the feed comes base64-encoded."""
    try:
        data = base64.b64decode(body.feed_base64, validate=True)
    except ValueError:  # binascii.Error, or a str with other than ASCII characters
        raise InvalidInput("feed_base64", "not base64") from None
    return replan_feed(session, actor=actor, cipher=cipher, ids=ids, timetables=timetables,
                       data=data)
