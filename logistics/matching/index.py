"""One household on a live call: the registry within its reach as a ready solver index.

`load_index` reads two flat queries (the shelters in the household's bounding box with only
the columns the eligibility rules need, the six yes/no attributes packed into one integer and
the household's languages as EXISTS columns; and their bed-inventory rows with beds free now),
keeps the shelters within the travel limit, and fills the solver's column view
(`ShelterArrays`) with numpy, column by column. A safe house is indexed at its public cell point
with the cell's uncertainty; its sealed exact point is never read (see
`logistics.shelters.visibility`).
No per-shelter Python object is made: `ShelterIndex.shelters` is a lazy sequence that builds a
`ShelterOption` only for the rows the ranking returns, and names, staleness limits and hold
limits are read for those rows alone.
It ranks exactly as `ShelterIndex(load_snapshot(...).options)` (`tests/api/test_matching_index.py`
holds the two together), at a fraction of the cost: this is what keeps `POST /v1/matches` fast
in dense regions (2,500 shelters within 800 km of New York).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Integer, String, Text, exists, func, select, type_coerce
from sqlalchemy import cast as sql_cast
from sqlmodel import Session, col

from core.clock import utcnow
from logistics.beds import inventory as bed_service
from logistics.matching.snapshot import (
    BOX_MARGIN_M,
    UNLIMITED_UNIT,
    ShelterMeta,
    box_for,
    total_shelters,
)
from logistics.shelters.models import BedInventory, Shelter, ShelterLanguage
from logistics.shelters.schedule import is_open
from logistics.shelters.visibility import CELL_UNCERTAINTY_M
from logistics.vocabulary import BedType, mask_to_populations
from solvers.geo import BoundingBox, haversine_m_many
from solvers.matching import Household, ShelterIndex, ShelterOption
from solvers.matching.eligibility import BED_COLUMN, ShelterArrays
from solvers.matching.eligibility_common import GENDER_BIT, POP_BIT, city_key
from solvers.matching.types import BED_TYPES, GENDERS

BoolArray = NDArray[np.bool_]
_ALL_GENDERS = sum(GENDER_BIT[g] for g in GENDERS)
# Bit k of the packed `flags` column is the k-th of these shelter attributes.
_FLAGS = ("confidential_location", "accessible", "pets", "requires_photo_id",
          "requires_referral", "requires_sobriety")
_ID, _LAT, _LON, _CITY, _STATE, _TZ, _MASK, _SPEC, _CHILDREN, _HOURS, _FLAG_BITS = range(11)


def _boxed(stmt: Any, box: BoundingBox | None) -> Any:
    if box is None:
        return stmt
    return stmt.where(col(Shelter.lat).between(box.min_lat, box.max_lat),
                      col(Shelter.lon).between(box.min_lon, box.max_lon))


def _shelter_rows(session: Session, box: BoundingBox | None,
                  languages: Sequence[str]) -> list[Any]:
    """Shelter columns as plain DB-API tuples (the binds are floats and text, no types).

    Skipping the result layer saves a third of the read for 2,500 rows.
    """
    parts = [sql_cast(getattr(Shelter, name), Integer) * (1 << k)
             for k, name in enumerate(_FLAGS)]
    flags = parts[0]
    for part in parts[1:]:
        flags = flags + part
    speaks = [exists().where(col(ShelterLanguage.shelter_id) == col(Shelter.id),
                             func.lower(col(ShelterLanguage.language)) == key)
              for key in languages]
    stmt = select(col(Shelter.id), col(Shelter.lat), col(Shelter.lon), col(Shelter.city),
                  col(Shelter.state), col(Shelter.timezone), col(Shelter.populations_mask),
                  col(Shelter.specialisation), col(Shelter.children_max_age),
                  # The schedule as JSON text, so that equal schedules are parsed once.
                  sql_cast(col(Shelter.intake_hours), Text), flags, *speaks)
    conn = session.connection()
    compiled = _boxed(stmt, box).compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positiontup is not None:
        params = [params[name] for name in compiled.positiontup]
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _bed_rows(session: Session, now: datetime, box: BoundingBox | None) -> list[Any]:
    inv = BedInventory
    # The raw stored timestamp: converting 2,700 of them through the column type costs more
    # than the rest of the query; `_when` reads either form.
    stmt = (select(col(inv.shelter_id), col(inv.bed_type), col(inv.max_household),
                   type_coerce(col(inv.updated_at), String),
                   bed_service.available_expression(now))
            .join(Shelter, col(Shelter.id) == col(inv.shelter_id)))
    return list(session.connection().execute(_boxed(stmt, box)).all())


def _when(value: datetime | str) -> datetime:
    # SQLite stores UTC as naive ISO text; PostgreSQL's driver answers aware datetimes.
    when = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@dataclass
class _Columns:
    """The kept shelters, in index order (ids sorted as strings, as ShelterIndex sorts)."""

    rows: list[Any]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    capacity: NDArray[np.int64]
    present: BoolArray
    family_max: NDArray[np.int64]
    age: NDArray[np.int64]
    open_now: BoolArray
    languages: dict[str, BoolArray]
    uncertainty: NDArray[np.int64]
    made: dict[int, ShelterOption] = field(default_factory=dict)

    def option(self, i: int) -> ShelterOption:
        if i not in self.made:
            r = self.rows[i]
            bits = int(r[_FLAG_BITS])
            flag = {name: bool(bits >> k & 1) for k, name in enumerate(_FLAGS)}
            self.made[i] = ShelterOption(
                shelter_id=str(r[_ID]), lat=float(self.lat[i]), lon=float(self.lon[i]),
                populations=frozenset(p.value for p in mask_to_populations(r[_MASK])),
                available={b: int(self.capacity[i, BED_COLUMN[b]]) for b in BED_TYPES
                           if self.present[i, BED_COLUMN[b]]},
                city=r[_CITY], state=r[_STATE],
                languages=frozenset(k for k, v in self.languages.items() if v[i]),
                family_unit_max_household=int(self.family_max[i]),
                children_max_age=r[_CHILDREN], wheelchair_accessible=flag["accessible"],
                pets_allowed=flag["pets"], medical_support=False,
                requires_photo_id=flag["requires_photo_id"],
                requires_referral=flag["requires_referral"],
                requires_sobriety=flag["requires_sobriety"],
                trafficking_specialisation=str(r[_SPEC]),
                intake_open_now=bool(self.open_now[i]), count_age_minutes=int(self.age[i]),
                confidential=flag["confidential_location"],
                location_uncertainty_m=int(self.uncertainty[i]))
        return self.made[i]


class _LazyOptions(Sequence[ShelterOption]):
    """`ShelterIndex.shelters` made on demand: ranking reads only the rows it returns."""

    def __init__(self, columns: _Columns) -> None:
        self._c = columns

    def __len__(self) -> int:
        return len(self._c.rows)

    def __getitem__(self, i: Any) -> Any:
        rows = range(len(self._c.rows))
        if isinstance(i, slice):
            return [self._c.option(k) for k in rows[i]]
        return self._c.option(rows[i])

    def __iter__(self) -> Iterator[ShelterOption]:
        return (self._c.option(k) for k in range(len(self._c.rows)))


@dataclass(frozen=True)
class IndexedSnapshot:
    """The shelters within one household's reach as a ready `ShelterIndex`.

    `loaded` shelters are in the index; `total - loaded` were out of reach (never built).
    """

    index: ShelterIndex
    loaded: int
    total: int
    at: datetime
    _columns: _Columns

    def option(self, shelter_id: int) -> ShelterOption:
        return self._columns.option(self.index.row[str(shelter_id)])

    def meta(self, session: Session, shelter_ids: Sequence[int]) -> dict[int, ShelterMeta]:
        """What a response shows about these shelters (read for them alone)."""
        if not shelter_ids:
            return {}
        found = session.connection().execute(
            select(col(Shelter.id), col(Shelter.name), col(Shelter.stale_after_hours),
                   col(Shelter.max_hold_minutes)).where(col(Shelter.id).in_(shelter_ids)))
        out = {}
        for sid, name, stale_after_hours, max_hold_minutes in found:
            s = self.option(sid)
            out[sid] = ShelterMeta(name, s.city, s.state, s.confidential,
                                   s.count_age_minutes > stale_after_hours * 60,
                                   max_hold_minutes)
        return out


def _beds(rows: list[Any], beds: list[Any], now: datetime) -> tuple[NDArray[np.int64], ...]:
    """Free beds per bed type, which types exist, the family unit size and the count age."""
    n = len(rows)
    where = {r[_ID]: i for i, r in enumerate(rows)}
    capacity = np.zeros((n, len(BED_TYPES)), dtype=np.int64)
    present = np.zeros((n, len(BED_TYPES)), dtype=np.int64)
    family = np.zeros(n, dtype=np.int64)
    age = np.zeros(n, dtype=np.int64)
    mine = [b for b in beds if b[0] in where]
    if not mine:
        return capacity, present, family, age
    sids, types, sizes, stamps, free = zip(*mine, strict=True)
    i = np.array([where[sid] for sid in sids], dtype=np.int64)
    c = np.array([BED_COLUMN[t] for t in types], dtype=np.int64)
    np.add.at(capacity, (i, c), np.array(free, dtype=np.int64))
    present[i, c] = 1
    unit = c == BED_COLUMN[BedType.FAMILY_UNIT.value]
    unit_size = np.array([UNLIMITED_UNIT if x is None else x for x in sizes], dtype=np.int64)
    np.maximum.at(family, i[unit], unit_size[unit])
    # Stored timestamps of one backend all have one type and, on SQLite, one fixed-width text
    # form, so the oldest per shelter is found without converting every one.
    oldest: dict[int, Any] = {}
    for k, stamp in zip(i.tolist(), stamps, strict=True):
        if k not in oldest or stamp < oldest[k]:
            oldest[k] = stamp
    for k, stamp in oldest.items():
        age[k] = max(0, int((now - _when(stamp)).total_seconds() // 60))
    return np.maximum(capacity, 0), present, family, age


def load_index(session: Session, *, household: Household,
               now: datetime | None = None) -> IndexedSnapshot:
    """The registry within `household`'s reach, indexed for `rank_for_household`.

    Its language columns cover the household's languages only (the only ones ranking reads),
    and so do the `languages` of the options it makes.
    """
    now = now or utcnow()
    box = box_for([household])
    keys = sorted({lang.casefold() for lang in household.languages})
    rows = _shelter_rows(session, box, keys)
    lat = np.array([r[_LAT] for r in rows], dtype=np.float64)
    lon = np.array([r[_LON] for r in rows], dtype=np.float64)
    reach = household.max_travel_km * 1000 + BOX_MARGIN_M
    keep = np.flatnonzero(haversine_m_many(household.lat, household.lon, lat, lon) <= reach)
    order = sorted(keep.tolist(), key=lambda i: str(rows[i][_ID]))
    kept = [rows[i] for i in order]
    lat, lon = lat[order], lon[order]
    confidential = np.array([r[_FLAG_BITS] & 1 for r in kept], dtype=np.int64)
    capacity, present, family, age = _beds(kept, _bed_rows(session, now, box), now)
    said = np.array([r[_FLAG_BITS + 1:] for r in kept], dtype=np.bool_).reshape(
        len(kept), len(keys))
    open_now: dict[tuple[str | None, str], bool] = {}
    for r in kept:
        if (r[_HOURS], r[_TZ]) not in open_now:
            hours = None if r[_HOURS] is None else json.loads(r[_HOURS])
            open_now[(r[_HOURS], r[_TZ])] = is_open(hours, r[_TZ], now)
    columns = _Columns(
        rows=kept, lat=lat, lon=lon, capacity=capacity, present=present.astype(np.bool_),
        family_max=family, age=age,
        open_now=np.array([open_now[(r[_HOURS], r[_TZ])] for r in kept], dtype=np.bool_),
        languages={key: said[:, k] for k, key in enumerate(keys) if said[:, k].any()},
        uncertainty=confidential * CELL_UNCERTAINTY_M)
    index = ShelterIndex.__new__(ShelterIndex)
    # The solver's constructor takes ShelterOption objects; this fills the same attributes
    # from columns. `shelters` is lazy: ranking touches only the rows it returns.
    index.shelters = cast("tuple[ShelterOption, ...]", _LazyOptions(columns))
    index.arr = _column_view(columns)
    index.row = {str(r[_ID]): i for i, r in enumerate(kept)}
    return IndexedSnapshot(index=index, loaded=len(kept), total=total_shelters(session),
                           at=now, _columns=columns)


def _column_view(c: _Columns) -> ShelterArrays:
    """`ShelterArrays.build` of the same shelters, filled column by column."""
    n = len(c.rows)
    cols: list[tuple[Any, ...]] = (list(zip(*c.rows, strict=True)) if c.rows
                                   else [() for _ in range(_FLAG_BITS + 1)])
    masks = cols[_MASK]
    pop_bits = {m: sum(POP_BIT[p.value] for p in mask_to_populations(m)) for m in set(masks)}
    bits = np.array(cols[_FLAG_BITS], dtype=np.int64)
    cities, states = cols[_CITY], cols[_STATE]

    def flag(name: str) -> BoolArray:
        out: BoolArray = (bits >> _FLAGS.index(name) & 1).astype(np.bool_)
        return out

    return ShelterArrays(
        shelters=np.empty(n, dtype=np.object_),  # the index's lazy `shelters` serves these
        ids=np.array([str(i) for i in cols[_ID]], dtype=np.str_),
        lat=c.lat, lon=c.lon,
        state=np.array([x.strip().upper() for x in states], dtype=np.str_),
        city_name=np.array([x.strip().casefold() for x in cities], dtype=np.str_),
        city_key=np.array([city_key(x, y) for x, y in zip(cities, states, strict=True)],
                          dtype=np.str_),
        pop_bits=np.array([pop_bits[m] for m in masks], dtype=np.int64),
        gender_bits=np.full(n, _ALL_GENDERS, dtype=np.int64),
        children_max_age=np.array([-1 if a is None else a for a in cols[_CHILDREN]],
                                  dtype=np.int64),
        family_max=c.family_max, capacity=c.capacity,
        flags={"intake_open_now": c.open_now,
               "wheelchair_accessible": flag("accessible"), "pets_allowed": flag("pets"),
               "medical_support": np.zeros(n, dtype=np.bool_),
               "requires_photo_id": flag("requires_photo_id"),
               "requires_referral": flag("requires_referral"),
               "requires_sobriety": flag("requires_sobriety")},
        count_age=c.age,
        specialisation=np.array([str(x) for x in cols[_SPEC]], dtype=np.str_),
        languages=c.languages, uncertainty_m=c.uncertainty)
