"""Re-planning from GTFS-Realtime: which travel plans a feed's cancellations touch.

`read_disruptions` reads a GTFS-Realtime FeedMessage (the well-kept `gtfs-realtime-bindings`)
into cancelled trips (a TripUpdate whose trip is CANCELED, with its start date when given) and
places out of service (an Alert with effect NO_SERVICE on a trip, route or stop), and delayed
trips (a TripUpdate's largest delay, kept only when it breaks a plan: a connection missed or
the arrival after the plan's hold lapses). `detect`
opens every live travel plan (proposed, approved, booked, in transit), marks those whose
scheduled legs ride a cancelled trip or touch a closed stop or route, and records each as a
stored disruption (`logistics.return_plans.disruptions`); the proposals that restore them are
`logistics.return_plans.restore`. Trips are matched by id, and by service date when the feed
gives one (the leg's local departure date, or the day before for a trip that crossed
midnight).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from google.protobuf.message import DecodeError
from google.transit import gtfs_realtime_pb2
from sqlmodel import Session, col, select

from core import audit
from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.beds.models import BedHold
from logistics.return_plans import disruptions
from logistics.return_plans.disruption_models import DisruptionKind
from logistics.travel import plans as plan_service
from logistics.travel.feed_models import ItineraryPublic, TripLeg
from logistics.travel.plan_models import TravelPlan

LIVE = disruptions.LIVE
PURPOSE = "re-planning"


@dataclass(frozen=True)
class Disruptions:
    cancelled: dict[str, frozenset[str]] = field(default_factory=dict)  # trip -> dates ("" any)
    routes: frozenset[str] = frozenset()
    stops: frozenset[str] = frozenset()
    # trip -> (dates, the largest delay in seconds its TripUpdate reports at any stop)
    delayed: dict[str, tuple[frozenset[str], int]] = field(default_factory=dict)


def read_disruptions(data: bytes) -> Disruptions:
    feed = gtfs_realtime_pb2.FeedMessage()
    try:
        feed.ParseFromString(data)
    except DecodeError:
        raise InvalidInput("feed", "not a GTFS-Realtime FeedMessage") from None
    cancelled: dict[str, set[str]] = {}
    routes: set[str] = set()
    stops: set[str] = set()
    delayed: dict[str, tuple[set[str], int]] = {}
    canceled = gtfs_realtime_pb2.TripDescriptor.CANCELED
    no_service = gtfs_realtime_pb2.Alert.NO_SERVICE
    for entity in feed.entity:
        if entity.HasField("trip_update"):
            trip = entity.trip_update.trip
            if trip.schedule_relationship == canceled and trip.trip_id:
                cancelled.setdefault(trip.trip_id, set()).add(trip.start_date)
            elif trip.trip_id:
                # The largest delay reported anywhere on the trip: conservative, since a
                # delay carries on to the later stops unless the feed says otherwise.
                update = entity.trip_update
                late = [update.delay] if update.HasField("delay") else []
                for stop in update.stop_time_update:
                    late += [e.delay for e in (stop.arrival, stop.departure)
                             if e.HasField("delay")]
                if late and max(late) > 0:
                    dates, worst = delayed.get(trip.trip_id, (set(), 0))
                    dates.add(trip.start_date)
                    delayed[trip.trip_id] = (dates, max(worst, *late))
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
                       frozenset(stops),
                       {k: (frozenset(v[0]), v[1]) for k, v in delayed.items()})


def _dates(leg: TripLeg) -> set[str]:
    day = datetime.fromisoformat(leg.depart).date()
    return {"", day.strftime("%Y%m%d"), (day - timedelta(days=1)).strftime("%Y%m%d")}


def _delay_reasons(itinerary: ItineraryPublic, d: Disruptions,
                   hold_until: datetime | None) -> list[str]:
    """A delayed trip disrupts the plan only when the delay breaks it: a later connection is
    missed (walks and taxis in between take their planned time) or the delayed arrival comes
    after the hold lapses."""
    legs = itinerary.legs
    for i, leg in enumerate(legs):
        hit = d.delayed.get(leg.trip_id) if leg.trip_id else None
        if hit is None or not (hit[0] & _dates(leg)):
            continue
        minutes = hit[1] // 60
        what = f"trip {leg.trip_id} ({leg.carrier}, {leg.route}) is {minutes} min late"
        at = datetime.fromisoformat(leg.arrive) + timedelta(seconds=hit[1])
        for nxt in legs[i + 1:]:
            depart = datetime.fromisoformat(nxt.depart)
            if nxt.trip_id:
                if at > depart:
                    return [f"{what}: the connection to trip {nxt.trip_id} at "
                            f"{nxt.from_stop_id} is missed"]
                break
            at = max(at, depart) + (datetime.fromisoformat(nxt.arrive) - depart)
        else:
            if hold_until is not None and at > hold_until:
                return [f"{what}: the arrival comes after the bed hold lapses"]
    return []


def rides_delayed(itinerary: ItineraryPublic, d: Disruptions) -> bool:
    """Whether the itinerary rides a trip the feed reports late (proposals avoid those: their
    arrival is no longer the timetable's)."""
    return any(leg.trip_id in d.delayed and d.delayed[leg.trip_id][0] & _dates(leg)
               for leg in itinerary.legs)


def leg_reasons(itinerary: ItineraryPublic, d: Disruptions,
                hold_until: datetime | None = None) -> list[str]:
    """Why this itinerary no longer runs as planned (empty when untouched); `hold_until`, the
    plan's hold, for delays."""
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
    return reasons + _delay_reasons(itinerary, d, hold_until)


def touching(itinerary: ItineraryPublic, d: Disruptions) -> dict[str, object]:
    """The part of `d` that touches this itinerary, as JSON (stored with its disruption, so
    proposals asked for later still avoid it)."""
    trips: dict[str, list[str]] = {}
    for leg in itinerary.legs:
        dates = d.cancelled.get(leg.trip_id) if leg.trip_id else None
        if leg.trip_id and dates is not None and (dates & _dates(leg)):
            trips[leg.trip_id] = sorted(dates)
    stops = sorted({s for leg in itinerary.legs for s in (leg.from_stop_id, leg.to_stop_id)
                    if s in d.stops})
    routes = sorted({leg.route for leg in itinerary.legs if leg.route in d.routes})
    late = {leg.trip_id: [sorted(d.delayed[leg.trip_id][0]), d.delayed[leg.trip_id][1]]
            for leg in itinerary.legs if leg.trip_id in d.delayed}
    return {"cancelled": trips, "stops": stops, "routes": routes, "delayed": late}


def merged(parts: list[dict[str, object]]) -> Disruptions:
    """One `Disruptions` from stored parts (`touching`)."""
    cancelled: dict[str, set[str]] = {}
    stops: set[str] = set()
    routes: set[str] = set()
    delayed: dict[str, tuple[frozenset[str], int]] = {}
    for part in parts:
        trips = cast(dict[str, list[str]], part.get("cancelled") or {})
        for trip, dates in trips.items():
            cancelled.setdefault(trip, set()).update(dates)
        stops.update(cast(list[str], part.get("stops") or []))
        routes.update(cast(list[str], part.get("routes") or []))
        late = cast(dict[str, tuple[list[str], int]], part.get("delayed") or {})
        for trip, (days, seconds) in late.items():
            before = delayed.get(trip, (frozenset(), 0))
            delayed[trip] = (before[0] | frozenset(days), max(before[1], seconds))
    return Disruptions({k: frozenset(v) for k, v in cancelled.items()}, frozenset(routes),
                       frozenset(stops), delayed)


def detect(session: Session, *, actor: Principal, cipher: FieldCipher, d: Disruptions,
           now: datetime) -> list[tuple[TravelPlan, int, list[str]]]:
    """Every live plan (of the caller's agency; all for the system) the disruptions touch,
    each recorded as a stored disruption (`disruptions.stage`, idempotent): (plan, disruption
    id, reasons). No commit."""
    query = select(TravelPlan).where(col(TravelPlan.status).in_([s.value for s in LIVE]))
    if actor.agency_id is not None:
        query = query.where(TravelPlan.agency_id == actor.agency_id)
    found = []
    for plan in session.exec(query.order_by(col(TravelPlan.id))).all():
        assert plan.id is not None
        itinerary = ItineraryPublic.model_validate_json(
            cipher.open(plan.itinerary_sealed, field=plan_service.ITINERARY_FIELD))
        hold = None if plan.hold_id is None else session.get(BedHold, plan.hold_id)
        reasons = leg_reasons(itinerary, d, None if hold is None else hold.expires_at)
        if not reasons:
            continue
        audit.record(session, actor, action="travel_plan.disrupted", object_type="travel_plan",
                     object_id=plan.id, purpose=PURPOSE)
        kind = (DisruptionKind.TRIP_CANCELLED if any("is cancelled" in r for r in reasons)
                else DisruptionKind.OUT_OF_SERVICE if any("out of service" in r for r in reasons)
                else DisruptionKind.TRIP_DELAYED)
        found.append((plan, disruptions.stage(session, cipher=cipher, plan=plan, kind=kind,
                                              reasons=reasons, now=now,
                                              feed=touching(itinerary, d)), reasons))
    return found
