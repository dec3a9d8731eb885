"""Disruptions of travel plans and holds, stored, beside their proposals and API models.

A `return_disruption` row says that one live travel plan (and the destination hold it rides
on) no longer works as planned: a trip cancelled or a stop or route out of service in a
GTFS-Realtime feed, or the plan's hold ended early or lapsed before the arrival. `cause` is a
digest of what was detected (the feed's reasons for that plan, or the hold's end), unique per
plan, so reading the same feed twice, or sweeping twice, records nothing new. The reasons and
the proposals name trips, stops and shelters on a survivor's way, so they are sealed with the
field cipher. `status` is `open` until the case manager accepts a proposal (`accepted`, with
the travel plan that replaced the old one) or rejects them (`rejected`); a plan that stops
being live meanwhile makes it `resolved`. Rows hang off the case by foreign key, so a purge
removes them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import CheckConstraint, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.types import UTCDateTime
from logistics.travel.feed_models import ItineraryFound


class DisruptionKind(StrEnum):
    TRIP_CANCELLED = "trip_cancelled"
    TRIP_DELAYED = "trip_delayed"  # so late that a connection is missed or the hold lapses
    OUT_OF_SERVICE = "out_of_service"  # a stop or route (a GTFS-Realtime NO_SERVICE alert)
    HOLD_ENDED = "hold_ended"  # released, expired or lapsed before the arrival


class DisruptionStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RESOLVED = "resolved"


class ProposalKind(StrEnum):
    SAME_SHELTER_NEW_HOLD = "same_shelter_new_hold"  # the hold ended, the trip still runs
    SAME_SHELTER_LATER_TRIP = "same_shelter_later_trip"
    OTHER_SHELTER_SAME_TRIP = "other_shelter_same_trip"
    OTHER_SHELTER_OTHER_TRIP = "other_shelter_other_trip"


def _sql_in(values: type[StrEnum]) -> str:
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


class ReturnDisruption(SQLModel, table=True):
    __tablename__ = "return_disruption"
    __table_args__ = (
        CheckConstraint(f"kind IN {_sql_in(DisruptionKind)}", name="kind"),
        CheckConstraint(f"status IN {_sql_in(DisruptionStatus)}", name="status"),
        UniqueConstraint("travel_plan_id", "cause", name="uq_return_disruption_plan_cause"),
    )
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    travel_plan_id: int = Field(foreign_key="travel_plan.id", index=True)
    hold_id: int | None = Field(default=None, foreign_key="bed_hold.id")
    kind: DisruptionKind = Field(sa_type=String(16))
    cause: str = Field(sa_type=String(64))
    reasons_sealed: bytes = Field(sa_type=LargeBinary)
    proposals_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    status: DisruptionStatus = Field(default=DisruptionStatus.OPEN, sa_type=String(12),
                                     index=True)
    detected_at: datetime = Field(sa_type=UTCDateTime)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: int | None = Field(default=None, foreign_key="account.id")
    replaced_by_plan_id: int | None = Field(default=None, foreign_key="travel_plan.id")


class RestoreProposal(BaseModel):
    """One way to restore a disrupted plan, smallest change first (`id` is its index)."""

    id: int
    kind: ProposalKind
    shelter_id: int
    bed_type: str
    beds: int
    itinerary: ItineraryFound
    arrive_at_shelter: datetime
    hold_until: datetime
    keeps_hold: bool  # the plan's own hold still covers the arrival plus buffer
    reasons: list[str]


class DisruptionPublic(BaseModel):
    id: int
    case_id: int
    travel_plan_id: int
    hold_id: int | None
    kind: DisruptionKind
    reasons: list[str]
    status: DisruptionStatus
    proposals: list[RestoreProposal] | None  # None: not asked for yet
    no_proposal_reasons: list[str]
    detected_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    replaced_by_plan_id: int | None


class DisruptionDecisionResult(BaseModel):
    disruption: DisruptionPublic
    travel_plan_id: int | None  # the new plan (accept), None (reject)
    hold_id: int | None
    released_hold_id: int | None
