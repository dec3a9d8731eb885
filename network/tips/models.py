"""Tables of tips and their routing decisions, beside the API models.

A tip keeps in plain columns only what routing and statistics need and what identifies no one:
the receiving agency, trafficking type, venue or industry, the minors and imminent-harm flags,
the consent (whether, and which fields), the states touched (`tip_state`, one row each) and the
timestamps. The places as given, the description, the caller's contact and the victim and
suspect details are sealed with the field cipher. A routing decision keeps its basis, the
fields shared, the contacts notified (directory ids: public) and the time from tip to routing
in plain columns; its full text (jurisdiction names, reasons) is sealed, since it names places.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as Value
from sqlalchemy import JSON, CheckConstraint, Column, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import Instant, StrictBool, StrictFloat, UTCDateTime
from network.tips.routing import Basis, Level, ShareField


class TipType(StrEnum):
    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"


class Venue(StrEnum):
    """Venue or industry, after the Polaris Project's typology of trafficking."""

    ESCORT_SERVICES = "escort_services"
    ILLICIT_MASSAGE = "illicit_massage"
    OUTDOOR_SOLICITATION = "outdoor_solicitation"
    RESIDENTIAL = "residential"
    BARS_STRIP_CLUBS = "bars_strip_clubs"
    PORNOGRAPHY = "pornography"
    REMOTE_INTERACTIVE = "remote_interactive"
    AGRICULTURE = "agriculture"
    DOMESTIC_WORK = "domestic_work"
    CONSTRUCTION = "construction"
    RESTAURANTS = "restaurants"
    HOSPITALITY = "hospitality"
    TRAVELING_SALES = "traveling_sales"
    PEDDLING_BEGGING = "peddling_begging"
    HEALTH_BEAUTY = "health_beauty"
    LANDSCAPING = "landscaping"
    MANUFACTURING = "manufacturing"
    CARNIVALS = "carnivals"
    COMMERCIAL_CLEANING = "commercial_cleaning"
    OTHER = "other"
    UNKNOWN = "unknown"


class TipStatus(StrEnum):
    RECEIVED = "received"  # not routed yet
    ROUTED = "routed"  # at least one contact notified
    WITHHELD = "withheld"  # decided: nothing may leave the hotline (or nobody on file)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


def _in(values: type[StrEnum]) -> str:
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


class Tip(SQLModel, table=True):
    __tablename__ = "tip"
    __table_args__ = (
        CheckConstraint(f"trafficking_type IN {_in(TipType)}", name="trafficking_type"),
        CheckConstraint(f"status IN {_in(TipStatus)}", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    trafficking_type: TipType = Field(sa_type=String(8))
    venue: Venue = Field(sa_type=String(24))
    minors_involved: bool
    harm_imminent: bool
    consent_share: bool
    consent_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON,
                                                                             nullable=False))
    locations_sealed: bytes = Field(sa_type=LargeBinary)
    details_sealed: bytes = Field(sa_type=LargeBinary)
    status: TipStatus = Field(default=TipStatus.RECEIVED, sa_type=String(10))
    received_at: datetime = _ts(index=True)
    routed_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    seconds_to_route: float | None = None
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = _ts()


class TipState(SQLModel, table=True):
    """One row per state a tip touches (statistics group by it; no place finer than a state)."""

    __tablename__ = "tip_state"
    tip_id: int = Field(foreign_key="tip.id", primary_key=True, ondelete="CASCADE")
    state: str = Field(sa_type=String(2), primary_key=True, index=True)


class TipRouting(SQLModel, table=True):
    __tablename__ = "tip_routing"
    id: int | None = Field(default=None, primary_key=True)
    tip_id: int = Field(foreign_key="tip.id", index=True, ondelete="CASCADE")
    agency_id: int = Field(foreign_key="agency.id", index=True)
    basis: Basis = Field(sa_type=String(40))
    notify: bool
    shared_fields: list[str] = Field(default_factory=list, sa_column=Column(JSON,
                                                                            nullable=False))
    contact_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decision_sealed: bytes = Field(sa_type=LargeBinary)
    seconds_to_route: float
    decided_by: int | None = Field(default=None, foreign_key="account.id")
    decided_at: datetime = _ts()


# ---------------------------------------------------------------------------- API models

_VALUE = ConfigDict(frozen=True, extra="forbid")


class TipLocation(BaseModel):
    """A point, or a city and state (county optional), or both."""

    model_config = _VALUE

    lat: StrictFloat | None = Value(default=None, ge=-90, le=90)
    lon: StrictFloat | None = Value(default=None, ge=-180, le=180)
    city: str | None = Value(default=None, min_length=1, max_length=100)
    county: str | None = Value(default=None, min_length=1, max_length=100)
    state: str | None = Value(default=None, pattern=r"^[A-Z]{2}$")

    @model_validator(mode="after")
    def _complete(self) -> TipLocation:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if (self.city is not None or self.county is not None) and self.state is None:
            raise ValueError("a city or county needs its state")
        if self.lat is None and self.city is None and self.county is None:
            raise ValueError("give lat and lon, or a city (or county) and state")
        return self


class TipConsent(BaseModel):
    """The caller's consent to share with law enforcement, and which fields it covers."""

    model_config = _VALUE

    share_with_law_enforcement: StrictBool = False
    fields: list[ShareField] = Value(default_factory=list, max_length=len(ShareField))

    @model_validator(mode="after")
    def _coherent(self) -> TipConsent:
        if self.share_with_law_enforcement and not self.fields:
            raise ValueError("consent to share must name the fields it covers")
        if not self.share_with_law_enforcement and self.fields:
            raise ValueError("fields are named only with consent to share")
        return self


class TipDetails(BaseModel):
    """Free text and personal data: sealed at rest, shared only as the decision allows."""

    model_config = _VALUE

    description: str | None = Value(default=None, max_length=4000)
    caller_contact: str | None = Value(default=None, max_length=500)
    victim_details: str | None = Value(default=None, max_length=4000)
    suspect_details: str | None = Value(default=None, max_length=4000)


class TipCreate(TipDetails):
    trafficking_type: TipType
    locations: list[TipLocation] = Value(min_length=1, max_length=20)
    venue: Venue = Venue.UNKNOWN
    minors_involved: StrictBool = False
    harm_imminent: StrictBool = False
    consent: TipConsent = Value(default_factory=TipConsent)
    received_at: Instant | None = None  # when the hotline took the tip; default now


class JurisdictionPublic(BaseModel):
    level: Level
    name: str


class NoticePublic(BaseModel):
    organization_id: int
    name: str
    level: Level
    body: str
    state: str
    reasons: list[str]


class RoutingPublic(BaseModel):
    id: int
    basis: Basis
    notify: bool
    shared_fields: list[ShareField]
    jurisdictions: list[JurisdictionPublic]
    contacts: list[NoticePublic]
    reasons: list[str]
    share: dict[str, Any]  # exactly what the notified contacts receive; {} when nothing leaves
    seconds_to_route: float
    decided_at: datetime


class TipPublic(TipDetails):
    id: int
    agency_id: int
    trafficking_type: TipType
    locations: list[TipLocation]
    venue: Venue
    minors_involved: bool
    harm_imminent: bool
    consent: TipConsent
    states: list[str]
    status: TipStatus
    received_at: datetime
    routed_at: datetime | None
    seconds_to_route: float | None
    routing: RoutingPublic | None
