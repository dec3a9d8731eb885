"""Itinerary search over the stored feeds: request -> engine query -> Pareto itineraries.

The timetable is derived data held by a `TimetableStore` (logistics/travel/timetables.py): one
calendar-aware timetable per stored feed set (every trip once with its service days), built from
the database by `build_calendar_from_db`, kept in a disk cache beside the database, and expanded
for a departure day's service days d-1 .. d+7, so trips of up to seven days are found on any day
the feeds cover. A departure on a day no stored feed runs is a 422 on `depart_after` naming the
covered dates. `homeward serve` loads the calendar and expands today's in its supervisor with
`warm` before it forks its workers (api/serving.py); `warm_in_background` does the same in a
thread when a worker starts, which finds it there and costs one query. Several feeds are merged
with walking links under 3 km between stops of different feeds and 45-minute shuttles from
airports to any stop within 40 km. Places resolve through `logistics.travel.places`; an
unknown place, an avoided city nobody knows (a typo would silently avoid nothing), or
arrive_by not after depart_after is a 422 naming the field. Each itinerary answered carries
an `itinerary_id` (`logistics.travel.vouch`), the only way to make a travel plan from it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlmodel import Session, select

from core.clock import utcnow
from core.db import Database
from core.errors import InvalidInput
from core.gazetteer import find_city, us_cities
from core.models import Role
from core.principal import Principal
from logistics.cases.models import Location
from logistics.travel.feed_models import (
    ItineraryPublic,
    ItinerarySearchRequest,
    ItinerarySearchResult,
    TransportFeedData,
    TransportStop,
    TripLeg,
)
from logistics.travel.feeds import parse, redated_notes, unpack
from logistics.travel.gtfs import (
    AIRPORT_PREFIX,
    Feed,
    FeedRoute,
    FeedTrip,
    Service,
    StopInfo,
    StopTime,
    build_calendar,
)
from logistics.travel.places import resolve_city
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds, vouch
from solvers.geo import haversine_m
from solvers.transit import (
    Avoid,
    AvoidPoint,
    Footpath,
    Itinerary,
    Network,
    Place,
    StationType,
    TransitInputError,
    TripQuery,
    plan_trips,
)
from solvers.transit.calendar import ServiceCalendar

SEARCHERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
AVOID_CITY_RADIUS_M = 10_000
log = logging.getLogger("homeward.transport")
_WARM_NICE = 10


def _load(session: Session, feed_id: int) -> tuple[Feed, dict[str, StopInfo]]:
    data = session.get(TransportFeedData, feed_id)
    assert data is not None
    rows = session.exec(select(TransportStop).where(TransportStop.feed_id == feed_id)).all()
    info = {r.stop_id: StopInfo(r.city, r.state, StationType(r.station_type)) for r in rows}
    return parse(unpack(data.archive)), info


def merge_feeds(feeds: list[tuple[int, Feed, dict[str, StopInfo]]]
                ) -> tuple[Feed, dict[str, StopInfo], dict[str, int]]:
    """One feed holding all (ids prefixed by feed id where they could clash), its stop
    metadata, and each stop's feed. Merging feeds rather than networks keeps one expansion."""
    if len(feeds) == 1:
        fid, feed, info = feeds[0]
        return feed, info, dict.fromkeys(feed.stops, fid)
    agencies: dict[str, tuple[str, str]] = {}
    stops: dict[str, tuple[str, float, float, str, int]] = {}
    routes: dict[str, FeedRoute] = {}
    services: dict[str, Service] = {}
    trips: list[FeedTrip] = []
    transfers: list[tuple[str, str, int, int | None]] = []
    merged_info: dict[str, StopInfo] = {}
    owner: dict[str, int] = {}
    for fid, feed, info in feeds:
        p = f"{fid}:"
        clash = not owner.keys().isdisjoint(feed.stops)

        def sid(stop_id: str, p: str = p, clash: bool = clash) -> str:
            return p + stop_id if clash else stop_id

        agencies.update({p + k: v for k, v in feed.agencies.items()})
        for k, v in feed.stops.items():
            stops[sid(k)] = v
            owner[sid(k)] = fid
        merged_info.update({sid(k): v for k, v in info.items()})
        routes.update({p + k: FeedRoute(p + k, p + r.agency_id, r.name, r.route_type)
                       for k, r in feed.routes.items()})
        services.update({p + k: v for k, v in feed.services.items()})
        for t in feed.trips:
            times = t.stop_times if not clash else tuple(
                StopTime(st.seq, sid(st.stop_id), st.arrival, st.departure, st.pickup,
                         st.dropoff) for st in t.stop_times)
            trips.append(FeedTrip(t.trip_id, p + t.route_id, p + t.service_id, t.headsign,
                                  t.short_name, t.wheelchair, times))
        transfers.extend((sid(a), sid(b), kind, secs) for a, b, kind, secs in feed.transfers)
    return (Feed(agencies, stops, routes, tuple(trips), services, tuple(transfers)),
            merged_info, owner)


def link_feeds(network: Network, feed_of: list[int]) -> Network:
    """Walks (< 3 km) between stops of different feeds; shuttles from airports (< 40 km)."""
    stops = network.stops
    if len(set(feed_of)) < 2:
        return network
    lat = np.array([s.lat for s in stops])
    lon = np.array([s.lon for s in stops])
    paths = set(network.footpaths)
    for i, s in enumerate(stops):
        airport = s.stop_id.startswith(AIRPORT_PREFIX)
        reach = 40_000 if airport else 3_000
        d2 = (lat - s.lat) ** 2 + ((lon - s.lon) * np.cos(np.radians(s.lat))) ** 2
        for found in np.nonzero(d2 < (reach / 100_000) ** 2)[0]:
            j = int(found)
            if j == i or (feed_of[j] == feed_of[i] and not airport):
                continue
            metres = haversine_m(s.lat, s.lon, stops[j].lat, stops[j].lon)
            if metres > reach:
                continue
            minutes = 45 + metres // 1000 if airport else 5 + metres // 75
            paths.add(Footpath(i, j, minutes))
            if airport:
                paths.add(Footpath(j, i, minutes))
    ordered = tuple(sorted(paths, key=lambda f: (f.from_stop, f.to_stop, f.minutes)))
    return Network(network.stops, network.carriers, network.trips, network.connections, ordered)


def build_calendar_from_db(session: Session, feed_ids: list[int]) -> ServiceCalendar:
    """The merged calendar-aware timetable of the given stored feeds (parsed from their zips)."""
    feed, info, owner = merge_feeds([(fid, *_load(session, fid)) for fid in feed_ids])
    cal = build_calendar(feed, stop_info=info, default_transfer_minutes=10)
    linked = link_feeds(Network(cal.stops, cal.carriers, (), (), cal.footpaths),
                        [owner[s.stop_id] for s in cal.stops])
    return replace(cal, footpaths=linked.footpaths)


ONE_DAY = timedelta(days=1)


def warm(db: Database, timetables: TimetableStore) -> None:
    """Load (or build) the calendar, and expand today's timetable, now, in this thread."""
    us_cities()
    with db.read_session() as session:
        cal = timetables.calendar(session)
        today = utcnow().date()
        covered = None if cal is None else cal.covers()
        if covered is not None and covered[0] <= today <= covered[1]:
            timetables.timetable(session, today)


def warm_in_background(db: Database, timetables: TimetableStore) -> threading.Thread:
    """`warm` in a daemon thread (a worker's start): a no-op but for one query when the
    worker was forked with the store warmed, else the load or build."""

    def run() -> None:
        started = time.perf_counter()
        try:
            # At a lower CPU priority (this thread only, on Linux): the build must not slow
            # the start of the other workers nor the requests of the first seconds.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WARM_NICE)
        except (AttributeError, OSError):
            pass
        try:
            warm(db, timetables)
        except Exception:  # a failed warm-up only leaves the first search slow
            log.exception("timetable warm-up failed")
            return
        log.info("timetable ready", extra={"seconds": round(time.perf_counter() - started, 2)})

    thread = threading.Thread(target=run, name="timetable-warm-up", daemon=True)
    thread.start()
    return thread


def _place(session: Session, place: Location, field: str) -> Place:
    if place.lat is not None and place.lon is not None:
        return Place(place.lat, place.lon)
    assert place.city is not None and place.state is not None
    found = resolve_city(session, place.city, place.state)
    if found is None:
        # The name is not echoed: a place a survivor names is personal data (issue 17).
        raise InvalidInput(field, "unknown place: no stop, and no US place of 15,000 people "
                                  "of that name in that state")
    return Place(found.lat, found.lon, found.label)


def _avoid(session: Session, body: ItinerarySearchRequest) -> Avoid:
    points = [AvoidPoint(p.lat, p.lon, int(p.radius_km * 1000)) for p in body.avoid.points]
    cities = []
    for i, c in enumerate(body.avoid.cities):
        cities.append((c.city, c.state))
        found = resolve_city(session, c.city, c.state)
        if found is None:
            raise InvalidInput(f"avoid.cities.{i}",
                               "unknown place: no US place of that name in that state")
        # Stops near the city but filed under a suburb's name are avoided too.
        centre = find_city(c.city, c.state)
        if centre is not None:
            points.append(AvoidPoint(centre.lat, centre.lon, AVOID_CITY_RADIUS_M))
    return Avoid(tuple(cities), tuple(body.avoid.states), tuple(points))


def to_query(session: Session, body: ItinerarySearchRequest) -> TripQuery:
    if body.arrive_by is not None and body.arrive_by <= body.depart_after:
        raise InvalidInput("arrive_by", "arrive_by must be after depart_after")
    depart = int(body.depart_after.timestamp()) // 60
    return TripQuery(
        origin=_place(session, body.origin, "from"),
        destination=_place(session, body.destination, "to"),
        depart_after=depart,
        arrive_by=None if body.arrive_by is None else int(body.arrive_by.timestamp()) // 60,
        traveller_ages=tuple(t.age for t in body.travellers),
        has_photo_id=body.has_id, escort_available=body.escort,
        budget_cents=body.budget_cents, avoid=_avoid(session, body),
        max_transfers=body.max_transfers, max_overnight_layovers=body.max_overnight_layovers,
        min_transfer_minutes=body.min_transfer_minutes, accessible=body.accessible)


def itinerary_out(it: Itinerary) -> ItineraryPublic:
    return ItineraryPublic(
        depart=it.depart_local, arrive=it.arrive_local, cost_cents=it.cost_cents,
        transfers=it.transfers, overnight_layovers=it.overnight_layovers, escorted=it.escorted,
        legs=[TripLeg(mode=leg.mode.value, carrier=leg.carrier, route=leg.route,
                     trip_id=leg.trip_id, origin=leg.from_name, destination=leg.to_name,
                     from_stop_id=leg.from_stop, to_stop_id=leg.to_stop,
                     depart=leg.depart_local, arrive=leg.arrive_local, fare_cents=leg.fare_cents,
                     distance_m=leg.distance_m, layover_minutes=leg.layover_minutes,
                     indoor_waiting=leg.indoor_waiting, overnight_layover=leg.overnight_layover)
              for leg in it.legs])


def find(session: Session, body: ItinerarySearchRequest,
         timetables: TimetableStore) -> tuple[list[ItineraryPublic], list[str]]:
    """The Pareto itineraries for a search and the reasons, unvouched: the search below, and
    the booking's second look at the current timetable (`plans.create_plan`)."""
    query = to_query(session, body)
    day = body.depart_after.astimezone(UTC).date()
    cal = timetables.calendar(session)
    covered = None if cal is None else cal.covers()
    # Service days are local dates and the timetable is indexed by UTC date: an evening
    # departure in the US on a feed's last day is the next UTC date, and its service day (the
    # UTC date before) is covered. So the UTC date or the one before must be covered.
    if cal is not None and (covered is None or not covered[0] <= day <= covered[1] + ONE_DAY):
        span = "no dates" if covered is None else f"{covered[0]}..{covered[1]}"
        raise InvalidInput("depart_after", f"no stored transport feed runs on {day}; "
                                           f"the feeds cover {span}")
    tt = timetables.timetable(session, day)
    if tt is None:
        return [], ["no transport feed covers this date; import one with "
                    "`homeward transport import-gtfs` or `homeward transport load-national`"]
    try:
        result = plan_trips(tt, query)
    except TransitInputError as exc:
        raise InvalidInput(exc.field, str(exc)) from exc
    return [itinerary_out(i) for i in result.itineraries], list(result.reasons)


def search(session: Session, *, actor: Principal, body: ItinerarySearchRequest, ids: ItineraryIds,
           timetables: TimetableStore, now: datetime | None = None) -> ItinerarySearchResult:
    """Pareto itineraries over arrival, cost and transfers, each with an `itinerary_id` only
    this account can make a travel plan from until it expires, or reasons why there are none.
    """
    actor.require_role(*SEARCHERS)
    found, reasons = find(session, body, timetables)
    vouched = vouch(ids, account_id=actor.account_id or 0, search=body, itineraries=found,
                    now=now or utcnow())
    return ItinerarySearchResult(itineraries=vouched, reasons=reasons,
                                 feed_notes=redated_notes(session))
