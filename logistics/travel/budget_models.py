"""Travel money: funding sources with their budgets, and the allocations solved against them.

A funding source belongs to an agency: a name, a budget and what has been committed against it
(`spent_cents`), whether it is active, and the rules the solver applies (the travellers' age
range, the age from which a traveller gets one ticket in a lifetime, a priority). An
allocation is one solve for stored cases and their candidate itineraries: its result (who goes
home on which itinerary, paid by which source, and why the others do not) is sealed with the
field cipher, since its reasons can name a traveller's age; its items, one per funded case,
are plain (case, source, itinerary reference, cost) so that committing it can add to each
source's spending and later solves can see which lifetime tickets a case has used. Status:
`proposed` until committed, then `committed` (spend recorded), once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value
from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import StrictBool, StrictInt, UTCDateTime
from logistics.travel.plan_models import PlanCreated
from logistics.vocabulary import BedType

_IN = ConfigDict(extra="forbid")


class AllocationStatus(StrEnum):
    PROPOSED = "proposed"
    COMMITTED = "committed"


class FundingSource(SQLModel, table=True):
    __tablename__ = "funding_source"
    __table_args__ = (
        UniqueConstraint("agency_id", "name", name="uq_funding_source_agency_name"),
        CheckConstraint("spent_cents >= 0 AND budget_cents >= 0", name="amounts"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str = Field(sa_type=String(120))
    budget_cents: int
    spent_cents: int = 0
    active: bool = True
    min_age: int = 0
    max_age: int = 120
    lifetime_from_age: int | None = None
    priority: int = 1
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TravelAllocation(SQLModel, table=True):
    __tablename__ = "travel_allocation"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'committed')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    status: AllocationStatus = Field(default=AllocationStatus.PROPOSED, sa_type=String(10))
    result_sealed: bytes = Field(sa_type=LargeBinary)
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    committed_by: int | None = Field(default=None, foreign_key="account.id")
    committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TravelAllocationItem(SQLModel, table=True):
    __tablename__ = "travel_allocation_item"
    id: int | None = Field(default=None, primary_key=True)
    allocation_id: int = Field(foreign_key="travel_allocation.id", index=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    funding_source_id: int = Field(foreign_key="funding_source.id", index=True)
    itinerary_id: str = Field(sa_type=String(16000))
    cost_cents: int


# ---- HTTP shapes ------------------------------------------------------------------------


class FundingSourceCreate(BaseModel):
    model_config = _IN
    agency_id: StrictInt | None = Value(default=None, ge=1)  # default: the caller's agency
    name: str = Value(min_length=1, max_length=120)
    budget_cents: StrictInt = Value(ge=0, le=1_000_000_000)
    active: StrictBool = True
    min_age: StrictInt = Value(default=0, ge=0, le=120)
    max_age: StrictInt = Value(default=120, ge=0, le=120)
    lifetime_from_age: StrictInt | None = Value(default=None, ge=0, le=120)
    priority: StrictInt = Value(default=1, ge=1, le=100)


class FundingSourceUpdate(BaseModel):
    """Only the fields sent change."""

    model_config = _IN
    name: str | None = Value(default=None, min_length=1, max_length=120)
    budget_cents: StrictInt | None = Value(default=None, ge=0, le=1_000_000_000)
    active: StrictBool | None = None
    priority: StrictInt | None = Value(default=None, ge=1, le=100)


class FundingSourcePublic(BaseModel):
    id: int
    agency_id: int
    name: str
    budget_cents: int
    spent_cents: int
    remaining_cents: int
    active: bool
    min_age: int
    max_age: int
    lifetime_from_age: int | None
    priority: int
    version: int
    updated_at: datetime


class FundingCandidate(BaseModel):
    """An itinerary the search returned for the case, by reference, with its cost."""

    model_config = _IN
    # An `itinerary_id` from POST /v1/itineraries/search, so that committing the allocation
    # can book it; any other label is allowed for a what-if allocation that books nothing.
    itinerary_id: str = Value(min_length=1, max_length=16_000, pattern=r"^[A-Za-z0-9_-]+$")
    cost_cents: StrictInt = Value(ge=0, le=10_000_000)


class AllocationCase(BaseModel):
    model_config = _IN
    case_id: StrictInt = Value(ge=1)
    priority: StrictInt = Value(default=1, ge=1, le=100)
    candidates: list[FundingCandidate] = Value(max_length=50)


class AllocationRequest(BaseModel):
    model_config = _IN
    cases: list[AllocationCase] = Value(min_length=1, max_length=500)
    # Default: every active source of the caller's agency.
    funding_source_ids: list[StrictInt] | None = Value(default=None, max_length=50)


class FundedCase(BaseModel):
    case_id: int
    itinerary_id: str
    funding_source_id: int
    cost_cents: int


class UnfundedCase(BaseModel):
    case_id: int
    reason: str


class AllocationPublic(BaseModel):
    id: int
    agency_id: int
    status: AllocationStatus
    funded: list[FundedCase]
    unfunded: list[UnfundedCase]
    weighted_survivors: int
    spent_cents: dict[str, int]  # by funding source id
    optimal: bool
    created_at: datetime
    committed_at: datetime | None


class PlanDestination(BaseModel):
    """Where a funded case's traveller goes: a bed held there until arrival plus the buffer."""

    model_config = _IN
    case_id: StrictInt = Value(ge=1)
    shelter_id: StrictInt = Value(ge=1)
    bed_type: BedType
    beds: StrictInt = Value(default=1, ge=1, le=50)
    hold_buffer_minutes: StrictInt = Value(default=120, ge=0, le=24 * 60)


class AllocationCommitRequest(BaseModel):
    """`POST /v1/travel/allocations/{id}/commit`: with `create_plans`, every funded case's
    itinerary is booked as a travel plan (and a destination bed held where one is named) in the
    same transaction as the spending: all or nothing."""

    model_config = _IN
    create_plans: StrictBool = False
    destinations: list[PlanDestination] = Value(default_factory=list, max_length=500)


class AllocationCommitResult(AllocationPublic):
    plans: list[PlanCreated] = Value(default_factory=list)
