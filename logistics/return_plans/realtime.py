"""Re-planning from GTFS-Realtime: which travel plans a feed's cancellations touch, and the
smallest change that restores each.

`read_disruptions` reads a GTFS-Realtime FeedMessage (the well-kept `gtfs-realtime-bindings`)
into cancelled trips (a TripUpdate whose trip is CANCELED, with its start date when given) and
places out of service (an Alert with effect NO_SERVICE on a trip, route or stop). `replan`
opens every live travel plan of the caller's agency (proposed, approved, booked, in transit),
marks those whose scheduled legs ride a cancelled trip or touch a closed stop or route, and for
each proposes, with reasons: the same destination hold by another itinerary of the current
timetable (the original search run again from now, with the case's exclusion zones, dropping
any itinerary that touches a disruption), preferring one the plan's hold still covers (arrival
plus the hold's buffer before it lapses), then the earliest. The case manager accepts by
making the new plan from the proposal's `itinerary_id` (`POST /v1/travel-plans`) and
cancelling the old one. Trips are matched by id, and by service date when the feed gives one
(the leg's local departure date, or the day before for a trip that crossed midnight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.beds.models import BedHold
from logistics.cases.service import decode, visible_case
from logistics.return_plans.models import Disrupted, ReplanProposal, ReplanResult
from logistics.travel import plans as plan_service
from logistics.travel import search as transport_search
from logistics.travel.feed_models import ItineraryPublic, ItinerarySearchRequest, TripLeg
from logistics.travel.plan_models import PlanStatus, TravelPlan
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds, vouch
from logistics.travel.vouch import digest as vouch_digest

LIVE = (PlanStatus.PROPOSED, PlanStatus.APPROVED, PlanStatus.BOOKED, PlanStatus.IN_TRANSIT)
PURPOSE = "re-planning"


@dataclass(frozen=True)
class Disruptions:
    cancelled: dict[str, frozenset[str]] = field(default_factory=dict)  # trip -> dates ("" any)
    routes: frozenset[str] = frozenset()
    stops: frozenset[str] = frozenset()


def read_disruptions(data: bytes) -> Disruptions:
    feed = gtfs_realtime_pb2.FeedMessage()
    try:
        feed.ParseFromString(data)
    except DecodeError:
        raise InvalidInput("feed", "not a GTFS-Realtime FeedMessage") from None
    cancelled: dict[str, set[str]] = {}
    routes: set[str] = set()
    stops: set[str] = set()
    canceled = gtfs_realtime_pb2.TripDescriptor.CANCELED
    no_service = gtfs_realtime_pb2.Alert.NO_SERVICE
    for entity in feed.entity:
        if entity.HasField("trip_update"):
            trip = entity.trip_update.trip
            if trip.schedule_relationship == canceled and trip.trip_id:
                cancelled.setdefault(trip.trip_id, set()).add(trip.start_date)
        if entity.HasField("alert") and entity.alert.effect == no_service:
            for informed in entity.alert.informed_entity:
                if informed.HasField("trip") and informed.trip.trip_id:
                    cancelled.setdefault(informed.trip.trip_id, set()).add(
                        informed.trip.start_date)
                elif informed.stop_id:
                    stops.add(informed.stop_id)
                elif informed.route_id:
                    routes.add(informed.route_id)
    return Disruptions({k: frozenset(v) for k, v in cancelled.items()}, frozenset(routes),
                       frozenset(stops))


def _dates(leg: TripLeg) -> set[str]:
    day = datetime.fromisoformat(leg.depart).date()
    return {"", day.strftime("%Y%m%d"), (day - timedelta(days=1)).strftime("%Y%m%d")}


def leg_reasons(itinerary: ItineraryPublic, d: Disruptions) -> list[str]:
    """Why this itinerary no longer runs as planned (empty when untouched)."""
    reasons = []
    for leg in itinerary.legs:
        dates = d.cancelled.get(leg.trip_id) if leg.trip_id else None
        if dates is not None and (dates & _dates(leg)):
            reasons.append(f"trip {leg.trip_id} ({leg.carrier}, {leg.route}) departing "
                           f"{leg.depart} is cancelled")
        for stop in (leg.from_stop_id, leg.to_stop_id):
            if stop in d.stops:
                reasons.append(f"stop {stop} is out of service")
        if leg.route in d.routes:
            reasons.append(f"route {leg.route} is out of service")
    return reasons


def _proposal(session: Session, *, cipher: FieldCipher, ids: ItineraryIds, actor: Principal,
              timetables: TimetableStore, plan: TravelPlan, search: ItinerarySearchRequest | None,
              d: Disruptions, now: datetime) -> ReplanProposal:
    hold = None if plan.hold_id is None else session.get(BedHold, plan.hold_id)
    if search is None:
        return ReplanProposal(kind="none", itinerary=None, hold_covers_arrival=False,
                              sentence="the plan was not made by a return plan, so its search "
                                       "is not known: search again")
    case = visible_case(session, actor, plan.case_id)
    zones = list(decode(cipher, case).exclusions.points)
    avoid = search.avoid.model_copy(update={"points": [*search.avoid.points, *zones]})
    after = max(now, search.depart_after)
    usable: list[ItineraryPublic] = []
    # The timetable still holds the cancelled trip, and it dominates what would replace it;
    # so search again from just after the first disrupted departure, a few times at most.
    for _ in range(4):
        body = search.model_copy(update={"depart_after": after, "avoid": avoid})
        found, _ = transport_search.find(session, body, timetables)
        usable = [it for it in found if not leg_reasons(it, d)
                  and datetime.fromisoformat(it.depart) > now]
        hit = [datetime.fromisoformat(it.depart) for it in found if leg_reasons(it, d)]
        if usable or not hit:
            break
        after = min(hit) + timedelta(minutes=1)
    if not usable:
        return ReplanProposal(kind="none", itinerary=None, hold_covers_arrival=False,
                              sentence="no other itinerary reaches the destination: "
                                       "optimise again for another shelter")
    buffer = (timedelta(0) if hold is None else
              hold.expires_at - plan.arrive_at)

    def covered(it: ItineraryPublic) -> bool:
        return hold is not None and (datetime.fromisoformat(it.arrive) + buffer
                                     <= hold.expires_at)

    best = min(usable, key=lambda it: (not covered(it), datetime.fromisoformat(it.arrive),
                                       it.cost_cents))
    [vouched] = vouch(ids, account_id=actor.account_id or 0, search=body, itineraries=[best],
                      now=now)
    keeps = covered(best)
    return ReplanProposal(
        kind="same_shelter_other_trip" if hold is not None else "other_trip",
        itinerary=vouched, hold_covers_arrival=keeps,
        sentence=("another itinerary arrives while the hold still runs" if keeps else
                  "another itinerary, arriving after the hold lapses: renew the hold or "
                  "optimise again for another shelter") if hold is not None else
        "another itinerary to the same destination")


def replan(session: Session, *, actor: Principal, cipher: FieldCipher, ids: ItineraryIds,
           timetables: TimetableStore, searches: dict[str, ItinerarySearchRequest],
           data: bytes, now: datetime | None = None, propose: bool = True) -> ReplanResult:
    """Every live plan the feed touches, with a proposal each (see the module docstring).
    `searches` maps an itinerary's digest to the search it was found by, when known (the
    return plans keep theirs). Without `propose` (the CLI, acting as the system, which holds
    no account to vouch itineraries for) only the plans and reasons are reported."""
    now = now or utcnow()
    d = read_disruptions(data)
    query = select(TravelPlan).where(col(TravelPlan.status).in_([s.value for s in LIVE]))
    if actor.agency_id is not None:
        query = query.where(TravelPlan.agency_id == actor.agency_id)
    affected = []
    for plan in session.exec(query.order_by(col(TravelPlan.id))).all():
        assert plan.id is not None
        itinerary = ItineraryPublic.model_validate_json(
            cipher.open(plan.itinerary_sealed, field=plan_service.ITINERARY_FIELD))
        reasons = leg_reasons(itinerary, d)
        if not reasons:
            continue
        audit.record(session, actor, action="travel_plan.disrupted", object_type="travel_plan",
                     object_id=plan.id, purpose=PURPOSE)
        affected.append(Disrupted(
            travel_plan_id=plan.id, case_id=plan.case_id, hold_id=plan.hold_id,
            reasons=reasons,
            proposal=_proposal(session, cipher=cipher, ids=ids, actor=actor,
                               timetables=timetables, plan=plan,
                               search=searches.get(vouch_digest(itinerary)), d=d,
                               now=now) if propose else ReplanProposal(
                kind="none", itinerary=None, hold_covers_arrival=False,
                sentence="ask POST /v1/return-plans/realtime for a proposal")))
    session.commit()
    return ReplanResult(cancelled_trips=sorted(d.cancelled), affected=affected)
