"""Published statistics: dimensions, measures and the shape of a suppressed table (API models).

Nothing here is stored: statistics are computed from the domain tables on request. A
`StatsPublic` holds, for each measure, the suppressed two-way table (rows: the first
`group_by` dimension; columns: the combinations of the others) with its row totals, column
totals and grand total, or a one-way table with its total. Every figure is either a count or
a mark: "<3" (1 or 2) or "x" (hidden so that no "<3" can be worked out).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from pydantic import BaseModel

Shown = int | str


class Dimension(StrEnum):
    MONTH = "month"
    STATE = "state"
    TRAFFICKING_TYPE = "trafficking_type"
    VENUE = "venue"


class Measure(StrEnum):
    CONTACTS = "contacts"  # tips received plus cases opened
    CASES = "cases"  # cases opened
    SURVIVORS_SERVED = "survivors_served"  # cases with a placement or a trip home that month
    TIPS = "tips"  # tips received
    TIPS_ROUTED = "tips_routed"  # tips first sent to law enforcement
    PLACEMENTS = "placements"  # confirmed bed holds
    TRIPS_HOME = "trips_home"  # travel plans that arrived
    UNMET_NEED = "unmet_need"  # searches and holds that found no bed


UNKNOWN = "unknown"  # a source without the dimension (cases have no venue) or a blank value
ALL = "all"  # the total over a dimension, in CSV rows


class MeasureTable(BaseModel):
    cells: list[list[Shown]]  # rows x columns; a one-way table has one column
    row_totals: list[Shown] | None  # None for a one-way table (each row is its own total)
    column_totals: list[Shown] | None
    total: Shown


class StatsPublic(BaseModel):
    group_by: list[Dimension]
    date_from: date
    date_to: date  # inclusive
    rows: list[str]  # values of group_by[0]
    columns: list[list[str]] | None  # combinations of group_by[1:], None for one dimension
    measures: dict[Measure, MeasureTable]
    notes: list[str]
    # Measures whose cells count a multi-state tip in each state it touches (only when state
    # is grouped by); their totals over states still count each tip once.
    counted_in_each_state: list[Measure]
