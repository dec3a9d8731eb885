"""Tables of the shelter and bed registry beside their API models.

A shelter's street address is always sealed (AES-GCM). For a confidential safe house the exact
point is sealed too, and the plaintext `lat`/`lon` used by spatial search is snapped to a
coarse grid, so neither a database dump nor a search result can place the house. Bed counts
keep `0 <= occupied + held <= total` as a CHECK constraint; every change goes through one
conditional UPDATE.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import field_validator, model_validator
from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.languages import LanguageCodes, TimeZoneName
from core.types import StrictBool, StrictFloat, StrictInt, UTCDateTime
from logistics.vocabulary import (
    BED_TYPE_SQL,
    SPECIALISATION_SQL,
    WEEKDAYS,
    BedType,
    Population,
    Specialisation,
)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Shelter(SQLModel, table=True):
    __tablename__ = "shelter"
    __table_args__ = (
        Index("ix_shelter_lat_lon", "lat", "lon"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="coords"),
        CheckConstraint(f"specialisation IN {SPECIALISATION_SQL}", name="specialisation"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    agency_id: int = Field(foreign_key="agency.id", index=True)
    lat: float  # search coordinates: exact, or a coarse grid point for a confidential location
    lon: float
    location_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    address_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    city: str = Field(sa_type=String(100))
    state: str = Field(sa_type=String(2), index=True)
    county: str | None = Field(default=None, sa_type=String(100))
    zip_code: str | None = Field(default=None, sa_type=String(10))
    timezone: str = Field(sa_type=String(64))
    confidential_location: bool = False
    populations_mask: int = 0
    specialisation: Specialisation = Field(default=Specialisation.NONE, sa_type=String(8))
    accessible: bool = False
    pets: bool = False
    children_max_age: int | None = None
    max_stay_days: int | None = None
    intake_hours: dict[str, list[list[str]]] | None = Field(default=None, sa_column=Column(JSON))
    requires_photo_id: bool = False
    requires_referral: bool = False
    requires_sobriety: bool = False
    intake_phone: str | None = Field(default=None, sa_type=String(32))
    stale_after_hours: int = 12
    max_hold_minutes: int = 240
    version: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class ShelterLanguage(SQLModel, table=True):
    __tablename__ = "shelter_language"
    shelter_id: int = Field(foreign_key="shelter.id", primary_key=True, ondelete="CASCADE")
    language: str = Field(sa_type=String(8), primary_key=True, index=True)


class ShelterStaff(SQLModel, table=True):
    """Binds a coordinator account to a shelter it runs."""

    __tablename__ = "shelter_staff"
    shelter_id: int = Field(foreign_key="shelter.id", primary_key=True, ondelete="CASCADE")
    account_id: int = Field(foreign_key="account.id", primary_key=True, index=True)


class IntakeHours(SQLModel):
    """Weekly intake windows in the shelter's own time zone: {"mon": [["08:00", "20:00"]]}."""

    windows: dict[str, list[tuple[str, str]]]

    @field_validator("windows")
    @classmethod
    def _check(cls, value: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, spans in value.items():
            if day not in WEEKDAYS:
                raise ValueError(f"unknown weekday; use {', '.join(WEEKDAYS)}")
            for start, end in spans:
                if not (_hhmm(start) < _hhmm(end)):
                    raise ValueError(f"{day}: a window must end after it starts")
        return value



def _hhmm(text: str) -> int:
    try:
        hours, minutes = text.split(":")
        h, m = int(hours), int(minutes)
    except ValueError as exc:
        raise ValueError("a time must be HH:MM") from exc
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
        raise ValueError("a time must be within 00:00..24:00")
    return h * 60 + m


class ShelterBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    lat: StrictFloat = Field(ge=-90, le=90)
    lon: StrictFloat = Field(ge=-180, le=180)
    street_address: str | None = Field(default=None, max_length=300)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(min_length=2, max_length=2, schema_extra={"pattern": "^[A-Z]{2}$"})
    county: str | None = Field(default=None, max_length=100)
    zip_code: str | None = Field(default=None, schema_extra={"pattern": r"^\d{5}(-\d{4})?$"})
    timezone: TimeZoneName = Field(default="America/New_York", max_length=64)
    confidential_location: StrictBool = False
    populations: list[Population] = Field(default_factory=list)
    specialisation: Specialisation = Specialisation.NONE
    languages: LanguageCodes = Field(default_factory=lambda: ["en"], max_length=30)
    accessible: StrictBool = False
    pets: StrictBool = False
    children_max_age: StrictInt | None = Field(default=None, ge=0, le=17)
    max_stay_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    intake_hours: IntakeHours | None = None  # None means intake 24/7
    requires_photo_id: StrictBool = False
    requires_referral: StrictBool = False
    requires_sobriety: StrictBool = False
    intake_phone: str | None = Field(default=None, max_length=32)
    stale_after_hours: StrictInt = Field(default=12, ge=1, le=24 * 14)
    max_hold_minutes: StrictInt = Field(default=240, ge=5, le=24 * 60)




class ShelterCreate(ShelterBase):
    agency_id: StrictInt
    beds: list[BedCountCreate] = Field(default_factory=list, max_length=5)

    @model_validator(mode="after")
    def _unique_bed_types(self) -> ShelterCreate:
        types = [b.bed_type for b in self.beds]
        if len(types) != len(set(types)):
            raise ValueError("each bed type may appear once")
        return self


class ShelterPublic(SQLModel):
    """A shelter as the caller may see it: the exact place only for its staff and admins."""

    id: int
    name: str
    agency_id: int
    city: str
    state: str
    county: str | None
    zip_code: str | None
    timezone: str
    confidential_location: bool
    location_visible: bool
    lat: float | None
    lon: float | None
    street_address: str | None
    populations: list[Population]
    specialisation: Specialisation
    languages: list[str]
    accessible: bool
    pets: bool
    children_max_age: int | None
    max_stay_days: int | None
    intake_hours: IntakeHours | None
    requires_photo_id: bool
    requires_referral: bool
    requires_sobriety: bool
    intake_phone: str | None
    stale_after_hours: int
    max_hold_minutes: int
    version: int
    updated_at: datetime


class BedInventory(SQLModel, table=True):
    __tablename__ = "bed_inventory"
    __table_args__ = (
        UniqueConstraint("shelter_id", "bed_type", name="uq_bed_inventory_shelter_type"),
        CheckConstraint(f"bed_type IN {BED_TYPE_SQL}", name="bed_type"),
        CheckConstraint("total >= 0 AND occupied >= 0 AND held >= 0", name="non_negative"),
        CheckConstraint("surge >= 0", name="surge_non_negative"),
        # Surge beds count while a window is open, and for as long as people still use them.
        CheckConstraint("occupied + held <= total + surge", name="capacity"),
        CheckConstraint("max_household IS NULL OR max_household >= 1", name="max_household"),
    )
    id: int | None = Field(default=None, primary_key=True)
    shelter_id: int = Field(foreign_key="shelter.id", index=True, ondelete="CASCADE")
    bed_type: BedType = Field(sa_type=String(16))
    total: int = 0
    occupied: int = 0
    held: int = 0
    max_household: int | None = None  # family units only: the largest household a unit takes
    surge: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    version: int = 1
    updated_at: datetime = _ts()
    updated_by: int | None = Field(default=None, foreign_key="account.id")


class BedCountCreate(SQLModel):
    bed_type: BedType
    total: StrictInt = Field(ge=0, le=100_000)
    occupied: StrictInt = Field(default=0, ge=0, le=100_000)
    max_household: StrictInt | None = Field(default=None, ge=1, le=30)

    @model_validator(mode="after")
    def _fits(self) -> BedCountCreate:
        if self.occupied > self.total:
            raise ValueError("occupied cannot exceed total")
        return self


ShelterCreate.model_rebuild()
