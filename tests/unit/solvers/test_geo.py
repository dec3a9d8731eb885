"""Geography helpers: distances, bounding boxes, travel-time estimate."""

import numpy as np
import pytest

from solvers.geo import (
    bounding_box,
    haversine_m,
    haversine_m_many,
    travel_minutes,
    travel_minutes_many,
)

HOUSTON = (29.7604, -95.3698)
DALLAS = (32.7767, -96.7970)


def test_known_distance_houston_dallas():
    d = haversine_m(*HOUSTON, *DALLAS)
    assert isinstance(d, int)
    assert 360_000 < d < 364_000


def test_zero_and_symmetry():
    assert haversine_m(*HOUSTON, *HOUSTON) == 0
    assert haversine_m(*HOUSTON, *DALLAS) == haversine_m(*DALLAS, *HOUSTON)


def test_vectorised_matches_scalar():
    lats = np.array([DALLAS[0], 40.0, -33.9, 29.76])
    lons = np.array([DALLAS[1], -100.0, 151.2, -95.37])
    many = haversine_m_many(*HOUSTON, lats, lons)
    for la, lo, d in zip(lats, lons, many, strict=True):
        assert abs(haversine_m(*HOUSTON, float(la), float(lo)) - d) <= 1


def test_bounding_box_contains_circle():
    box = bounding_box(45.0, -100.0, 100_000)
    assert haversine_m(45.0, -100.0, box.max_lat, -100.0) >= 99_000
    assert haversine_m(45.0, -100.0, 45.0, box.max_lon) >= 99_000
    assert not box.contains(47.0, -100.0)


def test_bounding_box_never_wraps_wrongly():
    box = bounding_box(89.5, 179.0, 200_000)
    assert box.min_lon == -180.0 and box.max_lon == 180.0


def test_travel_minutes_model():
    assert travel_minutes(0) == 10
    # 10 km great circle = 13 km road at 40 km/h = 19.5 min -> 20 + 10.
    assert travel_minutes(10_000) == 30
    assert travel_minutes(100_000) > travel_minutes(50_000) > travel_minutes(10_000)
    ds = np.array([0, 10_000, 123_456, 800_000], dtype=np.int64)
    assert travel_minutes_many(ds).tolist() == [travel_minutes(int(d)) for d in ds]
    with pytest.raises(ValueError):
        travel_minutes(-1)
