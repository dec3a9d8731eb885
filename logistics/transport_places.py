"""US places for travel: GeoNames cities (copied into `logistics/data/`) and stored stops' cities.

A `{city, state}` in an itinerary search resolves first to the stored stop in that city with the
most scheduled departures (so "Denver, CO" is Denver Union Station, not the city hall two
kilometres away), then to the GeoNames place, whose point lets the planner offer a first-mile
leg when no stop is near. Stops imported without a city get the nearest GeoNames place within
25 km, so avoided cities catch them too. Names compare casefolded, with "St." and "Saint"
treated alike.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlmodel import Session, col, select

from logistics.transport_models import TransportStop

GEONAMES = Path(__file__).resolve().parent / "data" / "us_places_geonames_min15000.csv.gz"
FILL_RADIUS_KM = 25.0


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str
    lat: float
    lon: float
    population: int
    timezone: str


def city_key(name: str) -> str:
    text = " ".join(name.replace(".", " ").split()).casefold()
    return "saint " + text[3:] if text.startswith("st ") else text


@lru_cache(maxsize=1)
def geonames_cities() -> tuple[City, ...]:
    """Every US place of 15,000 people or more, most populous first (ties by GeoNames id)."""
    with gzip.open(GEONAMES, "rt", encoding="utf-8", newline="") as handle:
        rows = sorted(csv.DictReader(io.StringIO(handle.read())),
                      key=lambda r: (-int(r["population"]), int(r["geonameid"])))
    return tuple(City(r["name"], r["state"], float(r["latitude"]), float(r["longitude"]),
                      int(r["population"]), r["timezone"]) for r in rows)


@lru_cache(maxsize=1)
def _by_key() -> dict[tuple[str, str], City]:
    out: dict[tuple[str, str], City] = {}
    for city in geonames_cities():
        out.setdefault((city_key(city.name), city.state), city)
    return out


def geonames_city(name: str, state: str) -> City | None:
    return _by_key().get((city_key(name), state.upper()))


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 12_742.0 * math.asin(min(1.0, math.sqrt(a)))


def nearest_city(lat: float, lon: float, within_km: float = FILL_RADIUS_KM) -> City | None:
    best: tuple[float, City] | None = None
    for city in geonames_cities():
        # A cheap box test first: 1 degree of latitude is 111 km.
        if abs(city.lat - lat) * 111 > within_km:
            continue
        km = _km(lat, lon, city.lat, city.lon)
        if km <= within_km and (best is None or km < best[0]):
            best = (km, city)
    return None if best is None else best[1]


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    lat: float
    lon: float
    label: str


def resolve_city(session: Session, name: str, state: str) -> ResolvedPlace | None:
    """The main stop of a city (most departures), else its GeoNames point; None if unknown."""
    key = city_key(name)
    stop = session.exec(
        select(TransportStop)
        .where(TransportStop.city_key == key, TransportStop.state == state.upper())
        .order_by(col(TransportStop.departures).desc(), col(TransportStop.id))
    ).first()
    label = f"{name}, {state.upper()}"
    if stop is not None:
        return ResolvedPlace(stop.lat, stop.lon, label)
    city = geonames_city(name, state)
    if city is not None:
        return ResolvedPlace(city.lat, city.lon, label)
    return None
