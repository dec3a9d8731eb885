"""Consent releases: a survivor's permission to share named parts of a case with one recipient.

A release names the case, one recipient organisation of the directory, the case field groups
it covers (`CaseFieldGroup`), its purpose (sealed: it may describe the survivor's situation)
and its expiry. It is active while not revoked and not expired; that is decided at every read
against the clock, so expiry and revocation take effect at once with no sweeper. A release is
never a condition of service: it is needed only to share personal fields.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import field_validator
from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import Instant, StrictInt, UTCDateTime

DEFAULT_RELEASE_MAX_DAYS = 90


class CaseFieldGroup(StrEnum):
    """The parts of a case a release can cover (each maps to fields of `CaseData`)."""

    CASE_REF = "case_ref"
    HOUSEHOLD = "household"
    LOCATION = "location"
    LANGUAGES = "languages"
    NEEDS = "needs"
    EXCLUSIONS = "exclusions"
    DOCUMENTS = "documents"  # whether the survivor holds photo ID
    URGENCY = "urgency"
    TRAVEL = "travel"  # how far the household can travel
    NOTES = "notes"


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Release(SQLModel, table=True):
    __tablename__ = "consent_release"
    __table_args__ = (
        Index("ix_consent_release_case_recipient", "case_id", "recipient_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    recipient_id: int = Field(foreign_key="directory_organization.id", index=True)
    fields: list[str] = Field(sa_column=Column(JSON, nullable=False))
    purpose_sealed: bytes = Field(sa_type=LargeBinary)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_by: int | None = Field(default=None, foreign_key="account.id")
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = _ts()


class ReleaseCreate(SQLModel):
    recipient_id: StrictInt = Field(ge=1)
    fields: list[CaseFieldGroup] = Field(min_length=1, max_length=len(CaseFieldGroup))
    purpose: str = Field(min_length=1, max_length=500)
    expires_at: Instant | None = None  # default: the longest allowed

    @field_validator("fields")
    @classmethod
    def _distinct(cls, value: list[CaseFieldGroup]) -> list[CaseFieldGroup]:
        return sorted(set(value))


class ReleasePublic(SQLModel):
    id: int
    case_id: int
    agency_id: int
    recipient_id: int
    fields: list[CaseFieldGroup]
    purpose: str
    expires_at: datetime
    revoked_at: datetime | None
    active: bool
    created_at: datetime
