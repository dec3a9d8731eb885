"""Tables and API models for holds, idempotency records and the unmet-need ledger.

A hold reserves beds (or family units) for a case on its way; it counts in `held` until it is
confirmed, released or expires. The unmet-need ledger records searches and holds that found
nothing, with no personal data, for published statistics.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import model_validator
from sqlalchemy import CheckConstraint, Index, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import Instant, StrictInt, UTCDateTime
from logistics.vocabulary import BedType, Population


class HoldStatus(StrEnum):
    ACTIVE = "active"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"


class HoldSource(StrEnum):
    """Where a hold came from: `single` ones count against the account's cap, `batch` ones
    (mass rescues) against the agency's `mass_rescue_hold_budget`."""

    SINGLE = "single"
    BATCH = "batch"


class BedHold(SQLModel, table=True):
    __tablename__ = "bed_hold"
    __table_args__ = (
        Index("ix_bed_hold_inventory_status", "inventory_id", "status", "expires_at"),
        Index("ix_bed_hold_account_status", "account_id", "status"),
        Index("ix_bed_hold_agency_source_status", "agency_id", "source", "status", "case_ref"),
        CheckConstraint("beds >= 1", name="beds_positive"),
        CheckConstraint("status IN ('active', 'confirmed', 'released', 'expired')",
                        name="status"),
        CheckConstraint("source IN ('single', 'batch')", name="source"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inventory_id: int = Field(foreign_key="bed_inventory.id", ondelete="CASCADE")
    shelter_id: int = Field(foreign_key="shelter.id", index=True, ondelete="CASCADE")
    bed_type: BedType = Field(sa_type=String(16))
    beds: int
    case_ref: str = Field(sa_type=String(64))
    account_id: int = Field(foreign_key="account.id")
    agency_id: int = Field(foreign_key="agency.id")
    status: HoldStatus = Field(default=HoldStatus.ACTIVE, sa_type=String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source: HoldSource = Field(default=HoldSource.SINGLE, sa_type=String(16),
                               sa_column_kwargs={"server_default": HoldSource.SINGLE.value})


class HoldCreate(SQLModel):
    bed_type: BedType
    beds: StrictInt = Field(default=1, ge=1, le=50)
    case_ref: str = Field(min_length=1, max_length=64, schema_extra={"pattern": r"^[\w.-]+$"})
    ttl_minutes: StrictInt = Field(default=90, ge=5, le=24 * 60)


class HoldPublic(SQLModel):
    id: int
    shelter_id: int
    bed_type: BedType
    beds: int
    case_ref: str
    account_id: int
    status: HoldStatus
    created_at: datetime
    expires_at: datetime
    closed_at: datetime | None
    # Replayed Idempotency-Key answers stored before batch holds were marked lack it.
    source: HoldSource = HoldSource.SINGLE


class MassRescueBudgetUpdate(SQLModel):
    budget: StrictInt = Field(ge=0, le=10_000)


class MassRescueBudgetPublic(SQLModel):
    """An agency's budget of active batch holds, and how much of it is in use now."""

    agency_id: int
    budget: int
    in_use: int
    available: int


class BedCountPublic(SQLModel):
    bed_type: BedType
    total: int
    occupied: int
    held: int
    available: int
    max_household: int | None
    version: int
    updated_at: datetime
    updated_by: int | None
    surge: int = 0  # surge beds open now, already included in available
    age_minutes: int
    stale: bool


class BedCountUpdate(SQLModel):
    total: StrictInt = Field(ge=0, le=100_000)
    occupied: StrictInt = Field(ge=0, le=100_000)
    max_household: StrictInt | None = Field(default=None, ge=1, le=30)

    @model_validator(mode="after")
    def _fits(self) -> BedCountUpdate:
        if self.occupied > self.total:
            raise ValueError("occupied cannot exceed total")
        return self


class BedMove(SQLModel):
    beds: StrictInt = Field(default=1, ge=1, le=1000)


class SurgeWindow(SQLModel, table=True):
    """Temporary overflow capacity (a white-flag night): extra beds from start to end."""

    __tablename__ = "surge_window"
    __table_args__ = (
        Index("ix_surge_window_inventory_time", "inventory_id", "starts_at", "ends_at"),
        CheckConstraint("beds >= 1", name="beds_positive"),
        CheckConstraint("ends_at > starts_at", name="window"),
    )
    id: int | None = Field(default=None, primary_key=True)
    inventory_id: int = Field(foreign_key="bed_inventory.id", ondelete="CASCADE")
    shelter_id: int = Field(foreign_key="shelter.id", index=True, ondelete="CASCADE")
    bed_type: BedType = Field(sa_type=String(16))
    beds: int
    starts_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    reason: str = Field(default="overflow", sa_type=String(64))
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SurgeCreate(SQLModel):
    beds: StrictInt = Field(ge=1, le=1000)
    starts_at: Instant
    ends_at: Instant
    reason: str = Field(default="overflow", min_length=1, max_length=64,
                        schema_extra={"pattern": r"^[\w .,'-]+$"})

    @model_validator(mode="after")
    def _window(self) -> SurgeCreate:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.ends_at - self.starts_at > timedelta(days=31):
            raise ValueError("a surge window lasts at most 31 days")
        return self


class SurgePublic(SQLModel):
    id: int
    shelter_id: int
    bed_type: BedType
    beds: int
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: int | None
    created_at: datetime


class UnmetNeed(SQLModel, table=True):
    """One need a search or hold found no bed for. No personal data, by construction.

    `dedupe_key` (see logistics/beds/unmet.py) makes a need recorded once per asker, day,
    area, population, bed type and reason; rows from before it have none.
    """

    __tablename__ = "unmet_need"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    state: str | None = Field(default=None, sa_type=String(2))
    population: Population | None = Field(default=None, sa_type=String(32))
    bed_type: BedType | None = Field(default=None, sa_type=String(16))
    reason: str = Field(sa_type=String(64))
    source: str = Field(sa_type=String(16))  # "search" or "hold"
    dedupe_key: str | None = Field(default=None, sa_type=String(64), unique=True, index=True)


class UnmetNeedPublic(SQLModel):
    at: datetime
    state: str | None
    population: Population | None
    bed_type: BedType | None
    reason: str
    source: str
