"""Fixed periods and the release built for each: the tables, and how they are kept safe (pure).

Statistics are published as releases of closed calendar periods (`2026-03`, `2026-Q1`,
`2026`), each with the same fixed tables for every measure: by state and trafficking type,
their margins (by state, by type), by month within the period, and the total. Nothing else
is published, so no reader can ask for a window or a grouping that differences two tables.

A month is the unit of suppression. Its tables for one measure are one two-way table (state
x type) with its margins, suppressed by `network.stats.suppression` (primary and
complementary, with the cycle test); the month's total is that table's grand total. Months
hold disjoint records, so they are independent systems.

A quarter or a year is *derived* from its stored months, never counted again: each of its
figures is the sum of the same figure in every month (the cell, the state, the type, the
total), published when all of those are published and hidden ("x") otherwise. A published
derived figure is a sum of published figures and says nothing new; a hidden one promises
nothing, and whether it is hidden depends only on the months' marks, which are public. A
sum of hidden month figures is never determined, because each is undetermined in its own
independent month. So every hidden figure of every month stays hidden against everything any
release publishes, and a later release can never contradict an earlier one (it reads it).

`contacts` is tips plus cases figure by figure, so it is derived the same way (published
only where both are): otherwise a published contacts figure minus published cases would
recover a hidden tip count.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from network.stats.models import (
    Measure,
    ReleaseTable,
    Shown,
)
from network.stats.suppression import COMPLEMENT_MARK


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
FIRST_YEAR = 2000


@dataclass(frozen=True)
class Period:
    """A calendar period: its label, kind, first and last day (inclusive) and months."""

    label: str
    kind: PeriodKind
    first: date
    last: date

    @property
    def months(self) -> list[str]:
        out, year, month = [], self.first.year, self.first.month
        while (year, month) <= (self.last.year, self.last.month):
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def closed(self, today: date) -> bool:
        """Only a period that has ended is released (its figures can no longer grow)."""
        return self.last < today


def _month_end(year: int, month: int) -> date:
    nxt = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return nxt - timedelta(days=1)


def parse_period(text: str) -> Period | None:
    """`2026-03`, `2026-Q1` or `2026`; None for anything else."""
    if found := _MONTH.match(text):
        year, month = int(found[1]), int(found[2])
        kind, first, last = PeriodKind.MONTH, date(year, month, 1), _month_end(year, month)
    elif found := _QUARTER.match(text):
        year, quarter = int(found[1]), int(found[2])
        kind = PeriodKind.QUARTER
        first, last = date(year, 3 * quarter - 2, 1), _month_end(year, 3 * quarter)
    elif found := _YEAR.match(text):
        year = int(found[1])
        kind, first, last = PeriodKind.YEAR, date(year, 1, 1), date(year, 12, 31)
    else:
        return None
    if year < FIRST_YEAR:
        return None
    return Period(label=text, kind=kind, first=first, last=last)


def _sum(figures: Sequence[Shown]) -> Shown:
    """Published when every part is; otherwise hidden, promising nothing."""
    total = 0
    for figure in figures:
        if not isinstance(figure, int):
            return COMPLEMENT_MARK
        total += figure
    return total


def _lookup(table: ReleaseTable, states: list[str], types: list[str]
            ) -> tuple[Callable[[str, str], Shown], Callable[[str], Shown],
                       Callable[[str], Shown]]:
    """Figures of a table by name; a state or type the table does not list is a published 0."""
    s_at = {s: i for i, s in enumerate(states)}
    t_at = {t: j for j, t in enumerate(types)}

    def cell(state: str, kind: str) -> Shown:
        i, j = s_at.get(state), t_at.get(kind)
        return 0 if i is None or j is None else table.cells[i][j]

    def by_state(state: str) -> Shown:
        i = s_at.get(state)
        return 0 if i is None else table.by_state[i]

    def by_type(kind: str) -> Shown:
        j = t_at.get(kind)
        return 0 if j is None else table.by_type[j]

    return cell, by_state, by_type


@dataclass(frozen=True)
class MonthTables:
    """One stored month: its axes and, per measure, its suppressed table."""

    month: str
    states: list[str]
    types: list[str]
    measures: Mapping[Measure, ReleaseTable]


def combine(parts: Sequence[MonthTables], measures: Sequence[Measure]
            ) -> tuple[list[str], list[str], dict[Measure, ReleaseTable]]:
    """The tables of a longer period from its months' published tables: (states, types,
    tables), every figure the sum of the months' (see the module docstring)."""
    states = sorted({s for p in parts for s in p.states})
    types = sorted({t for p in parts for t in p.types})
    tables: dict[Measure, ReleaseTable] = {}
    for measure in measures:
        looks = [_lookup(p.measures[measure], p.states, p.types) for p in parts]
        tables[measure] = ReleaseTable(
            cells=[[_sum([c(s, t) for c, _, _ in looks]) for t in types] for s in states],
            by_state=[_sum([b(s) for _, b, _ in looks]) for s in states],
            by_type=[_sum([b(t) for _, _, b in looks]) for t in types],
            by_month=[f for p in parts for f in p.measures[measure].by_month],
            total=_sum([p.measures[measure].total for p in parts]))
    return states, types, tables


def add(left: ReleaseTable, right: ReleaseTable) -> ReleaseTable:
    """Figure by figure sum of two tables on the same axes (contacts = tips + cases)."""
    return ReleaseTable(
        cells=[[_sum([a, b]) for a, b in zip(ra, rb, strict=True)]
               for ra, rb in zip(left.cells, right.cells, strict=True)],
        by_state=[_sum([a, b]) for a, b in zip(left.by_state, right.by_state, strict=True)],
        by_type=[_sum([a, b]) for a, b in zip(left.by_type, right.by_type, strict=True)],
        by_month=[_sum([a, b]) for a, b in zip(left.by_month, right.by_month, strict=True)],
        total=_sum([left.total, right.total]))
