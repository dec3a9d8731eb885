"""GTFS reader and validator that turns any static feed into the transit solver's network values.

`read_feed` reads a GTFS folder or zip with the stdlib csv module and checks it: required files
and fields, references (route -> agency, trip -> route and service, stop_time -> trip and stop),
time formats including times past 24:00:00, time zones, and pickup/drop-off codes; a broken feed
raises `GtfsError` naming the file, row and field. `build_network` expands the validated feed for
a date range: each trip runs on its service days (calendar weekdays plus calendar_dates
exceptions), its times are counted from "noon minus 12 hours" in its agency's time zone (so DST
days and overnight trains come out right) and become UTC epoch minutes; stops without service in
the period are dropped. Station types, cities and states come from optional per-stop metadata.
"""

from __future__ import annotations

import csv
import io
import itertools
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from logistics.errors import GtfsError
from solvers.geo import haversine_m
from solvers.transit.calendar import ServiceCalendar, TripGroup
from solvers.transit.model import (
    Carrier,
    Connection,
    Footpath,
    Mode,
    Network,
    StationType,
    Stop,
    Trip,
)

REQUIRED = {
    "agency.txt": ("agency_name", "agency_timezone"),
    "stops.txt": ("stop_id", "stop_lat", "stop_lon"),
    "routes.txt": ("route_id", "route_type"),
    "trips.txt": ("route_id", "service_id", "trip_id"),
    "stop_times.txt": ("trip_id", "stop_id", "stop_sequence"),
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Stop ids of the synthetic national feed's airports; search links them by flights only.
AIRPORT_PREFIX = "AIR-"


@dataclass(frozen=True, slots=True)
class StopTime:
    seq: int
    stop_id: str
    arrival: int
    departure: int
    pickup: bool
    dropoff: bool


@dataclass(frozen=True, slots=True)
class FeedTrip:
    trip_id: str
    route_id: str
    service_id: str
    headsign: str
    short_name: str
    wheelchair: int
    stop_times: tuple[StopTime, ...]


@dataclass(frozen=True, slots=True)
class FeedRoute:
    route_id: str
    agency_id: str
    name: str
    route_type: int


@dataclass(frozen=True, slots=True)
class Service:
    weekdays: tuple[bool, ...]
    start: date | None
    end: date | None
    added: frozenset[date] = frozenset()
    removed: frozenset[date] = frozenset()

    def runs_on(self, day: date) -> bool:
        if day in self.removed:
            return False
        if day in self.added:
            return True
        return (
            self.start is not None and self.end is not None
            and self.start <= day <= self.end and self.weekdays[day.weekday()]
        )


@dataclass(frozen=True, slots=True)
class Feed:
    agencies: Mapping[str, tuple[str, str]]
    stops: Mapping[str, tuple[str, float, float, str, int]]
    routes: Mapping[str, FeedRoute]
    trips: tuple[FeedTrip, ...]
    services: Mapping[str, Service]
    transfers: tuple[tuple[str, str, int, int | None], ...] = ()


@dataclass(frozen=True, slots=True)
class StopInfo:
    city: str = ""
    state: str = ""
    station_type: StationType = StationType.UNKNOWN


# Defaults modelled on Amtrak (rail), Greyhound (bus) and US airlines (air, TSA photo ID).
RAIL_RULES = Carrier("", "", Mode.RAIL, fare_base_cents=1500, fare_cents_per_100km=700)
BUS_RULES = Carrier("", "", Mode.BUS, fare_base_cents=500, fare_cents_per_100km=600,
                    child_fare_percent=75, min_age_alone=15, adult_alone_age=18,
                    alone_max_minutes=300)
AIR_RULES = Carrier("", "", Mode.AIR, needs_photo_id=True, fare_base_cents=5000,
                    fare_cents_per_100km=1000, child_max_age=-1, min_age_alone=15,
                    adult_alone_age=15)


@dataclass(frozen=True, slots=True)
class CarrierPolicy:
    """Fares and carrier rules per mode; GTFS has no age rules, so these are the defaults."""

    rail: Carrier = RAIL_RULES
    bus: Carrier = BUS_RULES
    air: Carrier = AIR_RULES
    overrides: Mapping[str, Carrier] = field(default_factory=dict)


def _rows(source: Path, name: str, required: bool) -> Iterator[tuple[int, dict[str, str]]]:
    if source.is_dir():
        path = source / name
        if not path.is_file():
            if required:
                raise GtfsError(name, None, None, "required file is missing")
            return
        handle: io.TextIOBase = path.open(encoding="utf-8-sig", newline="")
    else:
        archive = zipfile.ZipFile(source)
        members = {Path(n).name: n for n in archive.namelist()}
        if name not in members:
            if required:
                raise GtfsError(name, None, None, "required file is missing")
            return
        handle = io.TextIOWrapper(archive.open(members[name]), encoding="utf-8-sig", newline="")
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = header
        for fld in REQUIRED.get(name, ()):
            if fld not in header:
                raise GtfsError(name, 1, fld, "required column is missing")
        for line, row in enumerate(reader, start=2):
            yield line, {k: (v or "").strip() for k, v in row.items() if k is not None}


def parse_time(text: str, file: str, row: int, fld: str) -> int:
    """GTFS H:MM:SS (hours may exceed 24) to seconds after noon-minus-12h."""
    parts = text.split(":")
    try:
        h, m, s = (int(p) for p in parts)
    except ValueError:
        raise GtfsError(file, row, fld, f"time {text!r} is not H:MM:SS") from None
    if len(parts) != 3 or h < 0 or not 0 <= m < 60 or not 0 <= s < 60:
        raise GtfsError(file, row, fld, f"time {text!r} is not H:MM:SS")
    return h * 3600 + m * 60 + s


def _date(text: str, file: str, row: int, fld: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise GtfsError(file, row, fld, f"date {text!r} is not YYYYMMDD") from None


def _int(text: str, file: str, row: int, fld: str, allowed: range) -> int:
    try:
        value = int(text) if text else 0
    except ValueError:
        raise GtfsError(file, row, fld, f"{text!r} is not an integer") from None
    if value not in allowed:
        raise GtfsError(file, row, fld, f"{value} is not an allowed value")
    return value


def _tz(text: str, file: str, row: int, fld: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise GtfsError(file, row, fld, f"unknown time zone {text!r}") from None
    return text


def read_feed(path: str | Path) -> Feed:
    """Read and validate a GTFS feed folder or zip; raises GtfsError for a broken feed."""
    source = Path(path)
    if not source.exists():
        raise GtfsError(str(source), None, None, "feed path does not exist")
    agencies: dict[str, tuple[str, str]] = {}
    for line, r in _rows(source, "agency.txt", True):
        aid = r.get("agency_id", "")
        agencies[aid] = (r["agency_name"], _tz(r["agency_timezone"], "agency.txt", line,
                                              "agency_timezone"))
    if not agencies:
        raise GtfsError("agency.txt", None, None, "no agency rows")
    default_tz = next(iter(agencies.values()))[1]
    stops: dict[str, tuple[str, float, float, str, int]] = {}
    for line, r in _rows(source, "stops.txt", True):
        try:
            lat, lon = float(r["stop_lat"]), float(r["stop_lon"])
        except ValueError:
            raise GtfsError("stops.txt", line, "stop_lat", "coordinates are not numbers") from None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise GtfsError("stops.txt", line, "stop_lat", "coordinates out of range")
        tz = r.get("stop_timezone") or default_tz
        stops[r["stop_id"]] = (r.get("stop_name", "") or r["stop_id"], lat, lon,
                               _tz(tz, "stops.txt", line, "stop_timezone"),
                               _int(r.get("wheelchair_boarding", ""), "stops.txt", line,
                                    "wheelchair_boarding", range(3)))
    routes: dict[str, FeedRoute] = {}
    for line, r in _rows(source, "routes.txt", True):
        aid = r.get("agency_id", "")
        if aid not in agencies:
            if aid or len(agencies) > 1:
                raise GtfsError("routes.txt", line, "agency_id", f"unknown agency {aid!r}")
            aid = next(iter(agencies))
        name = r.get("route_long_name") or r.get("route_short_name") or r["route_id"]
        rtype = _int(r["route_type"], "routes.txt", line, "route_type", range(1800))
        routes[r["route_id"]] = FeedRoute(r["route_id"], aid, name, rtype)
    services = _services(source)
    trip_rows: dict[str, tuple[str, str, str, str, int]] = {}
    for line, r in _rows(source, "trips.txt", True):
        if r["route_id"] not in routes:
            raise GtfsError("trips.txt", line, "route_id", f"unknown route {r['route_id']!r}")
        if r["service_id"] not in services:
            raise GtfsError("trips.txt", line, "service_id",
                            f"service {r['service_id']!r} is in neither calendar file")
        trip_rows[r["trip_id"]] = (r["route_id"], r["service_id"], r.get("trip_headsign", ""),
                                   r.get("trip_short_name", ""),
                                   _int(r.get("wheelchair_accessible", ""), "trips.txt", line,
                                        "wheelchair_accessible", range(3)))
    times: dict[str, list[tuple[int, int, StopTime]]] = {}
    for line, r in _rows(source, "stop_times.txt", True):
        if r["trip_id"] not in trip_rows:
            raise GtfsError("stop_times.txt", line, "trip_id", f"unknown trip {r['trip_id']!r}")
        if r["stop_id"] not in stops:
            raise GtfsError("stop_times.txt", line, "stop_id", f"unknown stop {r['stop_id']!r}")
        seq = _int(r["stop_sequence"], "stop_times.txt", line, "stop_sequence", range(1 << 31))
        arr_t, dep_t = r.get("arrival_time", ""), r.get("departure_time", "")
        arr = parse_time(arr_t, "stop_times.txt", line, "arrival_time") if arr_t else -1
        dep = parse_time(dep_t, "stop_times.txt", line, "departure_time") if dep_t else -1
        arr, dep = (dep if arr < 0 else arr), (arr if dep < 0 else dep)
        if 0 <= dep < arr:
            raise GtfsError("stop_times.txt", line, "departure_time", "departs before arrival")
        pick = _int(r.get("pickup_type", ""), "stop_times.txt", line, "pickup_type", range(4))
        drop = _int(r.get("drop_off_type", ""), "stop_times.txt", line, "drop_off_type",
                    range(4))
        # Types 2 and 3 (phone the agency / tell the driver) can be arranged, so they count.
        times.setdefault(r["trip_id"], []).append(
            (seq, line, StopTime(seq, r["stop_id"], arr, dep, pick != 1, drop != 1)))
    trips = tuple(_trip(tid, trip_rows[tid], times.get(tid, [])) for tid in sorted(trip_rows))
    trips = _frequencies(source, trips)
    transfers = []
    for line, r in _rows(source, "transfers.txt", False):
        kind = _int(r.get("transfer_type", ""), "transfers.txt", line, "transfer_type", range(6))
        if kind >= 4:
            continue  # in-seat rules between trips (stops optional); the engine has no blocks
        if kind == 3 and any(r.get(f"{end}_{what}_id", "") for end in ("from", "to")
                             for what in ("route", "trip")):
            # Scoped to routes or trips: the engine's stops know no routes, and a stop-wide ban
            # would forbid the changes the feed allows, so such a row is not honoured (documented).
            continue
        for fld in ("from_stop_id", "to_stop_id"):
            if r.get(fld, "") not in stops:
                raise GtfsError("transfers.txt", line, fld, f"unknown stop {r.get(fld)!r}")
        mt = r.get("min_transfer_time", "")
        secs = _int(mt, "transfers.txt", line, "min_transfer_time", range(1 << 31)) if mt else None
        transfers.append((r["from_stop_id"], r["to_stop_id"], kind, secs))
    return Feed(agencies, stops, routes, trips, services, tuple(transfers))


def _frequencies(source: Path, trips: tuple[FeedTrip, ...]) -> tuple[FeedTrip, ...]:
    """Trips of frequencies.txt become one trip per headway (ids `<trip>@<seconds>`), their
    stop times shifted so that the first departs at each start: a frequency-based trip's own
    times only give the running times between stops."""
    by_id = {t.trip_id: t for t in trips}
    starts: dict[str, list[int]] = {}
    for line, r in _rows(source, "frequencies.txt", False):
        for fld in ("trip_id", "start_time", "end_time", "headway_secs"):
            if fld not in r:
                raise GtfsError("frequencies.txt", 1, fld, "required column is missing")
        if r["trip_id"] not in by_id:
            raise GtfsError("frequencies.txt", line, "trip_id", f"unknown trip {r['trip_id']!r}")
        begin = parse_time(r["start_time"], "frequencies.txt", line, "start_time")
        end = parse_time(r["end_time"], "frequencies.txt", line, "end_time")
        headway = _int(r["headway_secs"], "frequencies.txt", line, "headway_secs",
                       range(1, 86_400))
        if end <= begin:
            raise GtfsError("frequencies.txt", line, "end_time", "ends before it starts")
        starts.setdefault(r["trip_id"], []).extend(range(begin, end, headway))
    if not starts:
        return trips
    out: list[FeedTrip] = []
    for trip in trips:
        if trip.trip_id not in starts:
            out.append(trip)
            continue
        first = trip.stop_times[0].departure
        for start in sorted(set(starts[trip.trip_id])):
            shift = start - first
            out.append(FeedTrip(
                f"{trip.trip_id}@{start}", trip.route_id, trip.service_id, trip.headsign,
                trip.short_name, trip.wheelchair,
                tuple(StopTime(st.seq, st.stop_id, st.arrival + shift, st.departure + shift,
                               st.pickup, st.dropoff) for st in trip.stop_times)))
    return tuple(out)


def _services(source: Path) -> dict[str, Service]:
    base: dict[str, Service] = {}
    for line, r in _rows(source, "calendar.txt", False):
        for fld in ("service_id", *WEEKDAYS, "start_date", "end_date"):
            if fld not in r:
                raise GtfsError("calendar.txt", 1, fld, "required column is missing")
        days = tuple(_int(r[d], "calendar.txt", line, d, range(2)) == 1 for d in WEEKDAYS)
        start = _date(r["start_date"], "calendar.txt", line, "start_date")
        end = _date(r["end_date"], "calendar.txt", line, "end_date")
        base[r["service_id"]] = Service(days, start, end)
    added: dict[str, set[date]] = {}
    removed: dict[str, set[date]] = {}
    seen_dates = False
    for line, r in _rows(source, "calendar_dates.txt", False):
        seen_dates = True
        for fld in ("service_id", "date", "exception_type"):
            if fld not in r:
                raise GtfsError("calendar_dates.txt", 1, fld, "required column is missing")
        day = _date(r["date"], "calendar_dates.txt", line, "date")
        kind = _int(r["exception_type"], "calendar_dates.txt", line, "exception_type", range(1, 3))
        (added if kind == 1 else removed).setdefault(r["service_id"], set()).add(day)
    if not base and not seen_dates:
        raise GtfsError("calendar.txt", None, None,
                        "required file is missing (and there is no calendar_dates.txt)")
    out: dict[str, Service] = {}
    for sid in sorted(set(base) | set(added) | set(removed)):
        b = base.get(sid, Service((False,) * 7, None, None))
        out[sid] = Service(b.weekdays, b.start, b.end, frozenset(added.get(sid, ())),
                           frozenset(removed.get(sid, ())))
    return out


def _trip(tid: str, row: tuple[str, str, str, str, int],
          rows: list[tuple[int, int, StopTime]]) -> FeedTrip:
    rows.sort(key=lambda x: x[0])
    if len(rows) < 2:
        raise GtfsError("stop_times.txt", rows[0][1] if rows else None, "trip_id",
                        f"trip {tid!r} has fewer than two stop times")
    for a, b in itertools.pairwise(rows):
        if a[0] == b[0]:
            raise GtfsError("stop_times.txt", b[1], "stop_sequence", f"duplicate in trip {tid!r}")
    for end in (rows[0], rows[-1]):
        if end[2].arrival < 0:
            raise GtfsError("stop_times.txt", end[1], "arrival_time",
                            f"first and last stop of trip {tid!r} need times")
    known = [i for i, r in enumerate(rows) if r[2].arrival >= 0]
    out = [r[2] for r in rows]
    # Untimed intermediate stops are interpolated linearly between the timed ones around them.
    for lo, hi in itertools.pairwise(known):
        t0, t1 = out[lo].departure, out[hi].arrival
        if t1 < t0:
            raise GtfsError("stop_times.txt", rows[hi][1], "arrival_time",
                            f"time goes backwards in trip {tid!r}")
        for i in range(lo + 1, hi):
            t = t0 + (t1 - t0) * (i - lo) // (hi - lo)
            st = out[i]
            out[i] = StopTime(st.seq, st.stop_id, t, t, st.pickup, st.dropoff)
    return FeedTrip(tid, row[0], row[1], row[2], row[3], row[4], tuple(out))


def mode_of(route_type: int) -> Mode:
    if route_type == 1100 or 1100 <= route_type < 1200:
        return Mode.AIR
    if route_type == 3 or 200 <= route_type < 300 or 700 <= route_type < 800:
        return Mode.BUS
    return Mode.RAIL


def _noon_minus_12h(day: date, tz: str) -> int:
    """UTC epoch seconds of a GTFS service day's time origin (noon minus 12 h, local)."""
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(tz))
    return int(noon.astimezone(UTC).timestamp()) - 12 * 3600


def _carrier(policy: CarrierPolicy, agency_id: str, agency_name: str, agency_tz: str,
             mode: Mode) -> Carrier:
    """One agency's carrier for one mode, with the policy's rules (an override for the agency,
    else the mode's defaults)."""
    template = policy.overrides.get(agency_id) or getattr(policy, mode.value)
    return Carrier(
        f"{agency_id}:{mode.value}", agency_name, mode, agency_tz,
        template.needs_photo_id, template.fare_base_cents,
        template.fare_cents_per_100km, template.child_max_age,
        template.child_fare_percent, template.infant_max_age,
        template.adult_alone_age, template.min_age_alone,
        template.alone_no_transfers, template.alone_daytime_only,
        template.alone_max_minutes)


def _stops(feed: Feed, stop_ids: list[str], info: Mapping[str, StopInfo],
           default_transfer_minutes: int) -> tuple[dict[str, int], list[Stop], list[Footpath]]:
    """The used stops as the engine's values, their index, and transfers.txt's walks between
    stops: a same-stop row of type 2 sets that stop's minimum change time, one of type 3 forbids
    changing trips there (`Stop.no_transfer`), a row between two stops is a footpath unless it
    is of type 3."""
    index = {sid: i for i, sid in enumerate(stop_ids)}
    same_stop: dict[str, int] = {}
    no_change: set[str] = set()
    footpaths: list[Footpath] = []
    for src, dst, kind, secs in feed.transfers:
        minutes = -(-secs // 60) if secs is not None else 0
        if src == dst and kind == 3:
            no_change.add(src)
        elif src == dst and kind == 2:
            same_stop[src] = max(same_stop.get(src, 0), minutes)
        elif src != dst and kind != 3 and src in index and dst in index:
            footpaths.append(Footpath(index[src], index[dst], minutes))
    stops = []
    for sid in stop_ids:
        name, lat, lon, tz, wheelchair = feed.stops[sid]
        extra = info.get(sid, StopInfo())
        stops.append(Stop(sid, name, lat, lon, tz, extra.city, extra.state, extra.station_type,
                          wheelchair, max(default_transfer_minutes, same_stop.get(sid, 0)),
                          sid in no_change))
    return index, stops, footpaths


def build_network(
    feed: Feed,
    start: date,
    end: date,
    *,
    stop_info: Mapping[str, StopInfo] | None = None,
    policy: CarrierPolicy | None = None,
    default_transfer_minutes: int = 0,
) -> Network:
    """Expand `feed` into trips and connections departing on service days start-1 .. end."""
    if end < start:
        raise ValueError("end: the date range ends before it starts")
    info = stop_info or {}
    policy = policy or CarrierPolicy()
    carriers: list[Carrier] = []
    carrier_ix: dict[tuple[str, Mode], int] = {}
    trips: list[Trip] = []
    raw: list[tuple[int, str, str, int, int, bool, bool]] = []
    used: dict[str, int] = {}
    # Service days from the day before: an overnight trip that started yesterday still runs.
    days = [start + timedelta(days=i) for i in range(-1, (end - start).days + 1)]
    for ftrip in feed.trips:
        service = feed.services[ftrip.service_id]
        route = feed.routes[ftrip.route_id]
        agency_name, agency_tz = feed.agencies[route.agency_id]
        mode = mode_of(route.route_type)
        for day in days:
            if not service.runs_on(day):
                continue
            key = (route.agency_id, mode)
            if key not in carrier_ix:
                carrier_ix[key] = len(carriers)
                carriers.append(_carrier(policy, route.agency_id, agency_name, agency_tz, mode))
            origin = _noon_minus_12h(day, agency_tz)
            ti = len(trips)
            trips.append(Trip(ftrip.trip_id, carrier_ix[key], (ftrip.short_name and
                              f"{route.name} {ftrip.short_name}") or route.name,
                              ftrip.headsign, day.isoformat(), ftrip.wheelchair))
            for a, b in zip(ftrip.stop_times, ftrip.stop_times[1:], strict=False):
                raw.append((ti, a.stop_id, b.stop_id, (origin + a.departure) // 60,
                            (origin + b.arrival) // 60, a.pickup, b.dropoff))
                used.setdefault(a.stop_id, 0)
                used.setdefault(b.stop_id, 0)
    stop_ids = sorted(used)
    index, stops, footpaths = _stops(feed, stop_ids, info, default_transfer_minutes)
    connections = []
    seq = 0
    last_trip = -1
    for ti, a_id, b_id, dep, arr, pick, drop in raw:
        seq = seq + 1 if ti == last_trip else 0
        last_trip = ti
        connections.append(Connection(ti, seq, index[a_id], index[b_id], dep, arr, pick, drop))
    return Network(tuple(stops), tuple(carriers), tuple(trips), tuple(connections),
                   tuple(sorted(set(footpaths), key=lambda f: (f.from_stop, f.to_stop))))


def _run_table(services: Mapping[str, Service]) -> tuple[int, dict[str, int], np.ndarray]:
    """First date's ordinal, each service's row, and the (services, days) table of the days
    each runs: calendar weekdays inside its date range, plus additions, minus removals."""
    bounds = [d for s in services.values()
              for d in (s.start, s.end, *s.added, *s.removed) if d is not None]
    first = min(bounds).toordinal() if bounds else date.today().toordinal()
    last = max(bounds).toordinal() if bounds else first
    ndays = last - first + 1
    weekday = (np.arange(first, last + 1) - 1) % 7  # date.fromordinal(1) is a Monday
    rows = {sid: i for i, sid in enumerate(sorted(services))}
    runs = np.zeros((len(rows), ndays), dtype=np.bool_)
    for sid, i in rows.items():
        s = services[sid]
        if s.start is not None and s.end is not None:
            lo, hi = s.start.toordinal() - first, s.end.toordinal() - first + 1
            if hi > lo:
                runs[i, lo:hi] = np.array(s.weekdays, dtype=np.bool_)[weekday[lo:hi]]
        for d in s.added:
            runs[i, d.toordinal() - first] = True
        for d in s.removed:
            runs[i, d.toordinal() - first] = False
    return first, rows, runs


def build_calendar(
    feed: Feed,
    *,
    stop_info: Mapping[str, StopInfo] | None = None,
    policy: CarrierPolicy | None = None,
    default_transfer_minutes: int = 0,
) -> ServiceCalendar:
    """Every trip of `feed` once with its service days: the calendar-aware timetable that
    `solvers.transit.calendar.expand` turns into a search timetable for any covered day.
    Stops, carriers, times and transfers are made exactly as `build_network` makes them."""
    info = stop_info or {}
    policy = policy or CarrierPolicy()
    first, service_row, runs = _run_table(feed.services)
    carriers: list[Carrier] = []
    carrier_ix: dict[tuple[str, Mode], int] = {}
    zones: dict[str, int] = {}
    used: set[str] = set()
    Key = tuple[int, tuple[str, ...], tuple[bool, ...], tuple[bool, ...]]
    members: dict[Key, list[FeedTrip]] = {}
    for ftrip in feed.trips:
        route = feed.routes[ftrip.route_id]
        agency_name, agency_tz = feed.agencies[route.agency_id]
        mode = mode_of(route.route_type)
        key = (route.agency_id, mode)
        if key not in carrier_ix:
            carrier_ix[key] = len(carriers)
            carriers.append(_carrier(policy, route.agency_id, agency_name, agency_tz, mode))
        zones.setdefault(agency_tz, len(zones))
        st = ftrip.stop_times
        used.update(x.stop_id for x in st)
        pattern = (carrier_ix[key], tuple(x.stop_id for x in st),
                   (*(x.pickup for x in st[:-1]), False), (False, *(x.dropoff for x in st[1:])))
        members.setdefault(pattern, []).append(ftrip)
    stop_ids = sorted(used)
    index, stops, paths = _stops(feed, stop_ids, info, default_transfer_minutes)
    footpaths = set(paths)
    groups = []
    for (carrier, stop_seq, pickup, dropoff), trips in members.items():
        ix = tuple(index[s] for s in stop_seq)
        cum = [0]
        for a, b in itertools.pairwise(ix):
            cum.append(cum[-1] + haversine_m(stops[a].lat, stops[a].lon,
                                             stops[b].lat, stops[b].lon))
        dep = np.array([[x.departure for x in t.stop_times[:-1]] + [t.stop_times[-1].arrival]
                        for t in trips], dtype=np.int64)
        arr = np.array([[t.stop_times[0].departure] + [x.arrival for x in t.stop_times[1:]]
                        for t in trips], dtype=np.int64)
        route_names = [feed.routes[t.route_id].name for t in trips]
        groups.append(TripGroup(
            carrier, zones[carriers[carrier].tz], ix, pickup, dropoff, tuple(cum),
            tuple(t.trip_id for t in trips),
            tuple((t.short_name and f"{r} {t.short_name}") or r
                  for t, r in zip(trips, route_names, strict=True)),
            tuple(t.headsign for t in trips), tuple(t.wheelchair for t in trips),
            np.array([service_row[t.service_id] for t in trips], dtype=np.int64), dep, arr))
    origin = np.array([[_noon_minus_12h(date.fromordinal(first + d), tz)
                        for d in range(runs.shape[1])] for tz in zones], dtype=np.int64)
    return ServiceCalendar(tuple(stops), tuple(carriers),
                           tuple(sorted(footpaths, key=lambda f: (f.from_stop, f.to_stop))),
                           tuple(groups), first, runs, origin.reshape(len(zones), -1))


STATION_TYPES = {
    "Station Building (with waiting room)": StationType.INDOOR,
    "Platform with Shelter": StationType.SHELTERED,
    "Platform only (no shelter)": StationType.BARE,
}


def read_stop_info(metadata_csv: Path | None, state_lookup_csv: Path | None) -> dict[str, StopInfo]:
    """Per-stop city, state and station type from Amtrak station metadata and a state lookup.

    The lookup's state_source reads like ``nearest_geonames_city(Alma,2km)``; that place name is
    used as the city of stops (mostly Thruway bus stops) missing from the station metadata.
    """
    out: dict[str, StopInfo] = {}
    if state_lookup_csv is not None:
        with state_lookup_csv.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                source = row.get("state_source", "")
                city = source.split("(", 1)[1].split(",", 1)[0] if "(" in source else ""
                out[row["stop_id"]] = StopInfo(city, row.get("state", ""))
    if metadata_csv is not None:
        with metadata_csv.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                kind = STATION_TYPES.get(row.get("StaType", ""), StationType.UNKNOWN)
                out[row["Code"]] = StopInfo(row.get("City", ""), row.get("State", ""), kind)
    return out
