"""Timetable index for the transit search: route patterns, footpaths, and geo/time helpers.

Elementary connections are grouped into trips and then into FIFO route patterns (same stop
sequence, same pickup/drop-off rules, same carrier, no overtaking), which lets a search pick the
earliest usable trip of a pattern with one bisection and scan the rest of that trip in order. The
index also keeps the connections sorted by departure, per-stop minimum transfer times and
no-transfer flags, one-hop footpaths, and cumulative along-route distances that drive
distance-based fares.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from solvers.errors import TransitInputError
from solvers.geo import haversine_m
from solvers.transit.bound import FlatPatterns, flat_patterns, static_in_edges
from solvers.transit.model import Connection, Network
from solvers.transit.raptor import RaptorArrays, raptor_arrays


@lru_cache(maxsize=200_000)
def utc_offset_minutes(tz: str, epoch_hour: int) -> int:
    """UTC offset of `tz` at an hour; cached per hour because DST only moves on hour marks."""
    moment = datetime.fromtimestamp(epoch_hour * 3600, UTC).astimezone(ZoneInfo(tz))
    offset = moment.utcoffset()
    return 0 if offset is None else int(offset.total_seconds()) // 60


def local_minute(tz: str, epoch_minute: int) -> int:
    """Local wall-clock minutes since the Unix epoch (for day/night arithmetic)."""
    return epoch_minute + utc_offset_minutes(tz, epoch_minute // 60)


def local_iso(tz: str, epoch_minute: int) -> str:
    offset = utc_offset_minutes(tz, epoch_minute // 60)
    moment = datetime(1970, 1, 1) + timedelta(minutes=epoch_minute + offset)
    sign = "+" if offset >= 0 else "-"
    hours, mins = divmod(abs(offset), 60)
    return f"{moment.isoformat()}{sign}{hours:02d}:{mins:02d}"


def epoch_minute(moment: datetime) -> int:
    if moment.tzinfo is None:
        raise TransitInputError("datetime", f"{moment.isoformat()} has no UTC offset")
    return int(moment.timestamp()) // 60


@dataclass(slots=True)
class Pattern:
    carrier: int
    stops: tuple[int, ...]
    pickup: tuple[bool, ...]
    dropoff: tuple[bool, ...]
    cum_dist: tuple[int, ...]
    trips: list[int] = field(default_factory=list)
    # dep[pos][k] / arr[pos][k]: time of the k-th trip (by departure) at position pos.
    dep: list[list[int]] = field(default_factory=list)
    arr: list[list[int]] = field(default_factory=list)


@dataclass(slots=True)
class Timetable:
    network: Network
    patterns: list[Pattern]
    # Per stop: (pattern, position) pairs where boarding is allowed.
    stop_patterns: list[list[tuple[int, int]]]
    footpaths: list[list[tuple[int, int]]]
    transfer_minutes: list[int]
    sorted_connections: list[Connection]
    # Per stop: incoming static edges (from stop, fastest minutes) for A* lower bounds.
    static_in: list[tuple[tuple[int, int], ...]] = field(default_factory=list)
    # Pattern stop sequences as flat arrays, for the search's ride-count bounds.
    flat: FlatPatterns | None = None
    # The same patterns as flat numpy arrays for the round-based earliest arrival.
    raptor: RaptorArrays | None = None
    # Stop latitudes and longitudes, and the longest footpath in metres, for fare bounds.
    coords: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    longest_footpath_m: int | None = None
    # Per stop: no change of trip there (`Stop.no_transfer`).
    no_transfer: list[bool] = field(default_factory=list)


def _trip_rows(network: Network) -> dict[int, list[Connection]]:
    by_trip: dict[int, list[Connection]] = {}
    for conn in network.connections:
        if conn.arr < conn.dep:
            raise TransitInputError(
                "connections", f"trip {network.trips[conn.trip].trip_id} arrives before it departs"
            )
        by_trip.setdefault(conn.trip, []).append(conn)
    for trip, rows in by_trip.items():
        rows.sort(key=lambda c: c.seq)
        for a, b in itertools.pairwise(rows):
            if a.to_stop != b.from_stop or b.dep < a.arr:
                raise TransitInputError(
                    "connections",
                    f"trip {network.trips[trip].trip_id} is not a continuous chain at seq {b.seq}",
                )
    return by_trip


def _fits_fifo(pattern: Pattern, dep: list[int], arr: list[int]) -> bool:
    if not pattern.trips:
        return True
    return all(
        pattern.dep[i][-1] <= dep[i] and pattern.arr[i][-1] <= arr[i] for i in range(len(dep))
    )


def build_timetable(network: Network) -> Timetable:
    """Index a network for search; raises TransitInputError on inconsistent connections."""
    n = len(network.stops)
    for conn in network.connections:
        if not (0 <= conn.from_stop < n and 0 <= conn.to_stop < n):
            raise TransitInputError("connections", f"stop index out of range in seq {conn.seq}")
        if not 0 <= conn.trip < len(network.trips):
            raise TransitInputError("connections", f"trip index {conn.trip} out of range")
    Key = tuple[int, tuple[int, ...], tuple[bool, ...], tuple[bool, ...]]
    groups: dict[Key, list[tuple[int, list[int], list[int]]]] = {}
    for trip, rows in sorted(_trip_rows(network).items()):
        stops = (rows[0].from_stop, *(c.to_stop for c in rows))
        pickup = (*(c.pickup for c in rows), False)
        dropoff = (False, *(c.dropoff for c in rows))
        dep = [c.dep for c in rows] + [rows[-1].arr]
        arr = [rows[0].dep] + [c.arr for c in rows]
        key = (network.trips[trip].carrier, stops, pickup, dropoff)
        groups.setdefault(key, []).append((trip, dep, arr))
    patterns: list[Pattern] = []
    stop_list = network.stops
    for (carrier, stops, pickup, dropoff), members in groups.items():
        cum = [0]
        for a, b in itertools.pairwise(stops):
            sa, sb = stop_list[a], stop_list[b]
            cum.append(cum[-1] + haversine_m(sa.lat, sa.lon, sb.lat, sb.lon))
        members.sort(key=lambda m: (m[1][0], m[2][-1], m[0]))
        local: list[Pattern] = []
        for trip, dep, arr in members:
            # Overtaking trips go to another pattern so one bisection finds the best trip.
            target = next((p for p in local if _fits_fifo(p, dep, arr)), None)
            if target is None:
                target = Pattern(carrier, stops, pickup, dropoff, tuple(cum))
                target.dep = [[] for _ in stops]
                target.arr = [[] for _ in stops]
                local.append(target)
            target.trips.append(trip)
            for i in range(len(stops)):
                target.dep[i].append(dep[i])
                target.arr[i].append(arr[i])
        patterns.extend(local)
    ordered = sorted(network.connections, key=lambda c: (c.dep, c.arr, c.trip, c.seq))
    return index_patterns(network, patterns, ordered)


def index_patterns(network: Network, patterns: list[Pattern],
                   ordered: list[Connection] | None = None) -> Timetable:
    """The search indexes over FIFO patterns already grouped (from connections, or expanded
    from a service calendar by `solvers.transit.calendar`)."""
    n = len(network.stops)
    stop_patterns: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for pi, pat in enumerate(patterns):
        for pos, stop in enumerate(pat.stops[:-1]):
            if pat.pickup[pos]:
                stop_patterns[stop].append((pi, pos))
    footpaths: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for fp in sorted(network.footpaths, key=lambda f: (f.from_stop, f.to_stop)):
        if fp.minutes < 0:
            raise TransitInputError("footpaths", "footpath minutes must not be negative")
        if fp.from_stop != fp.to_stop:
            footpaths[fp.from_stop].append((fp.to_stop, fp.minutes))
    transfer = [s.min_transfer_minutes for s in network.stops]
    no_transfer = [s.no_transfer for s in network.stops]
    hops = [(pat.stops[j - 1], pat.stops[j], min(map(int.__sub__, pat.arr[j], pat.dep[j - 1])))
            for pat in patterns for j in range(1, len(pat.stops))]
    hops.extend((u, v, walk) for u, walks in enumerate(footpaths) for v, walk in walks)
    return Timetable(network, patterns, stop_patterns, footpaths, transfer, ordered or [],
                     static_in_edges(n, hops),
                     flat_patterns([p.stops for p in patterns], footpaths),
                     raptor_arrays(patterns, footpaths, transfer, no_transfer),
                     stop_coords(network), longest_footpath_m(network, footpaths), no_transfer)


def stop_coords(network: Network) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    lat = np.fromiter((s.lat for s in network.stops), np.float64, len(network.stops))
    lon = np.fromiter((s.lon for s in network.stops), np.float64, len(network.stops))
    return lat, lon


def longest_footpath_m(network: Network, footpaths: list[list[tuple[int, int]]]) -> int:
    stops = network.stops
    return max((haversine_m(stops[u].lat, stops[u].lon, stops[v].lat, stops[v].lon)
                for u, walks in enumerate(footpaths) for v, _ in walks), default=0)
