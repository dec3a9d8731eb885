"""Published statistics: dimensions, measures and the shape of a suppressed table (API models).

Releases are stored exactly as published (`StatsRelease`, `StatsNoisy`) and served unchanged;
a `StatsReleasePublic` holds, per measure, the state x type table with its margins. A
`StatsPublic` (the table shape the counting and the charts use) holds, for each measure,
the suppressed two-way table (rows: the first `group_by` dimension; columns: the
combinations of the others) with its row totals, column totals and grand total, or a
one-way table with its total. Every figure is either a count or a mark: "<3" (1 or 2) or
"x" (hidden so that no "<3" can be worked out).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field
from sqlalchemy import String, Text
from sqlmodel import Field as SQLField
from sqlmodel import SQLModel

from core.clock import utcnow
from core.types import StrictFloat, UTCDateTime

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


class ReleaseTable(BaseModel):
    """One measure in a release: state x trafficking type, its margins, months and total."""

    cells: list[list[Shown]]  # states x types
    by_state: list[Shown]
    by_type: list[Shown]
    by_month: list[Shown]  # the period's months in order
    total: Shown


class NoisyTable(BaseModel):
    """A differentially private state x type table: every figure is noisy, none hidden."""

    cells: list[list[int]]
    by_state: list[int]
    by_type: list[int]
    by_month: list[int]
    total: int


class NoisyPublic(BaseModel):
    label: str  # says plainly that the figures are noisy
    mechanism: str
    epsilon: float  # per record (a case or an unmet need), for the period
    measures: dict[Measure, NoisyTable]


class PrivacyBudget(BaseModel):
    epsilon_budget: float  # per month, the most any month's noisy tables may spend
    epsilon_spent: float  # by the noisy tables published for this period (see docs)


class StatsReleasePublic(BaseModel):
    period: str
    kind: str  # month, quarter or year
    first_day: date
    last_day: date
    months: list[str]
    states: list[str]  # rows of every table
    trafficking_types: list[str]  # columns of every table
    measures: dict[Measure, ReleaseTable]
    notes: list[str]
    published_at: datetime
    noisy: NoisyPublic | None
    privacy: PrivacyBudget


class ReleaseSummary(BaseModel):
    period: str
    kind: str
    published_at: datetime
    noisy: bool


class ReleaseRequest(BaseModel):
    period: str = Field(description="a closed month (2026-03), quarter (2026-Q1) or year (2026)")
    noisy_epsilon: StrictFloat | None = Field(
        default=None, description="also publish differentially private tables (months only), "
        "spending this much of the month's privacy budget")


class StatsRelease(SQLModel, table=True):
    """A published release: the suppressed tables exactly as served, never changed."""

    __tablename__ = "stats_release"
    id: int | None = SQLField(default=None, primary_key=True)
    period: str = SQLField(sa_type=String(8), unique=True, index=True)
    kind: str = SQLField(sa_type=String(8))
    body: str = SQLField(sa_type=Text)  # the StatsReleasePublic's tables as JSON
    published_at: datetime = SQLField(default_factory=utcnow, sa_type=UTCDateTime)


class StatsNoisy(SQLModel, table=True):
    """Differentially private tables published for a period, with the budget they spent."""

    __tablename__ = "stats_noisy"
    id: int | None = SQLField(default=None, primary_key=True)
    period: str = SQLField(sa_type=String(8), index=True)
    epsilon: float
    body: str = SQLField(sa_type=Text)  # the NoisyPublic as JSON
    published_at: datetime = SQLField(default_factory=utcnow, sa_type=UTCDateTime)
