"""The one US gazetteer: GeoNames places of 15,000 people or more, and lookups over them.

Every part of Homeward that turns a city name into a point, or a point into a city, reads this
module: itinerary search and avoided cities, stops imported without a city, the partner
directory's service areas, tips and referrals located by coordinates, and the fixtures that
place shelters and the synthetic bus network. The data is `core/data/` (see its SOURCE.md);
distances are the solvers' great circle (`solvers.geo.haversine_m`), so a place is "within
25 km" by the same measure everywhere. Names compare casefolded, with "St." and "Saint" alike.
"""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from solvers.geo import haversine_m

# A point within this distance of a place of 15,000 people takes that place's state. Generous
# on purpose: every point of the lower 48 and Hawaii is within it of such a place, while points
# at sea or abroad stay without a state. Near a border the nearest place may be across it; the
# same rule places directory searches and tips, so a point is in one state everywhere.
STATE_FROM_POINT_KM = 150.0
GEONAMES = Path(__file__).resolve().parent / "data" / "us_places_geonames_min15000.csv.gz"
# One degree of latitude is at least 110.5 km anywhere: a box test that never drops a match.
_KM_PER_DEGREE_LAT = 110.5


@dataclass(frozen=True, slots=True)
class City:
    """One GeoNames place: `state` is the two-letter code, `timezone` an IANA name."""

    name: str
    state: str
    lat: float
    lon: float
    population: int
    timezone: str
    geonameid: int


def city_key(name: str) -> str:
    text = " ".join(name.replace(".", " ").split()).casefold()
    return "saint " + text[3:] if text.startswith("st ") else text


@lru_cache(maxsize=1)
def us_cities() -> tuple[City, ...]:
    """Every US place of 15,000 people or more, most populous first (ties by GeoNames id)."""
    with gzip.open(GEONAMES, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    cities = [City(r["name"], r["state"], float(r["latitude"]), float(r["longitude"]),
                   int(r["population"]), r["timezone"], int(r["geonameid"])) for r in rows]
    return tuple(sorted(cities, key=lambda c: (-c.population, c.geonameid)))


@lru_cache(maxsize=1)
def _by_key() -> dict[tuple[str, str], City]:
    out: dict[tuple[str, str], City] = {}
    for city in us_cities():
        out.setdefault((city_key(city.name), city.state), city)  # the most populous wins
    return out


def find_city(name: str, state: str) -> City | None:
    """The place called `name` in `state` (two letters), or None."""
    return _by_key().get((city_key(name), state.upper()))


def nearest_city(lat: float, lon: float, within_km: float) -> City | None:
    """The place nearest to the point within `within_km`, or None (ties by population)."""
    best: tuple[int, City] | None = None
    limit_m = within_km * 1000
    for city in us_cities():
        if abs(city.lat - lat) * _KM_PER_DEGREE_LAT > within_km:
            continue
        metres = haversine_m(lat, lon, city.lat, city.lon)
        if metres <= limit_m and (best is None or metres < best[0]):
            best = (metres, city)
    return None if best is None else best[1]


def state_at(lat: float, lon: float) -> str | None:
    """The two-letter state of the nearest place within STATE_FROM_POINT_KM, or None."""
    near = nearest_city(lat, lon, STATE_FROM_POINT_KM)
    return None if near is None else near.state
