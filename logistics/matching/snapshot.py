"""The registry read as matcher input: one fresh snapshot per request, nothing cached.

For each shelter: the beds available per bed type net of active, unexpired holds (and open
surge windows), the age of its oldest count, whether intake is open now, its languages,
populations and requirements. A confidential safe house is read only as its public cell point
with the cell's uncertainty (`logistics.shelters.visibility.CELL_UNCERTAINTY_M`): the sealed exact
point
is never read here, so no match can depend on it, whoever asks. `load_snapshot`
reads it with one aggregated query as `solvers.matching.ShelterOption` values: a batch ships
them to a worker process and the validator reads them. One household on a live call is served
by `logistics.matching.index`, which reads the same facts as columns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, func, select
from sqlalchemy import case as sql_case
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col

from core.clock import utcnow
from logistics.beds import inventory as bed_service
from logistics.shelters.models import BedInventory, Shelter, ShelterLanguage
from logistics.shelters.schedule import is_open
from logistics.shelters.visibility import CELL_UNCERTAINTY_M
from logistics.vocabulary import BedType, mask_to_populations
from solvers.geo import BoundingBox, bounding_box, haversine_m
from solvers.matching import Household, ShelterOption
from solvers.matching.eligibility_common import GENDER_BIT
from solvers.matching.types import GENDERS

# The SQL box and the reach pre-filter are widened by this much so that rounding at their edge
# never drops a shelter the max-travel rule would keep (it decides; the rest count as beyond).
BOX_MARGIN_M = 10_000
# A family unit whose size limit is not recorded takes any household the case model allows.
UNLIMITED_UNIT = 30
_ALL_GENDERS = sum(GENDER_BIT[g] for g in GENDERS)


@dataclass(frozen=True)
class ShelterMeta:
    """What the response needs about a shelter beyond the solver's view of it."""

    name: str
    city: str
    state: str
    confidential: bool
    stale: bool
    max_hold_minutes: int


@dataclass(frozen=True)
class Snapshot:
    """The registry as the matcher sees it at `at`; `total` counts every shelter in it."""

    options: tuple[ShelterOption, ...]
    meta: dict[int, ShelterMeta]
    total: int
    at: datetime


_SHELTER_COLUMNS = (
    "id", "name", "lat", "lon", "city", "state", "timezone",
    "confidential_location", "populations_mask", "specialisation", "accessible", "pets",
    "children_max_age", "requires_photo_id", "requires_referral", "requires_sobriety",
    "stale_after_hours", "max_hold_minutes")
_N_TYPES = len(BedType)
_FIRST_BED = len(_SHELTER_COLUMNS)


def _boxed(stmt: Any, box: BoundingBox | None) -> Any:
    if box is None:
        return stmt
    return stmt.where(col(Shelter.lat).between(box.min_lat, box.max_lat),
                      col(Shelter.lon).between(box.min_lon, box.max_lon))


def _beds_per_shelter(now: datetime, box: BoundingBox | None) -> Any:
    """One row per shelter: free beds per bed type (lapsed holds excluded), unit size, age."""
    inv = BedInventory
    free = bed_service.available_expression(now)
    per_type = [func.sum(sql_case((col(inv.bed_type) == b.value, free), else_=None))
                .label(b.value) for b in BedType]
    unit = sql_case((col(inv.bed_type) == BedType.FAMILY_UNIT.value,
                     func.coalesce(col(inv.max_household), UNLIMITED_UNIT)), else_=None)
    stmt = (select(col(inv.shelter_id).label("sid"), *per_type,
                   func.max(unit).label("family_max"),
                   func.min(col(inv.updated_at)).label("counted_at"))
            .join(Shelter, col(Shelter.id) == col(inv.shelter_id))
            .group_by(col(inv.shelter_id)))
    return _boxed(stmt, box).subquery()


def _rows(session: Session, now: datetime, box: BoundingBox | None) -> list[Any]:
    # Plain Core rows on the session's connection: no ORM row processing for thousands.
    beds = _beds_per_shelter(now, box)
    stmt = (select(*(col(getattr(Shelter, name)) for name in _SHELTER_COLUMNS))
            .add_columns(*(beds.c[b.value] for b in BedType), beds.c.family_max,
                         beds.c.counted_at,
                         # The schedule as JSON text, so that equal schedules are parsed once.
                         sql_cast(col(Shelter.intake_hours), Text).label("intake_hours"))
            .outerjoin(beds, beds.c.sid == col(Shelter.id)))
    return list(session.connection().execute(_boxed(stmt, box)).all())


def _languages(session: Session, box: BoundingBox | None) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    stmt = (select(col(ShelterLanguage.shelter_id), col(ShelterLanguage.language))
            .join(Shelter, col(Shelter.id) == col(ShelterLanguage.shelter_id)))
    for sid, language in session.connection().execute(_boxed(stmt, box)).all():
        found.setdefault(sid, set()).add(language)
    return found


def total_shelters(session: Session) -> int:
    return int(session.connection().execute(
        select(func.count()).select_from(Shelter)).scalar_one())


class _Facts:
    """Per-row facts both readers derive the same way (schedules parsed once per request)."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._open: dict[tuple[str | None, str], bool] = {}

    def age(self, r: Any) -> int:
        if r.counted_at is None:
            return 0
        return max(0, int((self.now - r.counted_at).total_seconds() // 60))

    def open_now(self, r: Any) -> bool:
        key = (r.intake_hours, r.timezone)
        if key not in self._open:
            hours = None if r.intake_hours is None else json.loads(r.intake_hours)
            self._open[key] = is_open(hours, r.timezone, self.now)
        return self._open[key]

    @staticmethod
    def available(r: Any) -> dict[str, int]:
        counts = r[_FIRST_BED:_FIRST_BED + _N_TYPES]
        return {b.value: max(0, int(n)) for b, n in zip(BedType, counts, strict=True)
                if n is not None}

    def meta(self, r: Any) -> ShelterMeta:
        return ShelterMeta(r.name, r.city, r.state, r.confidential_location,
                           self.age(r) > r.stale_after_hours * 60, r.max_hold_minutes)


def _option(r: Any, languages: frozenset[str], facts: _Facts) -> ShelterOption:
    # A safe house is matched on its public cell point, never its sealed exact one.
    return ShelterOption(
        shelter_id=str(r.id), lat=float(r.lat), lon=float(r.lon),
        populations=frozenset(p.value for p in mask_to_populations(r.populations_mask)),
        available=facts.available(r), city=r.city, state=r.state, languages=languages,
        family_unit_max_household=r.family_max or 0, children_max_age=r.children_max_age,
        wheelchair_accessible=r.accessible, pets_allowed=r.pets,
        # The registry records no medical support yet, so a medical need matches nowhere and
        # is reported as such rather than silently ignored.
        medical_support=False,
        requires_photo_id=r.requires_photo_id, requires_referral=r.requires_referral,
        requires_sobriety=r.requires_sobriety,
        trafficking_specialisation=str(r.specialisation),
        intake_open_now=facts.open_now(r), count_age_minutes=facts.age(r),
        confidential=r.confidential_location,
        location_uncertainty_m=CELL_UNCERTAINTY_M if r.confidential_location else 0)


def load_snapshot(session: Session, *, now: datetime | None = None,
                  box: BoundingBox | None = None,
                  near: tuple[float, float, int] | None = None) -> Snapshot:
    """Shelters (inside `box`, or all) as `ShelterOption` values, with capacity read now.

    With `near` = (lat, lon, metres), shelters clearly beyond that reach are left out too;
    `total` still counts them, so callers can report them as out of reach.
    """
    now = now or utcnow()
    rows = _rows(session, now, box)
    languages = _languages(session, box)
    facts = _Facts(now)
    options, meta = [], {}
    for r in rows:
        if near is not None and haversine_m(near[0], near[1], r.lat, r.lon) > (
                near[2] + BOX_MARGIN_M):
            continue
        options.append(_option(r, frozenset(languages.get(r.id, ())), facts))
        meta[r.id] = facts.meta(r)
    total = len(rows) if box is None and near is None else total_shelters(session)
    return Snapshot(tuple(options), meta, total, now)


def box_for(households: Sequence[Household]) -> BoundingBox | None:
    """The SQL box around every household's reach (None when there is no household)."""
    boxes = [bounding_box(h.lat, h.lon, h.max_travel_km * 1000 + BOX_MARGIN_M)
             for h in households]
    if not boxes:
        return None
    return BoundingBox(min(b.min_lat for b in boxes), max(b.max_lat for b in boxes),
                       min(b.min_lon for b in boxes), max(b.max_lon for b in boxes))
