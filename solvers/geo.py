"""Geography helpers for matching: great-circle distance, bounding boxes, travel-time estimate.

Distances cross the package boundary as integer metres and travel times as integer minutes.
The scalar functions serve explanations and checks; the vectorised one serves the pre-filter
that keeps single-household ranking fast over thousands of shelters. The travel-time model is
a deliberately simple, documented estimate (see `travel_minutes`), not a routing engine: it is
used to tell an advocate "about four hours by road", never to promise an arrival time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

# Mean Earth radius (IUGG); the spherical model errs by < 0.5 %, far below road circuity.
EARTH_RADIUS_M = 6_371_008

# Road distance is longer than the great circle. US studies put the circuity factor between
# 1.2 (interstate corridors) and 1.4 (rural grids); 1.3 is a middle value.
ROAD_CIRCUITY = 1.3
# The first stretch of any trip is urban driving; the rest is highway.
URBAN_ROAD_M = 25_000
URBAN_SPEED_KMH = 40.0
HIGHWAY_SPEED_KMH = 90.0
# Pick-up, hand-over and intake at the door cost time even for a shelter next door.
FIXED_OVERHEAD_MIN = 10


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    """Great-circle distance in whole metres (rounded to nearest)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    # min() guards against a > 1 from rounding for antipodal points.
    return round(2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a))))


def haversine_m_many(
    lat: float, lon: float, lats: NDArray[np.float64], lons: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Distances in metres (float, unrounded) from one point to many, vectorised."""
    p1 = math.radians(lat)
    p2 = np.radians(lats)
    dp = p2 - p1
    dl = np.radians(lons - lon)
    a = np.sin(dp / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    out: NDArray[np.float64] = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


@dataclass(frozen=True)
class BoundingBox:
    """A lat/lon rectangle that contains every point within some radius of a centre."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon

    def mask(self, lats: NDArray[np.float64], lons: NDArray[np.float64]) -> NDArray[np.bool_]:
        inside: NDArray[np.bool_] = (
            (lats >= self.min_lat)
            & (lats <= self.max_lat)
            & (lons >= self.min_lon)
            & (lons <= self.max_lon)
        )
        return inside


def bounding_box(lat: float, lon: float, radius_m: int) -> BoundingBox:
    """A conservative box: never excludes a point within `radius_m`, may include a few more.

    Near the poles or across the antimeridian it falls back to the full longitude range rather
    than risk a wrong exclusion; US data never hits that case but correctness costs nothing.
    """
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90.0 or max_lat >= 90.0:
        return BoundingBox(max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0)
    # Widest longitude span is at the latitude edge nearest the pole.
    worst_lat = math.radians(max(abs(min_lat), abs(max_lat)))
    dlon = math.degrees(radius_m / (EARTH_RADIUS_M * math.cos(worst_lat)))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180.0 or max_lon > 180.0:
        return BoundingBox(min_lat, max_lat, -180.0, 180.0)
    return BoundingBox(min_lat, max_lat, min_lon, max_lon)


def travel_minutes(distance_m: int) -> int:
    """Estimated door-to-door road travel time in whole minutes (rounded up).

    Assumptions: road distance = great circle x 1.3; the first 25 km of road at 40 km/h, the
    rest at 90 km/h (a mix of interstate and stops); plus a fixed 10 minutes for pick-up and
    hand-over. No ferries, traffic or driver rest breaks are modelled.
    """
    if distance_m < 0:
        raise ValueError("distance_m must be >= 0")
    road_m = distance_m * ROAD_CIRCUITY
    urban_m = min(road_m, URBAN_ROAD_M)
    highway_m = road_m - urban_m
    hours = urban_m / 1000 / URBAN_SPEED_KMH + highway_m / 1000 / HIGHWAY_SPEED_KMH
    return FIXED_OVERHEAD_MIN + math.ceil(hours * 60 - 1e-9)


def travel_minutes_many(distance_m: NDArray[np.int64]) -> NDArray[np.int64]:
    """Vectorised `travel_minutes`, same assumptions and rounding."""
    road_m = distance_m.astype(np.float64) * ROAD_CIRCUITY
    urban_m = np.minimum(road_m, URBAN_ROAD_M)
    hours = urban_m / 1000 / URBAN_SPEED_KMH + (road_m - urban_m) / 1000 / HIGHWAY_SPEED_KMH
    out: NDArray[np.int64] = FIXED_OVERHEAD_MIN + np.ceil(hours * 60 - 1e-9).astype(np.int64)
    return out
