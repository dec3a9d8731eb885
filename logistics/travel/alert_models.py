"""Safety alerts on travel plans: a check-in recorded unsafe, or one overdue past its grace.

An alert is a stored row on the case and its plan (kind `unsafe` or `overdue`), raised by the
system when a check-in says `safe: false` or by the overdue sweep, and open until a person of
the case's agency acknowledges it (who, when, and an optional note, sealed with the field
cipher like the check-in's own note). One check-in raises at most one alert of each kind: the
unique (check_in_id, kind) makes the sweep idempotent however often it runs. A plan with an
open alert cannot become `arrived`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value
from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime


class AlertKind(StrEnum):
    UNSAFE = "unsafe"
    OVERDUE = "overdue"


class TravelAlert(SQLModel, table=True):
    __tablename__ = "travel_alert"
    __table_args__ = (
        CheckConstraint("kind IN ('unsafe', 'overdue')", name="kind"),
        UniqueConstraint("check_in_id", "kind", name="uq_travel_alert_check_in_kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    plan_id: int = Field(foreign_key="travel_plan.id", index=True)
    check_in_id: int = Field(foreign_key="travel_check_in.id")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    kind: AlertKind = Field(sa_type=String(8))
    raised_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: int | None = Field(default=None, foreign_key="account.id")
    note_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)


class AlertAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Value(default=None, max_length=2000)


class AlertPublic(BaseModel):
    id: int
    case_id: int
    plan_id: int
    check_in_id: int
    kind: AlertKind
    raised_at: datetime
    open: bool
    acknowledged_at: datetime | None
    acknowledged_by: int | None
    note: str | None
