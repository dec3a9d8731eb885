"""Stored transport networks: imported feeds, their validated files, and their stops.

A feed row records what was imported (name, source, when, service date range, counts and a
SHA-256 content hash); its validated GTFS files live beside it as one deflate-compressed zip
(`transport_feed_data`), which any worker process reads back to rebuild the timetable; its stops
are also a plain table, with city, state and station type, so places can be looked up in SQL
without building a timetable. The request and response shapes of the itinerary search live here
too, as pydantic models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Column, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlmodel import Field as Column_
from sqlmodel import SQLModel

from core.clock import utcnow
from core.types import Instant, StrictBool, StrictInt, UTCDateTime
from logistics.cases.models import ExclusionPoint, Location


class TransportFeed(SQLModel, table=True):
    __tablename__ = "transport_feed"
    __table_args__ = (UniqueConstraint("name", name="uq_transport_feed_name"),)
    id: int | None = Column_(default=None, primary_key=True)
    name: str = Column_(sa_type=String(100))
    kind: str = Column_(sa_type=String(16))  # "gtfs" or "synthetic"
    source: str = Column_(sa_type=String(500))
    imported_at: datetime = Column_(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: int | None = Column_(default=None, foreign_key="account.id")
    start_date: date
    end_date: date
    agencies: int
    stops: int
    routes: int
    trips: int
    stop_times: int
    content_hash: str = Column_(sa_type=String(64))
    # Whole weeks the feed's calendar was shifted by at import (`--redate`), 0 when not:
    # start_date/end_date are the shifted dates, the published ones are these weeks earlier.
    redated_weeks: int = Column_(default=0, sa_column_kwargs={"server_default": "0"})


class TransportFeedData(SQLModel, table=True):
    """The feed's validated GTFS files as one zip (kept apart so listing feeds stays light)."""

    __tablename__ = "transport_feed_data"
    feed_id: int | None = Column_(default=None, sa_column=Column(
        Integer, ForeignKey("transport_feed.id", ondelete="CASCADE"), primary_key=True))
    archive: bytes = Column_(sa_type=LargeBinary)


class TransportStop(SQLModel, table=True):
    __tablename__ = "transport_stop"
    __table_args__ = (
        UniqueConstraint("feed_id", "stop_id", name="uq_transport_stop_feed_stop"),
        Index("ix_transport_stop_city", "city_key", "state"),
    )
    id: int | None = Column_(default=None, primary_key=True)
    feed_id: int = Column_(sa_column=Column(
        Integer, ForeignKey("transport_feed.id", ondelete="CASCADE"), nullable=False,
        index=True))
    stop_id: str = Column_(sa_type=String(100))
    name: str = Column_(sa_type=String(200))
    city: str = Column_(default="", sa_type=String(120))
    # casefolded city: the lookup key for {city, state} places
    city_key: str = Column_(default="", sa_type=String(120))
    state: str = Column_(default="", sa_type=String(8))
    lat: float
    lon: float
    timezone: str = Column_(sa_type=String(64))
    station_type: str = Column_(default="unknown", sa_type=String(24))
    # scheduled departures in the whole feed: picks a city's main station
    departures: int = 0


class FeedPublic(SQLModel):
    id: int
    name: str
    kind: str
    source: str
    imported_at: datetime
    start_date: date
    end_date: date
    agencies: int
    stops: int
    routes: int
    trips: int
    stop_times: int
    content_hash: str
    redated_weeks: int = 0
    # Empty, or a sentence saying the dates are shifted from the published ones (never silent).
    validity_note: str = ""


_STRICT = ConfigDict(extra="forbid")

# A place is a point or a US city, exactly as cases take it (Location); an avoided point has a
# radius, exactly as a case's exclusion zone (ExclusionPoint).


class AvoidCity(BaseModel):
    model_config = _STRICT
    city: str = Field(min_length=1, max_length=120)
    state: str = Field(pattern=r"^[A-Z]{2}$")


class AvoidPlaces(BaseModel):
    model_config = _STRICT
    cities: list[AvoidCity] = Field(default_factory=list, max_length=50)
    states: list[str] = Field(default_factory=list, max_length=60)
    points: list[ExclusionPoint] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _states(self) -> AvoidPlaces:
        if any(len(s) != 2 or not s.isascii() or not s.isupper() for s in self.states):
            raise ValueError("states are two-letter codes such as 'NE'")
        return self


class Traveller(BaseModel):
    model_config = _STRICT
    age: StrictInt = Field(ge=0, le=120)


class ItinerarySearchRequest(BaseModel):
    """`POST /v1/itineraries/search`, exactly the shape of issue 5."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    origin: Location = Field(alias="from")
    destination: Location = Field(alias="to")
    depart_after: Instant
    arrive_by: Instant | None = None
    travellers: list[Traveller] = Field(default_factory=lambda: [Traveller(age=30)],
                                          min_length=1, max_length=12)
    has_id: StrictBool = True
    escort: StrictBool = False
    budget_cents: StrictInt | None = Field(default=None, ge=0, le=10_000_000)
    avoid: AvoidPlaces = Field(default_factory=AvoidPlaces)
    max_transfers: StrictInt = Field(default=3, ge=0, le=10)
    max_overnight_layovers: StrictInt = Field(default=1, ge=0, le=5)
    min_transfer_minutes: StrictInt = Field(default=10, ge=0, le=720)
    accessible: StrictBool = False


class TripLeg(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)
    mode: str
    carrier: str
    route: str
    # The timetable's trip (empty for walks, taxis and drivers): what a GTFS-Realtime
    # cancellation names (logistics/return_plans/realtime.py). Plans stored before it read "".
    trip_id: str = ""
    origin: str = Field(alias="from")
    destination: str = Field(alias="to")
    from_stop_id: str
    to_stop_id: str
    depart: str
    arrive: str
    fare_cents: StrictInt
    distance_m: StrictInt
    layover_minutes: StrictInt
    indoor_waiting: StrictBool | None
    overnight_layover: StrictBool


class ItineraryPublic(BaseModel):
    depart: str
    arrive: str
    cost_cents: StrictInt
    transfers: StrictInt
    overnight_layovers: StrictInt
    escorted: StrictBool
    legs: list[TripLeg]


class ItineraryFound(ItineraryPublic):
    """An itinerary as the search returns it: with the id a travel plan is made from."""

    itinerary_id: str


class ItinerarySearchResult(BaseModel):
    itineraries: list[ItineraryFound]
    reasons: list[str]
    # One sentence per stored feed whose calendar was re-dated: its times are a past timetable
    # shown on today's dates, for demos and benchmarks, not the carrier's current schedule.
    feed_notes: list[str] = []


def dump_itinerary(itinerary: ItineraryPublic) -> dict[str, Any]:
    """JSON-ready itinerary with the wire names (`from`, `to`)."""
    return itinerary.model_dump(mode="json", by_alias=True)
