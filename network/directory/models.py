"""Tables of the partner directory beside their API models: organisations, services, areas.

An organisation is a service provider or a law-enforcement contact (local police or sheriff;
state attorney general or state police task force; federal FBI field office or HSI office). It
has one office (point, city, state, time zone), hours in the shelter intake format (none means
24/7), languages, a trafficking specialisation and contact channels. Its services are typed
(`ServiceType`) and the areas it serves are national, a state, a county, a city or a radius.
Every area but national and state also stores a centre, a radius and that circle's bounding
box, so "who serves this point" is an indexed range test in SQL and an exact distance test for
the few rows left. Nothing here is personal data: the directory is public to every account.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import model_validator
from sqlalchemy import JSON, CheckConstraint, Column, Index, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.languages import LanguageCodes, TimeZoneName
from core.types import StrictFloat, UTCDateTime
from logistics.shelters.models import IntakeHours
from logistics.vocabulary import Specialisation


class ServiceType(StrEnum):
    LEGAL = "legal"
    IMMIGRATION = "immigration"
    MEDICAL = "medical"
    MENTAL_HEALTH = "mental_health"
    CASE_MANAGEMENT = "case_management"
    INTERPRETATION = "interpretation"
    HOUSING = "housing"
    LABOR_RIGHTS = "labor_rights"
    VICTIM_COMPENSATION = "victim_compensation"


class OrganizationKind(StrEnum):
    SERVICE_PROVIDER = "service_provider"
    LAW_ENFORCEMENT = "law_enforcement"


class LawLevel(StrEnum):
    LOCAL = "local"
    STATE = "state"
    FEDERAL = "federal"


class LawBody(StrEnum):
    POLICE = "police"
    SHERIFF = "sheriff"
    ATTORNEY_GENERAL = "attorney_general"
    STATE_POLICE_TASK_FORCE = "state_police_task_force"
    FBI_FIELD_OFFICE = "fbi_field_office"
    HSI_OFFICE = "hsi_office"


LEVEL_OF_BODY: dict[LawBody, LawLevel] = {
    LawBody.POLICE: LawLevel.LOCAL, LawBody.SHERIFF: LawLevel.LOCAL,
    LawBody.ATTORNEY_GENERAL: LawLevel.STATE, LawBody.STATE_POLICE_TASK_FORCE: LawLevel.STATE,
    LawBody.FBI_FIELD_OFFICE: LawLevel.FEDERAL, LawBody.HSI_OFFICE: LawLevel.FEDERAL,
}


class AreaKind(StrEnum):
    NATIONAL = "national"
    STATE = "state"
    COUNTY = "county"
    CITY = "city"
    RADIUS = "radius"


# A city or county area given without its own radius is taken as a circle this wide.
DEFAULT_RADIUS_KM = {AreaKind.CITY: 15.0, AreaKind.COUNTY: 40.0}


def _sql_in(values: type[StrEnum]) -> str:
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"



def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class Organization(SQLModel, table=True):
    __tablename__ = "directory_organization"
    __table_args__ = (
        CheckConstraint(f"kind IN {_sql_in(OrganizationKind)}", name="kind"),
        CheckConstraint(f"law_body IS NULL OR law_body IN {_sql_in(LawBody)}", name="law_body"),
        CheckConstraint(f"law_level IS NULL OR law_level IN {_sql_in(LawLevel)}",
                        name="law_level"),
        CheckConstraint("(kind = 'law_enforcement') = (law_body IS NOT NULL)", name="law_fields"),
        CheckConstraint(f"specialisation IN {_sql_in(Specialisation)}", name="specialisation"),
        CheckConstraint("lat BETWEEN -90 AND 90 AND lon BETWEEN -180 AND 180", name="coords"),
        Index("ix_directory_organization_kind_state", "kind", "state"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_type=String(200))
    kind: OrganizationKind = Field(sa_type=String(20))
    law_level: LawLevel | None = Field(default=None, sa_type=String(8))
    law_body: LawBody | None = Field(default=None, sa_type=String(32))
    description: str | None = Field(default=None, sa_type=String(1000))
    specialisation: Specialisation = Field(default=Specialisation.NONE, sa_type=String(8))
    lat: float
    lon: float
    city: str = Field(sa_type=String(100))
    state: str = Field(sa_type=String(2))
    county: str | None = Field(default=None, sa_type=String(100))
    timezone: str = Field(sa_type=String(64))
    hours: dict[str, list[list[str]]] | None = Field(default=None, sa_column=Column(JSON))
    phone: str | None = Field(default=None, sa_type=String(32))
    email: str | None = Field(default=None, sa_type=String(254))
    website: str | None = Field(default=None, sa_type=String(300))
    external_id: str | None = Field(default=None, sa_type=String(64), unique=True)
    version: int = 1
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class OrganizationLanguage(SQLModel, table=True):
    __tablename__ = "directory_language"
    organization_id: int = Field(foreign_key="directory_organization.id", primary_key=True,
                                 ondelete="CASCADE")
    language: str = Field(sa_type=String(8), primary_key=True, index=True)


class DirectoryService(SQLModel, table=True):
    __tablename__ = "directory_service"
    __table_args__ = (
        CheckConstraint(f"service_type IN {_sql_in(ServiceType)}", name="service_type"),
        Index("ix_directory_service_type_org", "service_type", "organization_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="directory_organization.id", index=True,
                                 ondelete="CASCADE")
    service_type: ServiceType = Field(sa_type=String(24))
    name: str = Field(sa_type=String(200))
    description: str | None = Field(default=None, sa_type=String(1000))


class ServiceArea(SQLModel, table=True):
    """One area an organisation serves; circles carry their bounding box for the SQL filter."""

    __tablename__ = "directory_area"
    __table_args__ = (
        CheckConstraint(f"kind IN {_sql_in(AreaKind)}", name="kind"),
        CheckConstraint("radius_km IS NULL OR radius_km > 0", name="radius"),
        Index("ix_directory_area_kind_state", "kind", "state"),
        Index("ix_directory_area_box", "min_lat", "max_lat", "min_lon", "max_lon"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int = Field(foreign_key="directory_organization.id", index=True,
                                 ondelete="CASCADE")
    kind: AreaKind = Field(sa_type=String(8))
    state: str | None = Field(default=None, sa_type=String(2))
    county: str | None = Field(default=None, sa_type=String(100))
    city: str | None = Field(default=None, sa_type=String(100))
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    min_lat: float | None = None
    max_lat: float | None = None
    min_lon: float | None = None
    max_lon: float | None = None


# ---------------------------------------------------------------------------- API models

_STATE = r"^[A-Z]{2}$"


class CoverageArea(SQLModel):
    """national; state (state); county (state, county); city (state, city); radius (lat, lon,
    radius_km). County and city areas may give their own centre and radius; a city without
    one is placed at its GeoNames point."""

    kind: AreaKind
    state: str | None = Field(default=None, schema_extra={"pattern": _STATE})
    county: str | None = Field(default=None, min_length=1, max_length=100)
    city: str | None = Field(default=None, min_length=1, max_length=100)
    lat: StrictFloat | None = Field(default=None, ge=-90, le=90)
    lon: StrictFloat | None = Field(default=None, ge=-180, le=180)
    radius_km: StrictFloat | None = Field(default=None, gt=0, le=2000)

    @model_validator(mode="after")
    def _complete(self) -> CoverageArea:
        need = {AreaKind.STATE: ("state",), AreaKind.COUNTY: ("state", "county"),
                AreaKind.CITY: ("state", "city"),
                AreaKind.RADIUS: ("lat", "lon", "radius_km")}.get(self.kind, ())
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"a {self.kind.value} area needs {', '.join(missing)}")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class OfferedService(SQLModel):
    service_type: ServiceType
    name: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=1000)


class OrganizationBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    kind: OrganizationKind = OrganizationKind.SERVICE_PROVIDER
    law_body: LawBody | None = None
    description: str | None = Field(default=None, max_length=1000)
    specialisation: Specialisation = Specialisation.NONE
    lat: StrictFloat = Field(ge=-90, le=90)
    lon: StrictFloat = Field(ge=-180, le=180)
    city: str = Field(min_length=1, max_length=100)
    state: str = Field(schema_extra={"pattern": _STATE})
    county: str | None = Field(default=None, max_length=100)
    timezone: TimeZoneName = Field(default="America/New_York", max_length=64)
    hours: IntakeHours | None = None  # None means open 24/7
    languages: LanguageCodes = Field(default_factory=lambda: ["en"], max_length=30)
    phone: str | None = Field(default=None, max_length=32)
    email: str | None = Field(default=None, max_length=254,
                              schema_extra={"pattern": r"^[^@\s]+@[^@\s]+$"})
    website: str | None = Field(default=None, max_length=300,
                                schema_extra={"pattern": r"^https?://\S+$"})




class OrganizationCreate(OrganizationBase):
    services: list[OfferedService] = Field(default_factory=list, max_length=30)
    areas: list[CoverageArea] = Field(min_length=1, max_length=200)
    external_id: str | None = Field(default=None, max_length=64)

    @model_validator(mode="after")
    def _law_fields(self) -> OrganizationCreate:
        if (self.kind is OrganizationKind.LAW_ENFORCEMENT) != (self.law_body is not None):
            raise ValueError("law_body is required for law_enforcement and only for it")
        return self


class ServicePublic(SQLModel):
    id: int
    organization_id: int
    service_type: ServiceType
    name: str
    description: str | None


class AreaPublic(SQLModel):
    kind: AreaKind
    state: str | None
    county: str | None
    city: str | None
    lat: float | None
    lon: float | None
    radius_km: float | None


class OrganizationPublic(OrganizationBase):
    id: int
    law_level: LawLevel | None
    services: list[ServicePublic]
    areas: list[AreaPublic]
    external_id: str | None
    version: int
    updated_at: datetime
