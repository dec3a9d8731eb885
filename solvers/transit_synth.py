"""Deterministic synthetic intercity network (bus among real cities, flights between airports).

Used by the benchmark to build a national-scale network on top of the real Amtrak feed. Bus:
every city (given by the caller, largest first) starts one line that walks greedily to the nearest
not-yet-visited of its six nearest cities, six to eight stops long; each line runs both ways,
four to ten times a day by population, at 65 km/h over 1.25x the straight-line distance, five
minutes per stop. Air: one daily flight each way between real US airports 500-3,000 km apart,
30 minutes plus 800 km/h; airports need photo ID. Same seed, same network.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from solvers.transit_index import distance_m, utc_offset_minutes
from solvers.transit_model import (
    Carrier,
    Connection,
    Footpath,
    Mode,
    Network,
    StationType,
    Stop,
    Trip,
)

# (IATA code, city, state, lat, lon, time zone) of major US airports.
AIRPORTS = (
    ("ATL", "Atlanta", "GA", 33.6407, -84.4277, "America/New_York"),
    ("LAX", "Los Angeles", "CA", 33.9416, -118.4085, "America/Los_Angeles"),
    ("ORD", "Chicago", "IL", 41.9742, -87.9073, "America/Chicago"),
    ("DFW", "Dallas", "TX", 32.8998, -97.0403, "America/Chicago"),
    ("DEN", "Denver", "CO", 39.8561, -104.6737, "America/Denver"),
    ("JFK", "New York City", "NY", 40.6413, -73.7781, "America/New_York"),
    ("SFO", "San Francisco", "CA", 37.6213, -122.3790, "America/Los_Angeles"),
    ("SEA", "Seattle", "WA", 47.4502, -122.3088, "America/Los_Angeles"),
    ("LAS", "Las Vegas", "NV", 36.0840, -115.1537, "America/Los_Angeles"),
    ("MCO", "Orlando", "FL", 28.4312, -81.3081, "America/New_York"),
    ("MIA", "Miami", "FL", 25.7959, -80.2870, "America/New_York"),
    ("CLT", "Charlotte", "NC", 35.2144, -80.9473, "America/New_York"),
    ("PHX", "Phoenix", "AZ", 33.4342, -112.0116, "America/Phoenix"),
    ("IAH", "Houston", "TX", 29.9902, -95.3368, "America/Chicago"),
    ("BOS", "Boston", "MA", 42.3656, -71.0096, "America/New_York"),
    ("MSP", "Minneapolis", "MN", 44.8848, -93.2223, "America/Chicago"),
    ("DTW", "Detroit", "MI", 42.2162, -83.3554, "America/Detroit"),
    ("PHL", "Philadelphia", "PA", 39.8744, -75.2424, "America/New_York"),
    ("BNA", "Nashville", "TN", 36.1263, -86.6774, "America/Chicago"),
    ("SLC", "Salt Lake City", "UT", 40.7899, -111.9791, "America/Denver"),
    ("BWI", "Baltimore", "MD", 39.1774, -76.6684, "America/New_York"),
    ("SAN", "San Diego", "CA", 32.7338, -117.1933, "America/Los_Angeles"),
    ("TPA", "Tampa", "FL", 27.9755, -82.5332, "America/New_York"),
    ("PDX", "Portland", "OR", 45.5898, -122.5951, "America/Los_Angeles"),
    ("STL", "St. Louis", "MO", 38.7499, -90.3748, "America/Chicago"),
    ("MSY", "New Orleans", "LA", 29.9911, -90.2592, "America/Chicago"),
    ("AUS", "Austin", "TX", 30.1975, -97.6664, "America/Chicago"),
    ("SDF", "Louisville", "KY", 38.1744, -85.7360, "America/Kentucky/Louisville"),
    ("FSD", "Sioux Falls", "SD", 43.5820, -96.7419, "America/Chicago"),
    ("CMH", "Columbus", "OH", 39.9980, -82.8919, "America/New_York"),
    ("IND", "Indianapolis", "IN", 39.7173, -86.2944, "America/Indiana/Indianapolis"),
    ("MCI", "Kansas City", "MO", 39.2976, -94.7139, "America/Chicago"),
    ("ABQ", "Albuquerque", "NM", 35.0402, -106.6090, "America/Denver"),
    ("OKC", "Oklahoma City", "OK", 35.3931, -97.6007, "America/Chicago"),
    ("MEM", "Memphis", "TN", 35.0421, -89.9792, "America/Chicago"),
)


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str
    lat: float
    lon: float
    population: int
    tz: str


BUS = Carrier("synthetic-bus", "Synthetic Intercity Bus", Mode.BUS, fare_base_cents=500,
              fare_cents_per_100km=600, child_fare_percent=75, min_age_alone=15,
              adult_alone_age=18, alone_max_minutes=300)
AIR = Carrier("synthetic-air", "Synthetic Air", Mode.AIR, needs_photo_id=True,
              fare_base_cents=5000, fare_cents_per_100km=1000, child_max_age=-1,
              min_age_alone=15, adult_alone_age=15)


def _local_midnight(tz: str, day_start_utc: int) -> int:
    return day_start_utc - utc_offset_minutes(tz, day_start_utc // 60 + 12)


def synthetic_network(cities: Sequence[City], day_starts_utc: Sequence[int],
                      seed: int = 7) -> Network:
    """Bus among `cities` and flights among AIRPORTS for each UTC day start (epoch minutes)."""
    # Benchmark data, not secrets: a seeded PRNG keeps the network reproducible.
    rng = random.Random(seed)  # noqa: S311
    stops = [Stop(f"BUS-{i}", f"{c.name} Bus Station", c.lat, c.lon, c.tz, c.name, c.state,
                  rng.choice((StationType.INDOOR, StationType.INDOOR, StationType.SHELTERED,
                              StationType.BARE)), 0, 10)
             for i, c in enumerate(cities)]
    lat = np.array([c.lat for c in cities])
    lon = np.array([c.lon for c in cities])
    near: list[list[int]] = []
    for c in cities:
        # Degrees of longitude shrink with latitude; close enough for picking neighbours.
        d = (lat - c.lat) ** 2 + ((lon - c.lon) * np.cos(np.radians(c.lat))) ** 2
        ranked = np.argsort(d, kind="stable")[1:7]
        near.append([int(j) for j in ranked])
    trips: list[Trip] = []
    conns: list[Connection] = []
    for i, city in enumerate(cities):
        line = [i]
        for _ in range(rng.randint(5, 7)):
            options = [j for j in near[line[-1]] if j not in line]
            if not options:
                break
            line.append(options[0] if rng.random() < 0.7 else rng.choice(options))
        if len(line) < 2:
            continue
        runs = 4 + min(6, city.population // 60_000)
        for direction in (line, line[::-1]):
            for day in day_starts_utc:
                base = _local_midnight(cities[direction[0]].tz, day)
                for r in range(runs):
                    start = base + 5 * 60 + r * (17 * 60 // runs) + rng.randint(0, 40)
                    _run(trips, conns, stops, direction, start, 0, 65, 5, f"Line {i}")
    carriers = [BUS, AIR]
    first_air = len(stops)
    stops.extend(Stop(code, f"{name} Airport {code}", lat, lon, tz, name, state,
                      StationType.INDOOR, 1, 60)
                 for code, name, state, lat, lon, tz in AIRPORTS)
    for a in range(len(AIRPORTS)):
        for b in range(len(AIRPORTS)):
            sa, sb = stops[first_air + a], stops[first_air + b]
            dist = distance_m(sa.lat, sa.lon, sb.lat, sb.lon)
            if a == b or not 500_000 <= dist <= 3_000_000:
                continue
            for day in day_starts_utc:
                start = _local_midnight(sa.tz, day) + 6 * 60 + rng.randint(0, 14 * 60)
                _run(trips, conns, stops, [first_air + a, first_air + b], start, 1, 800, 0,
                     f"Flight {sa.stop_id}-{sb.stop_id}", extra=30)
    return Network(tuple(stops), tuple(carriers), tuple(trips), tuple(conns))


def _run(trips: list[Trip], conns: list[Connection], stops: list[Stop], path: list[int],
         start: int, carrier: int, kmh: int, dwell: int, name: str, extra: int = 0) -> None:
    ti = len(trips)
    trips.append(Trip(f"{name}#{ti}", carrier, name))
    now = start
    for seq, (a, b) in enumerate(itertools.pairwise(path)):
        sa, sb = stops[a], stops[b]
        road = distance_m(sa.lat, sa.lon, sb.lat, sb.lon) * 125 // 100
        arr = now + extra + max(5, road * 60 // (kmh * 1000))
        conns.append(Connection(ti, seq, a, b, now, arr))
        now = arr + dwell


def merge_networks(first: Network, second: Network) -> Network:
    """One network holding both, with the second's indices shifted after the first's."""
    ns, nc, nt = len(first.stops), len(first.carriers), len(first.trips)
    return Network(
        first.stops + second.stops,
        first.carriers + second.carriers,
        first.trips + tuple(replace(t, carrier=t.carrier + nc) for t in second.trips),
        first.connections + tuple(
            replace(c, trip=c.trip + nt, from_stop=c.from_stop + ns, to_stop=c.to_stop + ns)
            for c in second.connections),
        first.footpaths + tuple(
            replace(f, from_stop=f.from_stop + ns, to_stop=f.to_stop + ns)
            for f in second.footpaths),
    )


def proximity_footpaths(network: Network, max_m: int, metres_per_minute: int,
                        extra_minutes: int, only: frozenset[int] | None = None) -> Network:
    """Add two-way transfers between stops of different networks closer than `max_m`.

    With `only`, links are made from and to those stops alone (airport shuttles).
    """
    stops = network.stops
    lat = np.array([s.lat for s in stops])
    lon = np.array([s.lon for s in stops])
    paths = list(network.footpaths)
    for i, s in enumerate(stops):
        if only is not None and i not in only:
            continue
        d = (lat - s.lat) ** 2 + ((lon - s.lon) * np.cos(np.radians(s.lat))) ** 2
        for j in np.nonzero(d < (max_m / 100_000) ** 2)[0]:
            other = stops[int(j)]
            if int(j) == i or other.stop_id.split("-")[0] == s.stop_id.split("-")[0]:
                continue
            metres = distance_m(s.lat, s.lon, other.lat, other.lon)
            if metres <= max_m:
                minutes = extra_minutes + metres // metres_per_minute
                paths.append(Footpath(i, int(j), minutes))
                if only is not None:
                    paths.append(Footpath(int(j), i, minutes))
    return replace(network, footpaths=tuple(paths))
