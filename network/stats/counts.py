"""Counting for published statistics: the domain tables by month, state, type and venue.

Each measure is one SQL aggregate grouped by (month, state, trafficking type, venue), so no
row about a person ever reaches Python; survivors served needs distinct cases across two
sources, so it groups by case first and counts in Python. A dimension a source lacks reads
"unknown" (cases, placements and trips have no venue; unmet need has no trafficking type).
Month is the event's UTC month. A tip is counted once, keyed by all the states it touches
("OK+TX", aggregated in SQL); a release puts such a tip in one row, `multiple`
(`month_tables`), so every table is a partition of the tips.

Then `network.stats.suppression` makes every measure's table safe (see there and
docs/tips_and_stats.md), and only suppressed figures leave this module (`month_tables`, the
unit of a release, see `network.stats.releases`), never raw counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import and_, func, literal, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col

from logistics.beds.models import BedHold, HoldStatus, UnmetNeed
from logistics.cases.models import Case
from logistics.shelters.models import Shelter
from logistics.travel.plan_models import PlanStatus, TravelPlan
from network.stats import releases, suppression
from network.stats.models import (
    UNKNOWN,
    Dimension,
    Measure,
    MeasureTable,
    ReleaseTable,
)
from network.tips.models import Tip, TipState

Key = tuple[str, str, str, str]  # month, state(s), trafficking type, venue
STATE_JOIN = "+"  # a multi-state tip's key holds all its states: "OK+TX"
MULTIPLE = "multiple"  # the release row of tips that touch several states
NOTES = [
    "'<3' is a count of 1 or 2; 'x' is hidden so that no '<3' can be worked out from the "
    "totals and the other figures; 0 is published.",
    "contacts = tips received + cases opened; survivors_served counts cases (households) with "
    "a placement or a trip home in the month.",
]


def _month(session: Session, column: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _window(column: Any, start: datetime, end: datetime) -> ColumnElement[bool]:
    return and_(column >= start, column < end)


def _rows(session: Session, stmt: Any) -> Counter[Key]:
    out: Counter[Key] = Counter()
    for month, state, kind, venue, count in session.execute(stmt).all():
        # Aggregated state lists come in whatever order the database kept: sort them.
        states = STATE_JOIN.join(sorted(state.split(STATE_JOIN))) if state else UNKNOWN
        out[(month, states, kind or UNKNOWN, venue or UNKNOWN)] += int(count)
    return out


def _grouped(session: Session, month: Any, state: Any, kind: Any, venue: Any) -> Any:
    return select(month, state, kind, venue, func.count()).group_by(month, state, kind, venue)


def _states_of_tip(session: Session) -> Any:
    """tip id -> its states joined by "+" (in no set order; `_rows` sorts them)."""
    if session.get_bind().dialect.name == "postgresql":
        joined = func.string_agg(col(TipState.state), literal(STATE_JOIN))
    else:
        joined = func.group_concat(col(TipState.state), literal(STATE_JOIN))
    return (select(col(TipState.tip_id).label("tip_id"), joined.label("states"))
            .group_by(col(TipState.tip_id)).subquery())


def count_tips(session: Session, start: datetime, end: datetime, *, routed: bool) -> Counter[Key]:
    """Each tip once, keyed by the set of states it touches ("OK+TX"): `_table` counts it in
    each of them in a by-state table and once everywhere else."""
    at = col(Tip.routed_at) if routed else col(Tip.received_at)
    month = _month(session, at)
    states = _states_of_tip(session)
    stmt = (_grouped(session, month, states.c.states, col(Tip.trafficking_type),
                     col(Tip.venue))
            .join_from(Tip, states, states.c.tip_id == col(Tip.id))
            .where(_window(at, start, end)))
    return _rows(session, stmt)


def count_cases(session: Session, start: datetime, end: datetime) -> Counter[Key]:
    month = _month(session, col(Case.created_at))
    stmt = (_grouped(session, month, col(Case.state), col(Case.trafficking_type),
                     literal(UNKNOWN))
            .select_from(Case).where(_window(col(Case.created_at), start, end)))
    return _rows(session, stmt)


def _placement_rows(session: Session, start: datetime, end: datetime) -> Any:
    month = _month(session, col(BedHold.closed_at))
    case_match = and_(col(Case.agency_id) == col(BedHold.agency_id),
                      col(Case.case_ref) == col(BedHold.case_ref))
    return (select(month, col(Shelter.state), col(Case.trafficking_type), col(Case.id),
                   col(BedHold.agency_id), col(BedHold.case_ref))
            .select_from(BedHold)
            .join(Shelter, col(Shelter.id) == col(BedHold.shelter_id))
            .outerjoin(Case, case_match)
            .where(col(BedHold.status) == HoldStatus.CONFIRMED.value,
                   _window(col(BedHold.closed_at), start, end)))


def count_placements(session: Session, start: datetime, end: datetime) -> Counter[Key]:
    sub = _placement_rows(session, start, end).subquery()
    cols = list(sub.c)
    stmt = select(cols[0], cols[1], cols[2], literal(UNKNOWN), func.count()).group_by(
        cols[0], cols[1], cols[2])
    return _rows(session, stmt)


def _trip_rows(session: Session, start: datetime, end: datetime) -> Any:
    month = _month(session, col(TravelPlan.arrive_at))
    return (select(month, col(Case.state), col(Case.trafficking_type), col(Case.id))
            .select_from(TravelPlan)
            .join(Case, col(Case.id) == col(TravelPlan.case_id))
            .where(col(TravelPlan.status) == PlanStatus.ARRIVED.value,
                   _window(col(TravelPlan.arrive_at), start, end)))


def count_trips(session: Session, start: datetime, end: datetime) -> Counter[Key]:
    sub = _trip_rows(session, start, end).subquery()
    cols = list(sub.c)
    stmt = select(cols[0], cols[1], cols[2], literal(UNKNOWN), func.count()).group_by(
        cols[0], cols[1], cols[2])
    return _rows(session, stmt)


def count_survivors(session: Session, start: datetime, end: datetime) -> Counter[Key]:
    """Distinct cases (households) with a placement or a trip home, per month."""
    seen: set[tuple[str, str, str, object]] = set()
    placements = _placement_rows(session, start, end).distinct()
    for month, state, kind, case_id, agency, ref in session.execute(placements).all():
        seen.add((month, state or UNKNOWN, kind or UNKNOWN,
                  case_id if case_id is not None else (agency, ref)))
    for month, state, kind, case_id in session.execute(
            _trip_rows(session, start, end).distinct()).all():
        seen.add((month, state or UNKNOWN, kind or UNKNOWN, case_id))
    return Counter((m, s, k, UNKNOWN) for m, s, k, _ in seen)


def count_unmet(session: Session, start: datetime, end: datetime) -> Counter[Key]:
    month = _month(session, col(UnmetNeed.at))
    stmt = (_grouped(session, month, col(UnmetNeed.state), literal(UNKNOWN), literal(UNKNOWN))
            .select_from(UnmetNeed).where(_window(col(UnmetNeed.at), start, end)))
    return _rows(session, stmt)


def raw_counts(session: Session, start: datetime, end: datetime) -> dict[Measure, Counter[Key]]:
    tips = count_tips(session, start, end, routed=False)
    cases = count_cases(session, start, end)
    return {
        Measure.CONTACTS: tips + cases,
        Measure.CASES: cases,
        Measure.SURVIVORS_SERVED: count_survivors(session, start, end),
        Measure.TIPS: tips,
        Measure.TIPS_ROUTED: count_tips(session, start, end, routed=True),
        Measure.PLACEMENTS: count_placements(session, start, end),
        Measure.TRIPS_HOME: count_trips(session, start, end),
        Measure.UNMET_NEED: count_unmet(session, start, end),
    }


_POSITION = {Dimension.MONTH: 0, Dimension.STATE: 1, Dimension.TRAFFICKING_TYPE: 2,
             Dimension.VENUE: 3}


def _project(counts: Counter[Key], dims: Sequence[Dimension]) -> Counter[tuple[str, ...]]:
    """Counts by the given dimensions (keys already one row per tip: `_one_row_per_tip`)."""
    out: Counter[tuple[str, ...]] = Counter()
    positions = [_POSITION[d] for d in dims]
    for key, value in counts.items():
        out[tuple([key[p] for p in positions])] += value
    return out


def _table(counts: Counter[Key], dims: Sequence[Dimension], rows: list[str],
           columns: list[tuple[str, ...]]) -> MeasureTable:
    """One measure's rows x columns table with its margins, suppressed together."""
    projected = _project(counts, dims)
    row_index = {r: i for i, r in enumerate(rows)}
    col_index = {c: j for j, c in enumerate(columns)}
    matrix = np.zeros((len(rows), len(columns)), dtype=np.int64)
    for cell, value in projected.items():
        matrix[row_index[cell[0]], col_index[cell[1:]]] += value
    layout = suppression.two_way(matrix)
    shown = suppression.display(layout.values, suppression.suppress(layout))
    n_rows, n_cols = matrix.shape
    cells = [shown[r * n_cols:(r + 1) * n_cols] for r in range(n_rows)]
    base = n_rows * n_cols
    return MeasureTable(cells=cells, row_totals=shown[base:base + n_rows],
                        column_totals=shown[base + n_rows:base + n_rows + n_cols],
                        total=shown[-1])


def _axis(dim: Dimension, counts: Iterable[Counter[Key]]) -> list[str]:
    return sorted({key[_POSITION[dim]] for c in counts for key in c})


def _one_row_per_tip(counts: Counter[Key]) -> Counter[Key]:
    """A tip in several states goes to the row `multiple`, so every tip is in one row."""
    out: Counter[Key] = Counter()
    for (month, state, kind, venue), value in counts.items():
        out[(month, MULTIPLE if STATE_JOIN in state else state, kind, venue)] += value
    return out


def month_tables(raw: dict[Measure, Counter[Key]]
                 ) -> tuple[list[str], list[str], dict[Measure, ReleaseTable]]:
    """One month's release tables: (states, types, per measure the suppressed state x type
    table with its margins). `contacts` is derived from tips and cases (`releases.add`).

    Here a tip touching several states is one count in the row `multiple`, not one in each
    state: the table is then a partition (each tip in one cell), which the suppression's
    proof needs. Counting it in each state with distinct totals let a whole-release attacker
    (tests/property/test_release_attacker.py) compute a hidden distinct total from the
    published state figures."""
    counts = {m: _one_row_per_tip(c) for m, c in raw.items()}
    dims = [Dimension.STATE, Dimension.TRAFFICKING_TYPE]
    states = _axis(Dimension.STATE, counts.values())
    types = _axis(Dimension.TRAFFICKING_TYPE, counts.values())
    columns: list[tuple[str, ...]] = [(t,) for t in types]
    tables: dict[Measure, ReleaseTable] = {}
    for measure, table_counts in counts.items():
        if measure is Measure.CONTACTS:
            continue
        table = _table(table_counts, dims, states, columns)
        tables[measure] = ReleaseTable(
            cells=table.cells, by_state=table.row_totals or [],
            by_type=table.column_totals or [], by_month=[table.total], total=table.total)
    if Measure.CONTACTS in counts:
        tables[Measure.CONTACTS] = releases.add(tables[Measure.TIPS], tables[Measure.CASES])
    return states, types, {m: tables[m] for m in counts}
