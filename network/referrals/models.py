"""Referrals: a case sent to a provider of the directory, with what the survivor allowed.

The shared payload is sealed at rest as one JSON document. It always holds the de-identified
core (service type, state, first language, trafficking type); personal field groups join it
only when active releases for that recipient cover them, and `fields` lists which did. Status
moves sent -> accepted | declined, accepted -> completed; a follow-up date marks when the
agency should check on it, and a referral still open after that date is overdue.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import Instant, StrictInt, UTCDateTime
from network.consent.models import CaseFieldGroup
from network.directory.models import ServiceType


class ReferralStatus(StrEnum):
    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    COMPLETED = "completed"


TRANSITIONS: dict[ReferralStatus, frozenset[ReferralStatus]] = {
    ReferralStatus.SENT: frozenset({ReferralStatus.ACCEPTED, ReferralStatus.DECLINED}),
    ReferralStatus.ACCEPTED: frozenset({ReferralStatus.COMPLETED}),
    ReferralStatus.DECLINED: frozenset(),
    ReferralStatus.COMPLETED: frozenset(),
}
OPEN_STATUSES = (ReferralStatus.SENT.value, ReferralStatus.ACCEPTED.value)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Referral(SQLModel, table=True):
    __tablename__ = "referral"
    __table_args__ = (
        CheckConstraint("status IN ('sent', 'accepted', 'declined', 'completed')",
                        name="status"),
        Index("ix_referral_agency_follow_up", "agency_id", "status", "follow_up_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    recipient_id: int = Field(foreign_key="directory_organization.id", index=True)
    service_type: ServiceType = Field(sa_type=String(24))
    status: ReferralStatus = Field(default=ReferralStatus.SENT, sa_type=String(12))
    deidentified: bool
    fields: list[str] = Field(sa_column=Column(JSON, nullable=False))
    release_ids: list[int] = Field(sa_column=Column(JSON, nullable=False))
    payload_sealed: bytes = Field(sa_type=LargeBinary)
    follow_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="account.id")
    version: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ReferralCreate(SQLModel):
    """`fields` absent: share all that active releases cover (de-identified if none);
    `fields: []`: de-identified only; a list: exactly those, each needing an active release."""

    case_id: StrictInt = Field(ge=1)
    recipient_id: StrictInt = Field(ge=1)
    service_type: ServiceType
    fields: list[CaseFieldGroup] | None = Field(default=None, max_length=len(CaseFieldGroup))
    follow_up_at: Instant | None = None


class ReferralUpdate(SQLModel):
    status: ReferralStatus | None = None
    follow_up_at: Instant | None = None


class ReferralPublic(SQLModel):
    id: int
    case_id: int
    agency_id: int
    recipient_id: int
    service_type: ServiceType
    status: ReferralStatus
    deidentified: bool
    fields: list[CaseFieldGroup]
    release_ids: list[int]
    shared: dict[str, Any]
    follow_up_at: datetime | None
    overdue: bool
    version: int
    created_at: datetime
    updated_at: datetime
