"""Cases: the survivor household a hotline agency works for, stored with minimal personal data.

A case belongs to the agency of the account that opened it. Only fields needed for statistics
and routing stay in plain columns (agency, reference, status, trafficking type, urgency, the
state of the present location, timestamps); the household, the present location, the safety
exclusions, the profile (languages, needs, photo ID, travel limit) and free-text notes are each
sealed with the field cipher as one JSON blob per group. `CaseData` is the decoded case as a
frozen value, which the matcher and the safety-plan layer read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator, model_validator
from pydantic import Field as Value
from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.errors import RuleBroken
from core.types import StrictBool, StrictFloat, StrictInt, UTCDateTime

MAX_MEMBERS = 30
CASE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"


class Gender(StrEnum):
    """Gender identity as placement needs it (matches the matcher's vocabulary)."""

    FEMALE = "female"
    MALE = "male"
    TRANSGENDER = "transgender"
    NONBINARY = "nonbinary"


class Need(StrEnum):
    WHEELCHAIR = "wheelchair"
    PETS = "pets"
    CHILDREN = "children"
    MEDICAL = "medical"


class TraffickingType(StrEnum):
    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Case(SQLModel, table=True):
    """A stored case; every `*_sealed` column is AES-GCM ciphertext of a JSON document."""

    __tablename__ = "survivor_case"
    __table_args__ = (
        UniqueConstraint("agency_id", "case_ref", name="uq_survivor_case_agency_ref"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
        CheckConstraint("trafficking_type IN ('sex', 'labor', 'both')", name="trafficking_type"),
        CheckConstraint("urgency BETWEEN 1 AND 5", name="urgency"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    case_ref: str = Field(sa_type=String(64))
    status: CaseStatus = Field(default=CaseStatus.OPEN, sa_type=String(8), index=True)
    trafficking_type: TraffickingType = Field(sa_type=String(8))
    urgency: int
    state: str | None = Field(default=None, sa_type=String(2))
    household_sealed: bytes = Field(sa_type=LargeBinary)
    location_sealed: bytes = Field(sa_type=LargeBinary)
    exclusions_sealed: bytes = Field(sa_type=LargeBinary)
    profile_sealed: bytes = Field(sa_type=LargeBinary)
    notes_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_by: int | None = Field(default=None, foreign_key="account.id")
    version: int = 1
    created_at: datetime = _ts(index=True)
    updated_at: datetime = _ts()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


_VALUE = ConfigDict(frozen=True, extra="forbid")


class HouseholdMember(BaseModel):
    model_config = _VALUE

    age: StrictInt = Value(ge=0, le=120)
    gender: Gender


class Location(BaseModel):
    """Where the household is now: a point, or a city and state (or both)."""

    model_config = _VALUE

    lat: StrictFloat | None = Value(default=None, ge=-90, le=90)
    lon: StrictFloat | None = Value(default=None, ge=-180, le=180)
    city: str | None = Value(default=None, min_length=1, max_length=100)
    state: str | None = Value(default=None, pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _complete(self) -> Location:
        if (self.lat is None) != (self.lon is None):
            raise RuleBroken("lat-lon-pair", "give both lat and lon, or neither")
        if (self.city is None) != (self.state is None):
            raise RuleBroken("city-state-pair", "give both city and state, or neither")
        if self.lat is None and self.city is None:
            raise RuleBroken("location-missing", "give lat and lon, or city and state")
        return self


class ExclusionPoint(BaseModel):
    model_config = _VALUE

    lat: StrictFloat = Value(ge=-90, le=90)
    lon: StrictFloat = Value(ge=-180, le=180)
    radius_km: StrictFloat = Value(gt=0, le=2000)


class Exclusions(BaseModel):
    """Places the household must be kept away from (the trafficker's reach)."""

    model_config = _VALUE

    points: tuple[ExclusionPoint, ...] = Value(default=(), max_length=50)
    cities: tuple[str, ...] = Value(default=(), max_length=50)
    states: tuple[str, ...] = Value(default=(), max_length=60)
    shelter_ids: tuple[StrictInt, ...] = Value(default=(), max_length=200)

    @field_validator("cities")
    @classmethod
    def _cities(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = tuple(c.strip() for c in value)
        if any(not c or len(c) > 120 for c in cleaned):
            raise RuleBroken("city-form", 'each city is "Name" or "Name, ST", 1-120 characters')
        return cleaned

    @field_validator("states")
    @classmethod
    def _states(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(s) != 2 or not s.isascii() or not s.isupper() for s in value):
            raise RuleBroken("state-code", "states are two-letter codes such as 'TX'")
        return tuple(sorted(set(value)))

    @field_validator("shelter_ids")
    @classmethod
    def _shelters(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(sorted(set(value)))


def _languages(value: list[str]) -> list[str]:
    from core.languages import normalise_language

    return list(dict.fromkeys(normalise_language(code) for code in value))


class CaseShape(SQLModel):
    """What a case says about the household, whether stored (`CaseFields`) or given inline to
    matching (`logistics.matching.models.MatchCase`): one definition, so they cannot drift.
    The reference and the trafficking type differ between the two and are added by each."""

    household: list[HouseholdMember] = Field(min_length=1, max_length=MAX_MEMBERS)
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1, max_length=10)
    needs: list[Need] = Field(default_factory=list, max_length=4)
    location: Location
    exclusions: Exclusions = Field(default_factory=Exclusions)
    has_photo_id: StrictBool = False
    urgency: StrictInt = Field(default=3, ge=1, le=5)
    max_travel_km: StrictInt = Field(default=800, ge=0, le=10_000)
    notes: str | None = Field(default=None, max_length=4000)

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: list[str]) -> list[str]:
        return _languages(value)

    @field_validator("needs")
    @classmethod
    def _distinct_needs(cls, value: list[Need]) -> list[Need]:
        return sorted(set(value))


class CaseFields(CaseShape):
    """Everything a stored case holds besides its reference, as the API takes it."""

    trafficking_type: TraffickingType


class CaseCreate(CaseFields):
    case_ref: str = Field(schema_extra={"pattern": CASE_REF_PATTERN})


class CaseUpdate(SQLModel):
    """A partial update: only the fields sent change (null clears only `notes`)."""

    case_ref: str | None = Field(default=None, schema_extra={"pattern": CASE_REF_PATTERN})
    household: list[HouseholdMember] | None = Field(default=None, min_length=1,
                                                    max_length=MAX_MEMBERS)
    languages: list[str] | None = Field(default=None, min_length=1, max_length=10)
    trafficking_type: TraffickingType | None = None
    needs: list[Need] | None = Field(default=None, max_length=4)
    location: Location | None = None
    exclusions: Exclusions | None = None
    has_photo_id: StrictBool | None = None
    urgency: StrictInt | None = Field(default=None, ge=1, le=5)
    max_travel_km: StrictInt | None = Field(default=None, ge=0, le=10_000)
    notes: str | None = Field(default=None, max_length=4000)

    @field_validator("languages")
    @classmethod
    def _check_languages(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _languages(value)

    @field_validator("needs")
    @classmethod
    def _distinct_needs(cls, value: list[Need] | None) -> list[Need] | None:
        return None if value is None else sorted(set(value))


class CasePublic(CaseFields):
    id: int
    agency_id: int
    case_ref: str
    status: CaseStatus
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class CaseData:
    """A stored case decoded: what matching and safety planning read (never mutated)."""

    id: int
    agency_id: int
    case_ref: str
    status: CaseStatus
    household: tuple[HouseholdMember, ...]
    languages: tuple[str, ...]
    trafficking_type: TraffickingType
    needs: frozenset[Need]
    location: Location
    exclusions: Exclusions
    has_photo_id: bool
    urgency: int
    max_travel_km: int
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None

    @property
    def has_minor(self) -> bool:
        return any(m.age < 18 for m in self.household)

    def public(self) -> CasePublic:
        return CasePublic(
            id=self.id, agency_id=self.agency_id, case_ref=self.case_ref, status=self.status,
            household=list(self.household), languages=list(self.languages),
            trafficking_type=self.trafficking_type, needs=sorted(self.needs),
            location=self.location, exclusions=self.exclusions,
            has_photo_id=self.has_photo_id, urgency=self.urgency,
            max_travel_km=self.max_travel_km, notes=self.notes, version=self.version,
            created_at=self.created_at, updated_at=self.updated_at, closed_at=self.closed_at,
        )
