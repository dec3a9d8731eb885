"""Safety and eligibility rules for itinerary search: who may ride what, where, and when.

This module turns a `TripQuery` into the plain lookups the search loop needs: which stops are
forbidden (avoided cities, states and circles, inaccessible stations), which carriers a party may
use and under which unaccompanied-minor conditions, what a ride costs the whole party (child and
infant fares, an escort's adult fare), whether a wait spans the night, and which first/last-mile
legs (walk, taxi, volunteer driver) reach the network from a door, with their service hours.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from solvers.geo import EARTH_RADIUS_M, haversine_m
from solvers.transit.index import Timetable, local_minute
from solvers.transit.model import (
    Avoid,
    Carrier,
    Mode,
    Place,
    Stop,
    TripQuery,
    UnscheduledService,
)

ADULT_AGE = 18
ESCORT_AGE = 30
# Unaccompanied minors ride only between 07:00 and 21:00 local (Amtrak's rule, used for all).
DAY_START, DAY_END = 7 * 60, 21 * 60
# A wait touching 00:00-05:00 local counts as an overnight layover.
NIGHT_END = 5 * 60
WALK_METRES_PER_MINUTE = 75


class Access(IntEnum):
    OK = 0
    CONDITIONAL = 1
    EXCLUDED = 2


@dataclass(frozen=True, slots=True)
class Party:
    ages: tuple[int, ...]
    escorted: bool

    @property
    def has_adult(self) -> bool:
        return any(a >= ADULT_AGE for a in self.ages)


@dataclass(frozen=True, slots=True)
class DoorLeg:
    """A first- or last-mile leg between the door and a stop."""

    stop: int
    service: UnscheduledService | None
    distance_m: int
    minutes: int
    cost_cents: int

    @property
    def mode(self) -> Mode:
        return Mode.WALK if self.service is None else self.service.mode


def party_for(query: TripQuery, escorted: bool) -> Party:
    ages = query.traveller_ages + ((ESCORT_AGE,) if escorted else ())
    return Party(ages, escorted)


def carrier_access(carrier: Carrier, party: Party, has_photo_id: bool) -> Access:
    if carrier.needs_photo_id and not has_photo_id:
        return Access.EXCLUDED
    if party.has_adult:
        return Access.OK
    youngest = min(party.ages)
    if youngest >= carrier.adult_alone_age:
        return Access.OK
    if youngest >= carrier.min_age_alone:
        return Access.CONDITIONAL
    return Access.EXCLUDED


def party_fare(carrier: Carrier, distance: int, party: Party) -> int:
    return sum(carrier.fare_cents(distance, age) for age in party.ages)


def stop_forbidden(stop: Stop, query: TripQuery) -> bool:
    avoid = query.avoid
    if query.accessible and stop.wheelchair == 2:
        return True
    state = stop.state.casefold()
    if any(state == s.casefold() for s in avoid.states):
        return True
    city = stop.city.casefold()
    if city and any(
        city == c.casefold() and state == s.casefold() for c, s in avoid.cities
    ):
        return True
    return any(
        haversine_m(stop.lat, stop.lon, p.lat, p.lon) <= p.radius_m for p in avoid.points
    )


def forbidden_stops(tt: Timetable, query: TripQuery) -> list[bool]:
    if query.avoid == Avoid() and not query.accessible:
        return [False] * len(tt.network.stops)
    return [stop_forbidden(s, query) for s in tt.network.stops]


def is_daytime(tz: str, start: int, end: int) -> bool:
    """Both ends fall within the daytime window of the same local day."""
    ls, le = local_minute(tz, start), local_minute(tz, end)
    return ls // 1440 == le // 1440 and DAY_START <= ls % 1440 and le % 1440 <= DAY_END


def spans_night(tz: str, start: int, end: int) -> bool:
    """Whether waiting from `start` to `end` touches 00:00-05:00 local time."""
    return end - start > night_free_minutes(tz, start)


def night_free_minutes(tz: str, start: int) -> int:
    """How long one can wait from `start` without touching 00:00-05:00 local time: 0 inside
    a night, else until the next local midnight."""
    minute = local_minute(tz, start) % 1440
    return 0 if minute < NIGHT_END else 1440 - minute


def next_service_start(service: UnscheduledService, tz: str, earliest: int, minutes: int) -> int:
    """First minute >= earliest at which the whole leg fits inside the service hours."""
    if service.opens_minute == 0 and service.closes_minute >= 1440:
        return earliest
    local = local_minute(tz, earliest)
    offset = local - earliest
    day, minute = divmod(local, 1440)
    if minute < service.opens_minute:
        minute = service.opens_minute
    if minute + minutes > service.closes_minute:
        day, minute = day + 1, service.opens_minute
    return day * 1440 + minute - offset


def door_legs(
    tt: Timetable,
    place: Place,
    query: TripQuery,
    usable: list[bool],
) -> tuple[list[DoorLeg], str | None]:
    """Legs from a door to nearby stops, or to the nearest stops by volunteer driver + a note."""
    stops = tt.network.stops
    candidates: Iterable[int] = range(len(stops))
    if tt.coords is not None and len(stops) > 3:
        # Exact distances only for the stops that can matter: those within the walk or taxi
        # radius, and the three nearest; the float estimate is within a metre of them.
        rough = _rough_m(place, *tt.coords)
        rough[~np.array(usable, dtype=np.bool_)] = np.inf
        reach = max(query.walk_radius_m, query.taxi.max_distance_m)
        third = np.partition(rough, 2)[2]
        candidates = np.flatnonzero(rough <= max(reach, third) + 1).tolist()
    ranked = sorted(
        (haversine_m(place.lat, place.lon, stops[i].lat, stops[i].lon), i)
        for i in candidates
        if usable[i]
    )
    legs: list[DoorLeg] = []
    for dist, i in ranked:
        if dist <= query.walk_radius_m:
            legs.append(DoorLeg(i, None, dist, -(-dist // WALK_METRES_PER_MINUTE), 0))
        elif dist <= query.taxi.max_distance_m:
            legs.append(_unscheduled(i, query.taxi, dist))
        else:
            break
    if legs or not ranked:
        return legs, None if ranked else "the network has no usable stops"
    label = place.name or f"{place.lat:.4f},{place.lon:.4f}"
    nearest_dist, nearest = ranked[0]
    stop = tt.network.stops[nearest]
    note = (
        f"no stop within {query.taxi.max_distance_m // 1000} km of {label}; the nearest is "
        f"{stop.name} ({nearest_dist // 1000} km)"
    )
    for dist, i in ranked[:3]:
        if dist <= query.driver.max_distance_m:
            legs.append(_unscheduled(i, query.driver, dist))
    if legs:
        note += f": a {query.driver.name} leg to the nearest stop is offered"
    else:
        note += f", beyond the {query.driver.name} range"
    return legs, note


def _unscheduled(stop: int, service: UnscheduledService, dist: int) -> DoorLeg:
    road_m = dist * service.road_factor_percent // 100
    minutes = max(1, -(-road_m * 60 // (service.speed_kmh * 1000)))
    cost = service.base_cents + service.cents_per_km * road_m // 1000
    return DoorLeg(stop, service, road_m, minutes, cost)


def _rough_m(place: Place, lat: NDArray[np.float64], lon: NDArray[np.float64]
             ) -> NDArray[np.float64]:
    """Great-circle metres from a place to every stop, as `distance_m` computes them but in
    floating point for all stops at once."""
    p1, p2 = math.radians(place.lat), np.radians(lat)
    h = (np.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lon - place.lon) / 2) ** 2)
    metres: NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(1.0, h)))
    return metres
