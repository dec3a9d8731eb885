"""Itinerary search over the stored feeds: request -> engine query -> Pareto itineraries.

The timetable is derived data: a process builds it from the database (every stored feed's zip
and stop table, for service days around the departure) and keeps the last two in a read-only
per-process cache keyed by the feeds' ids and content hashes plus the window start, so a
re-import under the same name is picked up at the next search. A build takes 4-6 s for the
national network on an idle machine (7-14 s on a busy one), so no search should wait for one:
`homeward serve` builds today's once in its supervisor with `warm` before it forks its workers,
which start with it in their cache (api/serving.py); `warm_in_background` builds it in a
thread when a worker starts, which finds it there and costs one query, or builds it for a
single-process server and for a worker started on a later day. Each build is logged
("timetable built", with the process id). Several feeds are merged
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
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta

import numpy as np
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.db import Database
from core.errors import InvalidInput
from core.gazetteer import find_city, us_cities
from core.models import Role
from core.principal import Principal
from logistics.travel.feed_models import (
    ItineraryOut,
    ItinerarySearch,
    LegOut,
    PlaceIn,
    SearchOut,
    TransportFeed,
    TransportFeedData,
    TransportStop,
)
from logistics.travel.feeds import parse, unpack
from logistics.travel.gtfs import (
    AIRPORT_PREFIX,
    Feed,
    FeedRoute,
    FeedTrip,
    Service,
    StopInfo,
    StopTime,
    build_network,
)
from logistics.travel.places import resolve_city
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
    Timetable,
    TransitInputError,
    TripQuery,
    build_timetable,
    plan_trips,
)

SEARCHERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
# Service days d-1 .. d+2 of the departure day d: trips that finish within two days.
WINDOW_DAYS_AFTER = 2
AVOID_CITY_RADIUS_M = 10_000
_CACHE: OrderedDict[tuple[object, ...], Timetable | None] = OrderedDict()
_CACHE_SIZE = 2
_LOCK = threading.Lock()
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


def timetable_for(session: Session, day: date) -> Timetable | None:
    """The merged timetable of every stored feed for service days around `day` (cached)."""
    feeds = session.exec(select(TransportFeed.id, TransportFeed.content_hash)
                         .order_by(col(TransportFeed.id))).all()
    key = (tuple((int(i), h) for i, h in feeds if i is not None), day)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        started = time.perf_counter()
        tt: Timetable | None = None
        if feeds:
            loaded = []
            for feed_id, _hash in feeds:
                assert feed_id is not None
                loaded.append((feed_id, *_load(session, feed_id)))
            feed, info, owner = merge_feeds(loaded)
            network = build_network(feed, day, day + timedelta(WINDOW_DAYS_AFTER),
                                    stop_info=info, default_transfer_minutes=10)
            if network.connections:
                tt = build_timetable(link_feeds(network, [owner[s.stop_id]
                                                          for s in network.stops]))
        _CACHE[key] = tt
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        # The process id tells a supervisor's build (shared by the workers it forks) from a
        # worker's own; the day is left out, since it may be a traveller's departure day.
        log.info("timetable built", extra={"pid": os.getpid(), "feeds": len(feeds),
                                           "seconds": round(time.perf_counter() - started, 2)})
        return tt


def warm(db: Database) -> None:
    """Build the place index and today's timetable now, in this thread, unless cached."""
    us_cities()
    with db.read_session() as session:
        timetable_for(session, utcnow().date())


def warm_in_background(db: Database) -> threading.Thread:
    """`warm` in a daemon thread (a worker's start): a no-op but for one query when the
    worker was forked with today's timetable, else the build."""

    def run() -> None:
        started = time.perf_counter()
        try:
            # At a lower CPU priority (this thread only, on Linux): the build must not slow
            # the start of the other workers nor the requests of the first seconds.
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _WARM_NICE)
        except (AttributeError, OSError):
            pass
        try:
            warm(db)
        except Exception:  # a failed warm-up only leaves the first search slow
            log.exception("timetable warm-up failed")
            return
        log.info("timetable ready", extra={"seconds": round(time.perf_counter() - started, 2)})

    thread = threading.Thread(target=run, name="timetable-warm-up", daemon=True)
    thread.start()
    return thread


def _place(session: Session, place: PlaceIn, field: str) -> Place:
    if place.lat is not None and place.lon is not None:
        return Place(place.lat, place.lon)
    assert place.city is not None and place.state is not None
    found = resolve_city(session, place.city, place.state)
    if found is None:
        # The name is not echoed: a place a survivor names is personal data (issue 17).
        raise InvalidInput(field, "unknown place: no stop, and no US place of 15,000 people "
                                  "of that name in that state")
    return Place(found.lat, found.lon, found.label)


def _avoid(session: Session, body: ItinerarySearch) -> Avoid:
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


def to_query(session: Session, body: ItinerarySearch) -> TripQuery:
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


def itinerary_out(it: Itinerary) -> ItineraryOut:
    return ItineraryOut(
        depart=it.depart_local, arrive=it.arrive_local, cost_cents=it.cost_cents,
        transfers=it.transfers, overnight_layovers=it.overnight_layovers, escorted=it.escorted,
        legs=[LegOut(mode=leg.mode.value, carrier=leg.carrier, route=leg.route,
                     origin=leg.from_name, destination=leg.to_name,
                     from_stop_id=leg.from_stop, to_stop_id=leg.to_stop,
                     depart=leg.depart_local, arrive=leg.arrive_local, fare_cents=leg.fare_cents,
                     distance_m=leg.distance_m, layover_minutes=leg.layover_minutes,
                     indoor_waiting=leg.indoor_waiting, overnight_layover=leg.overnight_layover)
              for leg in it.legs])


def find(session: Session, body: ItinerarySearch) -> tuple[list[ItineraryOut], list[str]]:
    """The Pareto itineraries for a search and the reasons, unvouched: the search below, and
    the booking's second look at the current timetable (`plans.create_plan`)."""
    query = to_query(session, body)
    tt = timetable_for(session, body.depart_after.astimezone(UTC).date())
    if tt is None:
        return [], ["no transport feed covers this date; import one with "
                    "`homeward transport import-gtfs` or `homeward transport load-national`"]
    try:
        result = plan_trips(tt, query)
    except TransitInputError as exc:
        raise InvalidInput(exc.field, str(exc)) from exc
    return [itinerary_out(i) for i in result.itineraries], list(result.reasons)


def search(session: Session, *, actor: Principal, body: ItinerarySearch, ids: ItineraryIds,
           now: datetime | None = None) -> SearchOut:
    """Pareto itineraries over arrival, cost and transfers, each with an `itinerary_id` only
    this account can make a travel plan from until it expires, or reasons why there are none.
    """
    actor.require_role(*SEARCHERS)
    found, reasons = find(session, body)
    return SearchOut(itineraries=vouch(ids, account_id=actor.account_id or 0, search=body,
                                       itineraries=found, now=now or utcnow()),
                     reasons=reasons)
