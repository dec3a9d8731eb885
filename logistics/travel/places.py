"""US places for travel: a `{city, state}` resolved to a stored stop or a gazetteer point.

A `{city, state}` in an itinerary search resolves first to the stored stop in that city with the
most scheduled departures (so "Denver, CO" is Denver Union Station, not the city hall two
kilometres away), then to the GeoNames place, whose point lets the planner offer a first-mile
leg when no stop is near. Stops imported without a city get the nearest GeoNames place within
25 km, so avoided cities catch them too. Names compare casefolded, with "St." and "Saint"
treated alike. A resolved place carries its IANA time zone (the stop's, else the GeoNames
place's), so a form can take a departure in the origin's local time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core.gazetteer import city_key, find_city
from logistics.travel.feed_models import TransportStop

FILL_RADIUS_KM = 25.0


@dataclass(frozen=True, slots=True)
class ResolvedPlace:
    lat: float
    lon: float
    label: str
    timezone: str = ""  # IANA name of the stop or the GeoNames place; "" when unknown


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
        return ResolvedPlace(stop.lat, stop.lon, label, stop.timezone)
    city = find_city(name, state)
    if city is not None:
        return ResolvedPlace(city.lat, city.lon, label, city.timezone)
    return None
