"""Tables and API models for geometry probing (see `logistics.probes.rules` for the rule).

`geometry_probe` keeps, for the window only, each distinct circle an account drew around a
place: the coarse place and a keyed digest of the shape (never the anchor point itself, which
may be a survivor's whereabouts). `probe_suspicion` is what outlives the window: one row per
episode of an account going over the limit at a place, with counts and first/last time, for
administrators.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import UTCDateTime

PLACE_LENGTH = 96


class GeometryProbe(SQLModel, table=True):
    """One answered probe shape of an account at a place, kept for the window only."""

    __tablename__ = "geometry_probe"
    __table_args__ = (
        Index("ix_geometry_probe_account_place_at", "account_id", "place_key", "at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    place_key: str = Field(sa_type=String(PLACE_LENGTH))
    shape_digest: str = Field(sa_type=String(64))
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ProbeSuspicion(SQLModel, table=True):
    """An episode of suspected probing: an account over the limit at one place."""

    __tablename__ = "probe_suspicion"
    __table_args__ = (
        Index("ix_probe_suspicion_account_place_last", "account_id", "place_key", "last_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    place_key: str = Field(sa_type=String(PLACE_LENGTH))
    source: str = Field(sa_type=String(16))  # what first crossed: "search", "match", "batch"
    variations: int  # the most distinct shapes answered in one window of the episode
    refused: int  # requests refused in the episode
    first_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class ProbeSuspicionPublic(SQLModel):
    id: int
    account_id: int
    account_name: str
    account_role: str
    agency_id: int | None
    place_key: str
    source: str
    variations: int
    refused: int
    first_at: datetime
    last_at: datetime
