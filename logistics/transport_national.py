"""The national network's synthetic part, written out as an ordinary GTFS feed.

`solvers.transit_synth` makes a deterministic intercity bus network among the most populous US
places (GeoNames, from `logistics/data/`) and daily flights between 35 real airports. Here one
reference day of it becomes GTFS files (agency per mode and time zone, because GTFS counts stop
times in the agency's zone; one `daily` calendar over a date range; same-stop minimum transfer
times in transfers.txt), so it is stored, validated, hashed and rebuilt exactly like an imported
feed. Airport stop ids get an `AIR-` prefix so they never collide with Amtrak station codes.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from logistics.gtfs import StopInfo
from logistics.transport_places import geonames_cities
from solvers.transit_model import Mode, Network
from solvers.transit_synth import City, synthetic_network

REFERENCE_DAY = date(2023, 4, 12)  # no DST change near it, so local times are plain
AIRPORT_PREFIX = "AIR-"


def _csv(header: list[str], rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _hms(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}"


def synthetic_cities(count: int) -> list[City]:
    return [City(c.name, c.state, c.lat, c.lon, c.population, c.timezone)
            for c in geonames_cities()[:count]]


def national_gtfs(cities: int = 2000, seed: int = 7, start: date = date(2023, 1, 1),
                  end: date = date(2026, 12, 31)) -> tuple[dict[str, bytes], dict[str, StopInfo]]:
    """GTFS files and stop metadata of the synthetic bus and air network, running daily."""
    day0 = int(datetime(REFERENCE_DAY.year, REFERENCE_DAY.month, REFERENCE_DAY.day,
                        tzinfo=UTC).timestamp()) // 60
    network = synthetic_network(synthetic_cities(cities), [day0], seed=seed)
    return to_gtfs(network, start, end)


def _stop_ids(network: Network) -> list[str]:
    return [(AIRPORT_PREFIX + s.stop_id) if not s.stop_id.startswith("BUS-") else s.stop_id
            for s in network.stops]


def to_gtfs(network: Network, start: date,
            end: date) -> tuple[dict[str, bytes], dict[str, StopInfo]]:
    """A one-day network as a daily GTFS feed; times relative to each agency's local midnight."""
    ids = _stop_ids(network)
    stops = network.stops
    by_trip: dict[int, list[tuple[int, int, int, int]]] = defaultdict(list)
    for c in network.connections:
        by_trip[c.trip].append((c.seq, c.from_stop, c.to_stop, c.dep))
    arrivals = {(c.trip, c.seq): c.arr for c in network.connections}
    agencies: dict[str, tuple[str, str]] = {}
    routes: dict[str, tuple[str, str, int]] = {}
    trip_rows: list[list[object]] = []
    time_rows: list[list[object]] = []
    midnight: dict[str, int] = {}
    for ti, hops in sorted(by_trip.items()):
        hops.sort()
        trip = network.trips[ti]
        carrier = network.carriers[trip.carrier]
        tz = stops[hops[0][1]].tz
        air = carrier.mode == Mode.AIR
        agency_id = f"{'air' if air else 'bus'}:{tz}"
        agencies[agency_id] = (carrier.name, tz)
        route_id = f"{agency_id}:{trip.route_name}"
        routes[route_id] = (agency_id, trip.route_name, 1100 if air else 3)
        trip_rows.append([route_id, "daily", trip.trip_id])
        if tz not in midnight:
            local = datetime(REFERENCE_DAY.year, REFERENCE_DAY.month, REFERENCE_DAY.day,
                             tzinfo=ZoneInfo(tz))
            midnight[tz] = int(local.timestamp()) // 60
        base = midnight[tz]
        prev_arr: int | None = None
        for seq, a, _b, dep in hops:
            arr = dep if prev_arr is None else prev_arr
            time_rows.append([trip.trip_id, ids[a], seq, _hms((arr - base) * 60),
                              _hms((dep - base) * 60)])
            prev_arr = arrivals[(ti, seq)]
        last_seq, _a, last_b, _dep = hops[-1]
        assert prev_arr is not None
        time_rows.append([trip.trip_id, ids[last_b], last_seq + 1, _hms((prev_arr - base) * 60),
                          _hms((prev_arr - base) * 60)])
    files = {
        "agency.txt": _csv(["agency_id", "agency_name", "agency_url", "agency_timezone"],
                           [[k, n, "https://example.invalid", tz]
                            for k, (n, tz) in sorted(agencies.items())]),
        "stops.txt": _csv(["stop_id", "stop_name", "stop_lat", "stop_lon", "stop_timezone",
                           "wheelchair_boarding"],
                          [[ids[i], s.name, s.lat, s.lon, s.tz, s.wheelchair]
                           for i, s in enumerate(stops)]),
        "routes.txt": _csv(["route_id", "agency_id", "route_long_name", "route_type"],
                           [[k, a, n, t] for k, (a, n, t) in sorted(routes.items())]),
        "trips.txt": _csv(["route_id", "service_id", "trip_id"], trip_rows),
        "stop_times.txt": _csv(["trip_id", "stop_id", "stop_sequence", "arrival_time",
                                "departure_time"], time_rows),
        "calendar.txt": _csv(["service_id", "monday", "tuesday", "wednesday", "thursday",
                              "friday", "saturday", "sunday", "start_date", "end_date"],
                             [["daily", 1, 1, 1, 1, 1, 1, 1, start.strftime("%Y%m%d"),
                               end.strftime("%Y%m%d")]]),
        "transfers.txt": _csv(["from_stop_id", "to_stop_id", "transfer_type",
                               "min_transfer_time"],
                              [[ids[i], ids[i], 2, s.min_transfer_minutes * 60]
                               for i, s in enumerate(stops) if s.min_transfer_minutes]),
    }
    info = {ids[i]: StopInfo(s.city, s.state, s.station_type) for i, s in enumerate(stops)}
    return files, info
