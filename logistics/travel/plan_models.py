"""Travel plans: a chosen itinerary for a case, its status, safety check-ins and a bed hold.

A plan belongs to its case's agency. Plain columns hold only what scheduling needs (case,
agency, status, departure and arrival instants, the hold's id); the itinerary (places, carriers,
times), the booking references and every check-in's place and note are sealed with the field
cipher. Status runs proposed -> approved -> booked -> in_transit -> arrived, and any live plan
may be cancelled; `TRANSITIONS` is the whole machine. A check-in is due at each transfer (when a
scheduled ride ends and another follows) and on arrival. A plan is made from an itinerary id
the search gave (`logistics.travel.vouch`), never from an itinerary the client writes.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value
from sqlalchemy import CheckConstraint, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import StrictBool, StrictInt, UTCDateTime
from logistics.travel.feed_models import ItineraryPublic
from logistics.vocabulary import BedType


class PlanStatus(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    BOOKED = "booked"
    IN_TRANSIT = "in_transit"
    ARRIVED = "arrived"
    CANCELLED = "cancelled"


TRANSITIONS: dict[PlanStatus, frozenset[PlanStatus]] = {
    PlanStatus.PROPOSED: frozenset({PlanStatus.APPROVED, PlanStatus.CANCELLED}),
    PlanStatus.APPROVED: frozenset({PlanStatus.BOOKED, PlanStatus.CANCELLED}),
    PlanStatus.BOOKED: frozenset({PlanStatus.IN_TRANSIT, PlanStatus.CANCELLED}),
    PlanStatus.IN_TRANSIT: frozenset({PlanStatus.ARRIVED, PlanStatus.CANCELLED}),
    PlanStatus.ARRIVED: frozenset(),
    PlanStatus.CANCELLED: frozenset(),
}
# Check-ins can fall due (and be overdue) only while the survivor may be travelling.
TRAVELLING = (PlanStatus.BOOKED, PlanStatus.IN_TRANSIT)
# A pending check-in this long past due is overdue (listed, and raises an alert).
CHECK_IN_GRACE_MINUTES = 15


class CheckInKind(StrEnum):
    TRANSFER = "transfer"
    ARRIVAL = "arrival"


class CheckInStatus(StrEnum):
    PENDING = "pending"
    SAFE = "safe"
    CONCERN = "concern"


class TravelPlan(SQLModel, table=True):
    __tablename__ = "travel_plan"
    __table_args__ = (
        CheckConstraint("status IN ('proposed', 'approved', 'booked', 'in_transit', 'arrived', "
                        "'cancelled')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    status: PlanStatus = Field(default=PlanStatus.PROPOSED, sa_type=String(12), index=True)
    depart_at: datetime = Field(sa_type=UTCDateTime)
    arrive_at: datetime = Field(sa_type=UTCDateTime)
    cost_cents: int
    itinerary_sealed: bytes = Field(sa_type=LargeBinary)
    booking_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    hold_id: int | None = Field(default=None, foreign_key="bed_hold.id", ondelete="SET NULL")
    created_by: int | None = Field(default=None, foreign_key="account.id")
    approved_by: int | None = Field(default=None, foreign_key="account.id")
    version: int = 1
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class TravelCheckIn(SQLModel, table=True):
    __tablename__ = "travel_check_in"
    __table_args__ = (
        CheckConstraint("kind IN ('transfer', 'arrival')", name="kind"),
        CheckConstraint("status IN ('pending', 'safe', 'concern')", name="status"),
    )
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="travel_plan.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    seq: int
    kind: CheckInKind = Field(sa_type=String(8))
    due_at: datetime = Field(sa_type=UTCDateTime, index=True)
    status: CheckInStatus = Field(default=CheckInStatus.PENDING, sa_type=String(8))
    place_sealed: bytes = Field(sa_type=LargeBinary)
    note_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_by: int | None = Field(default=None, foreign_key="account.id")


_IN = ConfigDict(extra="forbid")


class TravelPlanCreate(BaseModel):
    model_config = _IN
    case_id: StrictInt = Value(ge=1)
    # An `itinerary_id` from POST /v1/itineraries/search, never a client-made itinerary.
    itinerary_id: str = Value(
        min_length=1, max_length=16_000, pattern=r"^[A-Za-z0-9_-]+$",
        description="An itinerary_id from POST /v1/itineraries/search by the same account, "
                    "good for 30 minutes (HOMEWARD_ITINERARY_ID_MINUTES)")
    shelter_id: StrictInt | None = Value(default=None, ge=1)
    bed_type: BedType | None = None
    beds: StrictInt = Value(default=1, ge=1, le=50)
    hold_buffer_minutes: StrictInt = Value(default=120, ge=0, le=24 * 60)


class PlanTransition(BaseModel):
    model_config = _IN
    status: PlanStatus
    booking_references: list[str] | None = Value(default=None, max_length=20)


class CheckInRecord(BaseModel):
    model_config = _IN
    safe: StrictBool = True
    note: str | None = Value(default=None, max_length=2000)


class CheckInPublic(BaseModel):
    id: int
    seq: int
    kind: CheckInKind
    place: str
    due_at: datetime
    status: CheckInStatus
    note: str | None
    checked_at: datetime | None


class HoldSummary(BaseModel):
    hold_id: int | None
    shelter_id: int
    expires_at: datetime | None
    # The hold should last until the scheduled arrival plus this many minutes; it does when
    # covers_arrival is true (expires_at is then exactly that instant).
    buffer_minutes: int
    covers_arrival: bool
    note: str


class PlanPublic(BaseModel):
    id: int
    case_id: int
    agency_id: int
    status: PlanStatus
    depart_at: datetime
    arrive_at: datetime
    cost_cents: int
    itinerary: ItineraryPublic
    booking_references: list[str] | None
    hold_id: int | None
    check_ins: list[CheckInPublic]
    version: int
    created_at: datetime
    updated_at: datetime


class PlanCreated(PlanPublic):
    hold: HoldSummary | None = None


class OverdueCheckIn(BaseModel):
    plan_id: int
    case_id: int
    check_in_id: int
    kind: CheckInKind
    due_at: datetime
    minutes_overdue: int
