"""The registry read as matcher input: one fresh snapshot per request, nothing cached.

For each shelter: the beds available per bed type net of active, unexpired holds (and open
surge windows), the age of its oldest count, whether intake is open now, its languages,
populations, requirements and, for a confidential safe house, its exact point opened from the
sealed column (used only for distances and exclusion zones, never returned). Two readers share
one aggregated SQL query. `load_snapshot` builds `solvers.matching.ShelterOption` values (a
batch ships them to a worker process; the validator reads them). `load_index` serves one
household on a live call: it keeps only the shelters within its reach, decrypts only the safe
houses among those, and fills the solver's column view (`ShelterArrays`) straight from the rows
with numpy, so no per-shelter Python object is made except for the few options returned.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Text, exists, func, select
from sqlalchemy import case as sql_case
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col

from core.clock import utcnow
from core.crypto import FieldCipher
from logistics import bed_service
from logistics.models import BedInventory, Shelter, ShelterLanguage
from logistics.schedule import is_open
from logistics.service import LOCATION_FIELD
from logistics.vocabulary import BedType, mask_to_populations
from solvers.eligibility import BED_COLUMN, ShelterArrays
from solvers.eligibility_common import GENDER_BIT, POP_BIT, city_key
from solvers.geo import BoundingBox, bounding_box, haversine_m, haversine_m_many
from solvers.matching import Household, ShelterIndex, ShelterOption
from solvers.matching_types import BED_TYPES, GENDERS

# Confidential shelters are filtered on their coarse grid point (within ~4 km of the house), so
# the SQL box and the reach test are widened by this much to never miss one.
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
    "id", "name", "lat", "lon", "location_sealed", "city", "state", "timezone",
    "confidential_location", "populations_mask", "specialisation", "accessible", "pets",
    "children_max_age", "requires_photo_id", "requires_referral", "requires_sobriety",
    "stale_after_hours", "max_hold_minutes")
_N_TYPES = len(BedType)
_FIRST_BED = len(_SHELTER_COLUMNS)
_NAMES = (*_SHELTER_COLUMNS, *(b.value for b in BedType), "family_max", "counted_at",
          "intake_hours")


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


# The shape `_rows` answers (attribute access by name, as on SQLAlchemy rows).
_Row: Any = cast(Any, namedtuple)("_Row", _NAMES)


def _flat_rows(session: Session, now: datetime, box: BoundingBox | None,
               languages: Sequence[str]) -> tuple[list[Any], list[tuple[bool, ...]]]:
    """What `_rows` answers, from two flat queries merged here, and who speaks `languages`.

    The GROUP BY over the joined tables costs SQLite about three times as much as reading the
    same rows flat (23 ms against 8 ms for the 2,500 shelters around New York); languages come
    as EXISTS columns (a primary-key probe each) rather than thousands of extra rows.
    """
    conn = session.connection()
    lang = ShelterLanguage
    speaks = [exists().where(col(lang.shelter_id) == col(Shelter.id),
                             func.lower(col(lang.language)) == key) for key in languages]
    shelters = conn.execute(_boxed(
        select(*(col(getattr(Shelter, name)) for name in _SHELTER_COLUMNS),
               sql_cast(col(Shelter.intake_hours), Text).label("intake_hours"), *speaks),
        box)).all()
    inv = BedInventory
    beds = conn.execute(_boxed(
        select(col(inv.shelter_id), col(inv.bed_type), col(inv.max_household),
               col(inv.updated_at), bed_service.available_expression(now))
        .join(Shelter, col(Shelter.id) == col(inv.shelter_id)), box)).all()
    slot = {b.value: k for k, b in enumerate(BedType)}
    unit, counted = _N_TYPES, _N_TYPES + 1
    merged: dict[int, list[Any]] = {}
    for sid, bed_type, max_household, updated_at, free in beds:
        row = merged.setdefault(sid, [None] * (_N_TYPES + 2))
        k = slot[bed_type]
        row[k] = free if row[k] is None else row[k] + free
        if bed_type == BedType.FAMILY_UNIT.value:
            size = UNLIMITED_UNIT if max_household is None else max_household
            row[unit] = size if row[unit] is None else max(row[unit], size)
        if row[counted] is None or updated_at < row[counted]:
            row[counted] = updated_at
    empty = [None] * (_N_TYPES + 2)
    first_lang = _FIRST_BED + 1
    return ([_Row(*r[:_FIRST_BED], *merged.get(r[0], empty), r[_FIRST_BED])
             for r in shelters],
            [tuple(bool(x) for x in r[first_lang:]) for r in shelters])


def _languages(session: Session, box: BoundingBox | None) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    stmt = (select(col(ShelterLanguage.shelter_id), col(ShelterLanguage.language))
            .join(Shelter, col(Shelter.id) == col(ShelterLanguage.shelter_id)))
    for sid, language in session.connection().execute(_boxed(stmt, box)).all():
        found.setdefault(sid, set()).add(language)
    return found


def _total(session: Session) -> int:
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


def _exact_point(cipher: FieldCipher, r: Any) -> tuple[float, float]:
    if r.confidential_location and r.location_sealed is not None:
        exact = cipher.open(r.location_sealed, field=LOCATION_FIELD)
        lat, lon = (float(part) for part in exact.split(","))
        return lat, lon
    return float(r.lat), float(r.lon)


def _option(r: Any, lat: float, lon: float, languages: frozenset[str],
            facts: _Facts) -> ShelterOption:
    return ShelterOption(
        shelter_id=str(r.id), lat=lat, lon=lon,
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
        confidential=r.confidential_location)


def load_snapshot(session: Session, *, cipher: FieldCipher, now: datetime | None = None,
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
        lat, lon = _exact_point(cipher, r)
        options.append(_option(r, lat, lon, frozenset(languages.get(r.id, ())), facts))
        meta[r.id] = facts.meta(r)
    total = len(rows) if box is None and near is None else _total(session)
    return Snapshot(tuple(options), meta, total, now)


def box_for(households: Sequence[Household]) -> BoundingBox | None:
    """The SQL box around every household's reach (None when there is no household)."""
    boxes = [bounding_box(h.lat, h.lon, h.max_travel_km * 1000 + BOX_MARGIN_M)
             for h in households]
    if not boxes:
        return None
    return BoundingBox(min(b.min_lat for b in boxes), max(b.max_lat for b in boxes),
                       min(b.min_lon for b in boxes), max(b.max_lon for b in boxes))


# ---- one household: the column view straight from the rows --------------------------------


class _LazyOptions(Sequence[ShelterOption]):
    """`ShelterIndex.shelters` made on demand: ranking reads only the rows it returns."""

    def __init__(self, rows: list[Any], points: list[tuple[float, float]],
                 languages: list[frozenset[str]], facts: _Facts) -> None:
        self._rows, self._points, self._languages, self._facts = rows, points, languages, facts
        self._made: dict[int, ShelterOption] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def _make(self, i: int) -> ShelterOption:
        if i not in self._made:
            lat, lon = self._points[i]
            self._made[i] = _option(self._rows[i], lat, lon, self._languages[i], self._facts)
        return self._made[i]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [self._make(k) for k in range(len(self._rows))[i]]
        return self._make(range(len(self._rows))[i])

    def __iter__(self) -> Iterator[ShelterOption]:
        return (self._make(k) for k in range(len(self._rows)))


@dataclass(frozen=True)
class IndexedSnapshot:
    """The shelters within one household's reach as a ready `ShelterIndex`.

    `loaded` shelters are in the index; `total - loaded` were out of reach (never built).
    """

    index: ShelterIndex
    loaded: int
    total: int
    at: datetime
    _rows: dict[int, Any]
    _facts: _Facts

    def meta(self, shelter_id: int) -> ShelterMeta:
        return self._facts.meta(self._rows[shelter_id])

    def option(self, shelter_id: int) -> ShelterOption:
        return self.index.shelters[self.index.row[str(shelter_id)]]


BoolColumn = np.ndarray[Any, np.dtype[np.bool_]]


def _column_view(rows: list[Any], points: list[tuple[float, float]],
                 languages: dict[str, BoolColumn], facts: _Facts) -> ShelterArrays:
    """`ShelterArrays.build` of the same shelters, filled column by column."""
    n = len(rows)
    c = dict(zip(_NAMES, zip(*rows, strict=True), strict=True)) if rows else {
        name: () for name in _NAMES}
    pop_bits = {m: sum(POP_BIT[p.value] for p in mask_to_populations(m))
                for m in set(c["populations_mask"])}
    capacity = np.zeros((n, len(BED_TYPES)), dtype=np.int64)
    for b in BedType:
        free = np.array([0 if k is None else k for k in c[b.value]], dtype=np.int64)
        capacity[:, BED_COLUMN[b.value]] = np.maximum(free, 0)
    states, cities = c["state"], c["city"]

    def flag(name: str) -> BoolColumn:
        return np.array(c[name], dtype=np.bool_)

    return ShelterArrays(
        shelters=np.empty(n, dtype=np.object_),  # the index's lazy `shelters` serves these
        ids=np.array([str(i) for i in c["id"]], dtype=np.str_),
        lat=np.array([p[0] for p in points], dtype=np.float64),
        lon=np.array([p[1] for p in points], dtype=np.float64),
        state=np.array([x.strip().upper() for x in states], dtype=np.str_),
        city_name=np.array([x.strip().casefold() for x in cities], dtype=np.str_),
        city_key=np.array([city_key(x, y) for x, y in zip(cities, states, strict=True)],
                          dtype=np.str_),
        pop_bits=np.array([pop_bits[m] for m in c["populations_mask"]], dtype=np.int64),
        gender_bits=np.full(n, _ALL_GENDERS, dtype=np.int64),
        children_max_age=np.array([-1 if a is None else a for a in c["children_max_age"]],
                                  dtype=np.int64),
        family_max=np.array([m or 0 for m in c["family_max"]], dtype=np.int64),
        capacity=capacity,
        flags={"intake_open_now": np.array([facts.open_now(r) for r in rows], dtype=np.bool_),
               "wheelchair_accessible": flag("accessible"), "pets_allowed": flag("pets"),
               "medical_support": np.zeros(n, dtype=np.bool_),
               "requires_photo_id": flag("requires_photo_id"),
               "requires_referral": flag("requires_referral"),
               "requires_sobriety": flag("requires_sobriety")},
        count_age=np.array([facts.age(r) for r in rows], dtype=np.int64),
        specialisation=np.array([str(x) for x in c["specialisation"]], dtype=np.str_),
        languages=languages)


def load_index(session: Session, *, cipher: FieldCipher, household: Household,
               now: datetime | None = None) -> IndexedSnapshot:
    """The registry within `household`'s reach, indexed for `rank_for_household`.

    Ranks exactly as `ShelterIndex(load_snapshot(..., near=reach).options)` does (a test
    holds them together), but is made from columns: a dense region's 2,500 shelters cost a
    few milliseconds instead of tens. Its language columns cover the household's languages
    only, and so do the `languages` of the options it makes.
    """
    now = now or utcnow()
    box = box_for([household])
    keys = sorted({lang.casefold() for lang in household.languages})
    rows, speaks = _flat_rows(session, now, box, keys)
    lat = np.array([r[2] for r in rows], dtype=np.float64)
    lon = np.array([r[3] for r in rows], dtype=np.float64)
    # The reach test on the coarse (public) points first: only safe houses that may be in
    # reach have their exact point decrypted.
    reach = household.max_travel_km * 1000 + BOX_MARGIN_M
    keep = np.flatnonzero(haversine_m_many(household.lat, household.lon, lat, lon) <= reach)
    # Row order = ShelterIndex order (ids sorted as strings): equal ties rank the same.
    order = sorted(keep.tolist(), key=lambda i: str(rows[i][0]))
    kept = [rows[i] for i in order]
    points = [_exact_point(cipher, r) for r in kept]
    ids = [r[0] for r in kept]
    said = np.array([speaks[i] for i in order], dtype=np.bool_).reshape(len(order), len(keys))
    languages = {key: said[:, k] for k, key in enumerate(keys) if said[:, k].any()}
    per_row = [frozenset(key for k, key in enumerate(keys) if said[i, k])
               for i in range(len(order))]
    facts = _Facts(now)
    index = ShelterIndex.__new__(ShelterIndex)
    # The solver's constructor takes ShelterOption objects; this fills the same attributes
    # from columns. `shelters` is lazy: ranking touches only the rows it returns.
    index.shelters = cast("tuple[ShelterOption, ...]",
                          _LazyOptions(kept, points, per_row, facts))
    index.arr = _column_view(kept, points, languages, facts)
    index.row = {str(sid): i for i, sid in enumerate(ids)}
    return IndexedSnapshot(index=index, loaded=len(kept), total=_total(session), at=now,
                           _rows=dict(zip(ids, kept, strict=True)), _facts=facts)
