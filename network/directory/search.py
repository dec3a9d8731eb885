"""Directory search: who serves this point, city, county or state, for a service, in a language.

SQL does the narrowing: one query over the areas (indexed on kind and state, and on the
bounding box of every circle) joined to their organisation, with the organisation filters
(kind, law-enforcement level, specialisation, language, offers the service) as EXISTS clauses.
Python then keeps only circles that really contain the point (exact great-circle test), picks
each organisation's most local matching area, applies opening hours, ranks (local before state
before national, then by distance from the office) and builds views for one page only.

A point's state is taken from the nearest GeoNames place within 150 km unless the caller names
the state; a city is placed at its GeoNames point. Both are documented approximations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import and_, exists, false, func, literal, or_
from sqlalchemy import select as sa_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, col, select

from core.clock import utcnow
from core.gazetteer import STATE_FROM_POINT_KM, find_city, us_cities
from logistics.shelters.schedule import is_open
from logistics.vocabulary import Specialisation
from network.directory.models import (
    AreaKind,
    DirectoryService,
    LawLevel,
    Organization,
    OrganizationKind,
    OrganizationLanguage,
    OrganizationPublic,
    ServiceArea,
    ServicePublic,
    ServiceType,
)
from network.directory.service import present_many
from network.errors import InvalidNetwork
from solvers.geo import haversine_m, haversine_m_many

SCOPE_RANK = {AreaKind.RADIUS: 0, AreaKind.CITY: 0, AreaKind.COUNTY: 0, AreaKind.STATE: 1,
              AreaKind.NATIONAL: 2}


@dataclass(frozen=True)
class DirectoryQuery:
    lat: float | None = None
    lon: float | None = None
    city: str | None = None
    county: str | None = None
    state: str | None = None
    service_type: ServiceType | None = None
    language: str | None = None
    open_now: bool = False
    kind: OrganizationKind | None = None
    law_level: LawLevel | None = None
    specialised: bool | None = None
    limit: int = 20
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Match:
    """One organisation that serves the place: its most local area and its office distance."""

    organization_id: int
    scope: AreaKind
    distance_m: int | None


class OrganizationHit(SQLModel):
    organization: OrganizationPublic
    scope: AreaKind
    distance_km: float | None
    open_now: bool


class ServiceHit(SQLModel):
    service: ServicePublic
    organization: OrganizationPublic
    scope: AreaKind
    distance_km: float | None
    open_now: bool


class OrganizationPage(SQLModel):
    items: list[OrganizationHit]
    total: int
    limit: int
    offset: int


class ServicePage(SQLModel):
    items: list[ServiceHit]
    total: int
    limit: int
    offset: int


@cache
def _places() -> tuple[NDArray[np.float64], NDArray[np.float64], tuple[str, ...]]:
    cities = us_cities()
    return (np.array([c.lat for c in cities], dtype=np.float64),
            np.array([c.lon for c in cities], dtype=np.float64),
            tuple(c.state for c in cities))


def state_of_point(lat: float, lon: float) -> str | None:
    """The state of the nearest GeoNames place within 150 km (vectorised: one pass in C)."""
    lats, lons, states = _places()
    distances = haversine_m_many(lat, lon, lats, lons)
    best = int(np.argmin(distances))
    return states[best] if distances[best] <= STATE_FROM_POINT_KM * 1000 else None


def resolve(query: DirectoryQuery) -> DirectoryQuery:
    """Fill in the point of a named city and the state of a bare point."""
    if (query.city or query.county) and query.state is None:
        raise InvalidNetwork("state", "a city or county search needs its state")
    if query.city and query.lat is None and query.state:
        place = find_city(query.city, query.state)
        if place is not None:
            query = replace(query, lat=place.lat, lon=place.lon)
    if query.lat is not None and query.lon is not None and query.state is None:
        state = state_of_point(query.lat, query.lon)
        if state is not None:
            query = replace(query, state=state)
    return query


def _area_clause(query: DirectoryQuery) -> ColumnElement[bool]:
    kind, state = col(ServiceArea.kind), col(ServiceArea.state)
    terms: list[ColumnElement[bool]] = [kind == AreaKind.NATIONAL.value]
    point = query.lat is not None and query.lon is not None
    if query.state is not None:
        terms.append(and_(kind == AreaKind.STATE.value, state == query.state))
        if not point and query.city is None and query.county is None:
            # A whole-state search: everyone serving any part of the state.
            terms.append(state == query.state)
        if query.county is not None:
            terms.append(and_(kind == AreaKind.COUNTY.value, state == query.state,
                              func.lower(col(ServiceArea.county)) == query.county.lower()))
        if query.city is not None:
            terms.append(and_(kind == AreaKind.CITY.value, state == query.state,
                              func.lower(col(ServiceArea.city)) == query.city.lower()))
    if point:
        terms.append(and_(col(ServiceArea.min_lat) <= query.lat,
                          col(ServiceArea.max_lat) >= query.lat,
                          col(ServiceArea.min_lon) <= query.lon,
                          col(ServiceArea.max_lon) >= query.lon))
    return or_(false(), *terms)


def _covers(query: DirectoryQuery, kind: AreaKind, state: str | None, county: str | None,
            city: str | None, lat: float | None, lon: float | None,
            radius_km: float | None) -> bool:
    """The exact test behind the SQL pre-filter (which may let a box corner through)."""
    if kind is AreaKind.NATIONAL:
        return True
    if query.state is not None and state == query.state:
        if kind is AreaKind.STATE:
            return True
        whole_state = query.lat is None and query.city is None and query.county is None
        if whole_state:
            return True
        if kind is AreaKind.CITY and query.city and city and city.lower() == query.city.lower():
            return True
        if (kind is AreaKind.COUNTY and query.county and county
                and county.lower() == query.county.lower()):
            return True
    if (query.lat is not None and query.lon is not None and lat is not None and lon is not None
            and radius_km is not None):
        return haversine_m(query.lat, query.lon, lat, lon) <= radius_km * 1000
    return False


def find_matches(session: Session, query: DirectoryQuery) -> list[Match]:
    """Every organisation serving the resolved query, ranked; no views built."""
    query = resolve(query)
    if query.state is None and query.lat is None:
        raise InvalidNetwork("near", "give near=lat,lon, a city and state, or a state")
    hours = col(Organization.hours) if query.open_now else literal(None)
    stmt = (sa_select(col(ServiceArea.organization_id), col(ServiceArea.kind),
                      col(ServiceArea.state), col(ServiceArea.county), col(ServiceArea.city),
                      col(ServiceArea.lat), col(ServiceArea.lon), col(ServiceArea.radius_km),
                      col(Organization.lat), col(Organization.lon), col(Organization.timezone),
                      hours)
            .join(Organization, col(Organization.id) == col(ServiceArea.organization_id))
            .where(_area_clause(query)))
    if query.kind is not None:
        stmt = stmt.where(col(Organization.kind) == query.kind.value)
    if query.law_level is not None:
        stmt = stmt.where(col(Organization.law_level) == query.law_level.value)
    if query.specialised is not None:
        none = col(Organization.specialisation) == Specialisation.NONE.value
        stmt = stmt.where(~none if query.specialised else none)
    if query.language is not None:
        stmt = stmt.where(exists().where(
            col(OrganizationLanguage.organization_id) == col(Organization.id),
            col(OrganizationLanguage.language) == query.language))
    if query.service_type is not None:
        stmt = stmt.where(exists().where(
            col(DirectoryService.organization_id) == col(Organization.id),
            col(DirectoryService.service_type) == query.service_type.value))
    now = utcnow()
    best: dict[int, Match] = {}
    for (oid, kind_text, state, county, city, lat, lon, radius, olat, olon, tz,
         schedule) in session.execute(stmt).all():
        kind = AreaKind(kind_text)
        if not _covers(query, kind, state, county, city, lat, lon, radius):
            continue
        known = best.get(oid)
        if known is not None and SCOPE_RANK[known.scope] <= SCOPE_RANK[kind]:
            continue
        if known is None and query.open_now and not is_open(schedule, tz, now):
            continue
        distance = (haversine_m(query.lat, query.lon, olat, olon)
                    if query.lat is not None and query.lon is not None else None)
        best[oid] = Match(oid, kind, distance)
    return sorted(best.values(), key=lambda m: (SCOPE_RANK[m.scope], m.distance_m or 0,
                                                m.organization_id))


def _km(distance_m: int | None) -> float | None:
    return None if distance_m is None else round(distance_m / 1000, 1)


def _open_flags(views: dict[int, OrganizationPublic]) -> dict[int, bool]:
    now = utcnow()
    return {oid: is_open(None if v.hours is None else
                         {day: [list(span) for span in spans]
                          for day, spans in v.hours.windows.items()}, v.timezone, now)
            for oid, v in views.items()}


def search_organizations(session: Session, *, query: DirectoryQuery) -> OrganizationPage:
    matches = find_matches(session, query)
    page = matches[query.offset:query.offset + query.limit]
    ids = [m.organization_id for m in page]
    views = present_many(session, ids)
    opened = _open_flags(views)
    items = [OrganizationHit(organization=views[m.organization_id], scope=m.scope,
                             distance_km=_km(m.distance_m), open_now=opened[m.organization_id])
             for m in page]
    return OrganizationPage(items=items, total=len(matches), limit=query.limit,
                            offset=query.offset)


def search_services(session: Session, *, query: DirectoryQuery) -> ServicePage:
    """Services (one hit each) of the organisations serving the place, in their rank order."""
    matches = find_matches(session, query)
    rank = {m.organization_id: i for i, m in enumerate(matches)}
    by_org = {m.organization_id: m for m in matches}
    stmt = sa_select(col(DirectoryService.id), col(DirectoryService.organization_id))
    if query.service_type is not None:
        stmt = stmt.where(col(DirectoryService.service_type) == query.service_type.value)
    if len(rank) < 900:
        # IN lists stay under SQLite's parameter limits; larger sets filter in Python.
        stmt = stmt.where(col(DirectoryService.organization_id).in_(list(rank)))
    pairs = sorted(((rank[oid], sid, oid) for sid, oid in session.execute(stmt).all()
                    if oid in rank))
    page = pairs[query.offset:query.offset + query.limit]
    ids = sorted({oid for _r, _s, oid in page})
    views = present_many(session, ids)
    opened = _open_flags(views)
    items = []
    for _r, sid, oid in page:
        service = next(s for s in views[oid].services if s.id == sid)
        match = by_org[oid]
        items.append(ServiceHit(service=service, organization=views[oid], scope=match.scope,
                                distance_km=_km(match.distance_m), open_now=opened[oid]))
    return ServicePage(items=items, total=len(pairs), limit=query.limit, offset=query.offset)


def services_of(session: Session, organization_id: int) -> list[ServiceType]:
    return [ServiceType(t) for t in session.exec(
        select(DirectoryService.service_type)
        .where(DirectoryService.organization_id == organization_id))]
