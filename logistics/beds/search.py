"""Shelter search: who has open beds near a point, for this population, language and need.

The database does the narrowing: an indexed bounding box on lat/lon, the population bit mask,
language, flags and "has at least N available beds of this type" (lapsed holds excluded) are
all SQL. Python then computes exact great-circle distances for the few rows left, applies the
radius and intake hours, ranks, and builds views for one page only. Stale counts rank as if
the shelter were 25 km further away, so a fresh count wins a near tie. Confidential shelters
show a distance rounded to 5 km and no place. A search that finds nothing is recorded in the
unmet-need ledger, without personal data. Its circle is first counted by `check_probes`
(`logistics.probes.service`), which refuses an account bisecting radii around one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import exists, func, literal, type_coerce
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from core.clock import utcnow
from core.crypto import FieldCipher
from core.principal import Principal
from core.types import UTCDateTime
from logistics.beds import inventory as bed_service
from logistics.beds import unmet
from logistics.beds.models import BedCountPublic, UnmetNeed
from logistics.probes.rules import Probe, search_probes
from logistics.shelters.models import (
    BedInventory,
    Shelter,
    ShelterLanguage,
    ShelterPublic,
    ShelterStaff,
)
from logistics.shelters.schedule import is_open
from logistics.shelters.service import languages_of, present
from logistics.shelters.visibility import rounded_distance_m
from logistics.vocabulary import POPULATION_BITS, BedType, Population
from solvers.geo import bounding_box, haversine_m_many

STALE_PENALTY_M = 25_000
MAX_RADIUS_KM = 5_000


@dataclass(frozen=True)
class SearchQuery:
    lat: float
    lon: float
    radius_km: float = 50.0
    population: Population | None = None
    bed_type: BedType | None = None
    min_available: int = 1
    language: str | None = None
    accessible: bool | None = None
    pets: bool | None = None
    open_now: bool = False
    state: str | None = None
    call_ref: str | None = None  # anonymous reference of the call, for unmet need only
    limit: int = 20
    offset: int = 0


class SearchHit(SQLModel):
    shelter: ShelterPublic
    distance_km: float
    distance_rounded: bool
    open_now: bool
    stale: bool
    beds: list[BedCountPublic]


class SearchPage(SQLModel):
    items: list[SearchHit]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class _Candidate:
    id: int
    lat: float
    lon: float
    timezone: str
    intake_hours: dict[str, list[list[str]]] | None
    stale: bool


def _candidates(session: Session, query: SearchQuery, now: datetime) -> list[_Candidate]:
    """Light rows for every shelter passing the SQL filters (no ORM objects: there may be
    thousands), each with whether its oldest bed count is stale."""
    box = bounding_box(query.lat, query.lon, int(query.radius_km * 1000))
    oldest = type_coerce(select(func.min(BedInventory.updated_at))
                         .where(col(BedInventory.shelter_id) == col(Shelter.id))
                         .scalar_subquery(), UTCDateTime)
    # Decoding the JSON schedule of thousands of rows is the costliest part; skip it unless
    # the caller filters on intake hours (the page's own rows decode it later).
    hours = col(Shelter.intake_hours) if query.open_now else literal(None)
    stmt = sa_select(col(Shelter.id), col(Shelter.lat), col(Shelter.lon), col(Shelter.timezone),
                     hours, col(Shelter.stale_after_hours), oldest).where(
        col(Shelter.lat).between(box.min_lat, box.max_lat),
        col(Shelter.lon).between(box.min_lon, box.max_lon),
    )
    if query.population is not None:
        bit = POPULATION_BITS[query.population]
        stmt = stmt.where(col(Shelter.populations_mask).op("&")(bit) != literal(0))
    if query.language is not None:
        stmt = stmt.where(exists().where(col(ShelterLanguage.shelter_id) == col(Shelter.id),
                                         col(ShelterLanguage.language) == query.language))
    if query.accessible is not None:
        stmt = stmt.where(col(Shelter.accessible) == query.accessible)
    if query.pets is not None:
        stmt = stmt.where(col(Shelter.pets) == query.pets)
    if query.state is not None:
        stmt = stmt.where(col(Shelter.state) == query.state)
    if query.bed_type is not None or query.min_available > 0:
        free = bed_service.available_expression(now)
        has_beds = exists().where(col(BedInventory.shelter_id) == col(Shelter.id),
                                  free >= query.min_available)
        if query.bed_type is not None:
            has_beds = has_beds.where(col(BedInventory.bed_type) == query.bed_type.value)
        stmt = stmt.where(has_beds)
    found = []
    for sid, lat, lon, tz, schedule, stale_hours, oldest_at in session.execute(stmt).all():
        stale = oldest_at is not None and (now - oldest_at).total_seconds() > stale_hours * 3600
        found.append(_Candidate(sid, lat, lon, tz, schedule, stale))
    return found


def search_shelters(
    session: Session, *, actor: Principal, cipher: FieldCipher, query: SearchQuery,
    record_unmet: Callable[[dict[str, Any]], None] | None = None,
    check_probes: Callable[[list[Probe]], None] | None = None,
) -> SearchPage:
    # Counted before anything is read: a refused probe must not be answered.
    if check_probes is not None:
        check_probes(search_probes(query.lat, query.lon, query.radius_km))
    now = utcnow()
    candidates = _candidates(session, query, now)
    distances = haversine_m_many(query.lat, query.lon,
                                 np.array([c.lat for c in candidates], dtype=np.float64),
                                 np.array([c.lon for c in candidates], dtype=np.float64))
    limit_m = query.radius_km * 1000
    ranked: list[tuple[float, int, _Candidate]] = []
    for candidate, distance in zip(candidates, distances.tolist(), strict=True):
        if distance > limit_m:
            continue
        if query.open_now and not is_open(candidate.intake_hours, candidate.timezone, now):
            continue
        penalty = STALE_PENALTY_M if candidate.stale else 0
        ranked.append((distance + penalty, candidate.id, candidate))
    if not ranked and record_unmet is not None:
        record_unmet(unmet.need(subject=unmet.call_subject(actor.account_id, query.call_ref),
                                state=query.state, population=query.population,
                                bed_type=query.bed_type, reason="no_shelter_found",
                                source="search"))
    ranked.sort(key=lambda r: (r[0], r[1]))
    page = ranked[query.offset:query.offset + query.limit]
    ids = [r[1] for r in page]
    shelters = {s.id: s for s in session.exec(select(Shelter).where(col(Shelter.id).in_(ids)))}
    beds = _beds_for(session, ids, now)
    languages = languages_of(session, ids)
    managed = _managed(session, actor, ids)
    items = []
    for score, sid, candidate in page:
        shelter = shelters[sid]
        distance = round(score - (STALE_PENALTY_M if candidate.stale else 0))
        manager = actor.administers(shelter.agency_id) or sid in managed
        hidden = shelter.confidential_location and not manager
        shown = rounded_distance_m(distance) if hidden else distance
        items.append(SearchHit(
            shelter=present(session, actor=actor, cipher=cipher, shelter=shelter,
                            languages=languages[sid], manager=manager),
            distance_km=round(shown / 1000, 1), distance_rounded=hidden,
            open_now=is_open(shelter.intake_hours, shelter.timezone, now),
            stale=candidate.stale, beds=beds.get(sid, [])))
    return SearchPage(items=items, total=len(ranked), limit=query.limit, offset=query.offset)


def _beds_for(session: Session, shelter_ids: list[int],
              now: datetime) -> dict[int, list[BedCountPublic]]:
    found: dict[int, list[BedCountPublic]] = {}
    if not shelter_ids:
        return found
    rows = session.exec(
        select(BedInventory, bed_service.lapsed_holds_subquery(now),
               bed_service.active_surge_subquery(now), Shelter)
        .join(Shelter, col(Shelter.id) == col(BedInventory.shelter_id))
        .where(col(BedInventory.shelter_id).in_(shelter_ids))
        .order_by(col(BedInventory.bed_type))).all()
    for inv, lapsed_beds, surge, shelter in rows:
        found.setdefault(inv.shelter_id, []).append(
            bed_service.count_view(inv, shelter, int(lapsed_beds), now, int(surge)))
    return found


def _managed(session: Session, actor: Principal, shelter_ids: list[int]) -> set[int]:
    if actor.account_id is None or not shelter_ids:
        return set()
    rows = session.exec(select(ShelterStaff.shelter_id).where(
        ShelterStaff.account_id == actor.account_id,
        col(ShelterStaff.shelter_id).in_(shelter_ids)))
    return set(rows)


def list_unmet_need(session: Session, *, actor: Principal, limit: int,
                    offset: int) -> list[UnmetNeed]:
    actor.require_platform_admin()
    return list(session.exec(select(UnmetNeed).order_by(col(UnmetNeed.id).desc())
                             .limit(limit).offset(offset)).all())
