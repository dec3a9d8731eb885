"""A HUD Housing Inventory Count (HIC)-style CSV of the registry, safe to publish.

Open shelters are listed one row each. Confidential shelters are never listed: they are summed
per state into one "Confidential shelters (aggregated)" row with no name and no organization;
states with fewer than three confidential shelters are pooled into one multi-state row, and a
pooled row that still covers fewer than three shelters shows no counts at all. In every row a
count of 1 or 2 is shown as "<3" (0 stays 0: it says nothing about anyone). Pure: rows in,
text out.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from logistics.vocabulary import BedType

MIN_CELL = 3  # counts below this are suppressed; aggregates need at least this many shelters
SMALL = "<3"
SUPPRESSED = "suppressed"
POOLED_STATE = "multiple"

COLUMNS = (
    "State", "Organization Name", "Project Name", "Project Type", "Confidential", "Shelters",
    "Beds HH w/o Children", "Beds HH w/ only Children", "Units HH w/ Children",
    "Total Beds", "Occupied Beds", "Occupied Units HH w/ Children",
)
ADULT_TYPES = (BedType.ADULT_FEMALE, BedType.ADULT_MALE, BedType.ADULT_ANY)


@dataclass(frozen=True)
class HicShelter:
    """One shelter's inventory: per bed type, (total, occupied)."""

    state: str
    organization: str
    name: str
    confidential: bool
    beds: Mapping[BedType, tuple[int, int]]


@dataclass(frozen=True)
class _Counts:
    shelters: int = 0
    adult: int = 0
    youth: int = 0
    family_units: int = 0
    occupied_beds: int = 0
    occupied_units: int = 0

    def __add__(self, other: _Counts) -> _Counts:
        return _Counts(*(a + b for a, b in zip(self._values(), other._values(), strict=True)))

    def _values(self) -> tuple[int, ...]:
        return (self.shelters, self.adult, self.youth, self.family_units, self.occupied_beds,
                self.occupied_units)


def _counts(shelter: HicShelter) -> _Counts:
    def total(types: Iterable[BedType]) -> int:
        return sum(shelter.beds.get(t, (0, 0))[0] for t in types)

    def occupied(types: Iterable[BedType]) -> int:
        return sum(shelter.beds.get(t, (0, 0))[1] for t in types)

    beds = (*ADULT_TYPES, BedType.YOUTH)
    return _Counts(shelters=1, adult=total(ADULT_TYPES), youth=total([BedType.YOUTH]),
                   family_units=total([BedType.FAMILY_UNIT]), occupied_beds=occupied(beds),
                   occupied_units=occupied([BedType.FAMILY_UNIT]))


def _cell(value: int) -> str:
    return SMALL if 0 < value < MIN_CELL else str(value)


def _count_cells(counts: _Counts, *, hide: bool) -> list[str]:
    if hide:
        return [SMALL if counts.shelters < MIN_CELL else _cell(counts.shelters)] + \
            [SUPPRESSED] * 6
    return [_cell(counts.shelters), _cell(counts.adult), _cell(counts.youth),
            _cell(counts.family_units), _cell(counts.adult + counts.youth),
            _cell(counts.occupied_beds), _cell(counts.occupied_units)]


def _safe(text: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def hic_rows(shelters: Iterable[HicShelter]) -> list[list[str]]:
    """The CSV rows (without the header), open shelters listed, confidential ones summed."""
    listed: list[list[str]] = []
    by_state: dict[str, _Counts] = defaultdict(_Counts)
    for shelter in shelters:
        counts = _counts(shelter)
        if shelter.confidential:
            by_state[shelter.state] += counts
            continue
        # A listed row is one shelter by definition; only its bed counts can be small.
        listed.append([shelter.state, _safe(shelter.organization), _safe(shelter.name), "ES",
                       "no", "1", *_count_cells(counts, hide=False)[1:]])
    aggregates: list[list[str]] = []
    pooled = _Counts()
    for state, counts in sorted(by_state.items()):
        if counts.shelters < MIN_CELL:
            pooled += counts
            continue
        aggregates.append([state, "", "Confidential shelters (aggregated)", "ES", "yes",
                           *_count_cells(counts, hide=False)])
    rows = sorted(listed + aggregates, key=lambda r: (r[0], r[4], r[1], r[2]))
    if pooled.shelters:
        rows.append([POOLED_STATE, "",
                     "Confidential shelters in states with fewer than 3 (pooled)", "ES", "yes",
                     *_count_cells(pooled, hide=pooled.shelters < MIN_CELL)])
    return rows


def render_csv(shelters: Iterable[HicShelter]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(hic_rows(shelters))
    return buffer.getvalue()
