"""Geometry probes: the place-and-radius shape of a search or match, and the probing rule.

A confidential shelter's place can be worked out by asking, again and again, "is it inside this
circle?" around one anchor while moving the circle's edge (issue #13: ~40 searches per anchor
from three anchors trilaterated a safe house). Every circle a request draws is a `Probe`: a
search's (near point, radius_km), a case's (location, max_travel_km) and each exclusion point's
(point, radius_km). A probe has a `place` (the coarse 0.1 degree grid cell of its anchor, about
11 km, or the city when a case gives no point) so that probes around the same place share a key,
and a `shape` (kind, anchor to 1e-4 degree, radius to the metre) so that repeating a request
(an advocate refreshing, the web page re-ranking a stored case) draws nothing new, while each
distinct radius or anchor around one place is a new variation.

The rule (`verdict`): within a sliding window an account may draw at most `limit` distinct
shapes per place. A live call varies the radius a handful of times; bisecting to the metre takes
dozens. Pure: no database, no clock; `logistics.probes.service` stores and counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

CELLS_PER_DEGREE = 10  # 0.1 degree cells
ANCHOR_DECIMALS = 4  # about 11 m: finer than any useful move of a circle, coarser than noise

SEARCH = "search"
TRAVEL = "travel"  # a case's location and max_travel_km
EXCLUSION = "exclusion"  # one exclusion point and its radius


@dataclass(frozen=True)
class Probe:
    """One circle a request draws: where (coarse `place`) and its exact-enough `shape`.

    `shape` holds a fine anchor and is only ever stored as a keyed digest (it may be a
    survivor's whereabouts); `place` is coarse enough to show an administrator.
    """

    place: str
    shape: str


@dataclass(frozen=True)
class ProbeLimits:
    """At most `limit` distinct probe shapes per account and place within `window`."""

    limit: int = 30
    window: timedelta = timedelta(hours=1)


def cell(lat: float, lon: float) -> str:
    """The 0.1 degree grid cell holding a point, named by its south-west corner."""
    # Multiplying, not dividing by 0.1: 29.7 / 0.1 is 296.99999999999994, 29.7 * 10 is 297.0.
    i = math.floor(lat * CELLS_PER_DEGREE)
    j = math.floor(lon * CELLS_PER_DEGREE)
    return f"{i / CELLS_PER_DEGREE:.1f},{j / CELLS_PER_DEGREE:.1f}"


def point_probe(kind: str, lat: float, lon: float, radius_km: float) -> Probe:
    shape = (f"{kind}|{lat:.{ANCHOR_DECIMALS}f}|{lon:.{ANCHOR_DECIMALS}f}|"
             f"{round(radius_km * 1000)}")
    return Probe(place=cell(lat, lon), shape=shape)


def city_probe(kind: str, city: str, state: str, radius_km: float) -> Probe:
    # A case placed only by city is matched from the city's centre: the city is the anchor.
    name = " ".join(city.lower().split())[:80]
    place = f"{state}:{name}"
    return Probe(place=place, shape=f"{kind}|{place}|{round(radius_km * 1000)}")


def search_probes(lat: float, lon: float, radius_km: float) -> list[Probe]:
    return [point_probe(SEARCH, lat, lon, radius_km)]


@dataclass(frozen=True)
class CaseGeometry:
    """The circles of one case: its location and reach, and its exclusion points."""

    lat: float | None
    lon: float | None
    city: str | None
    state: str | None
    max_travel_km: float
    exclusions: Sequence[tuple[float, float, float]] = ()  # (lat, lon, radius_km)


def case_probes(case: CaseGeometry) -> list[Probe]:
    probes = []
    if case.lat is not None and case.lon is not None:
        probes.append(point_probe(TRAVEL, case.lat, case.lon, case.max_travel_km))
    elif case.city is not None and case.state is not None:
        probes.append(city_probe(TRAVEL, case.city, case.state, case.max_travel_km))
    probes.extend(point_probe(EXCLUSION, lat, lon, radius)
                  for lat, lon, radius in case.exclusions)
    return probes


def by_place(probes: Iterable[Probe]) -> dict[str, set[str]]:
    """Distinct shapes of a request, grouped by place."""
    grouped: dict[str, set[str]] = {}
    for probe in probes:
        grouped.setdefault(probe.place, set()).add(probe.shape)
    return grouped


@dataclass(frozen=True)
class ProbeVerdict:
    """What the rule says of one place: allowed, or refused with seconds until it may pass."""

    place: str
    seen: int  # distinct shapes already answered in the window
    new: int  # distinct shapes this request adds
    retry_after_s: int | None  # None: allowed

    @property
    def allowed(self) -> bool:
        return self.retry_after_s is None


def verdict(place: str, *, seen: Mapping[str, datetime], requested: set[str],
            limits: ProbeLimits, now: datetime) -> ProbeVerdict:
    """Allow the request at this place if its new shapes fit within the limit.

    `seen` maps each shape answered in the window to when it was last drawn. A refused
    request's shapes were never answered and are not counted, so the wait is until enough
    of the oldest answered shapes leave the window; a request that alone draws more shapes
    than the limit waits a whole window (and will be refused again: it must be split).
    """
    new = requested - seen.keys()
    if len(seen) + len(new) <= limits.limit:
        return ProbeVerdict(place, len(seen), len(new), None)
    to_free = len(seen) + len(new) - limits.limit
    if to_free > len(seen):
        wait = limits.window.total_seconds()
    else:
        oldest = sorted(seen.values())[to_free - 1]
        wait = (oldest + limits.window - now).total_seconds()
    return ProbeVerdict(place, len(seen), len(new), max(1, math.ceil(wait)))
