"""Return plans: one joint decision of destination bed, itinerary and funding for many cases.

A `return_plan` row keeps one optimisation: who asked, when, its status (`proposed`, then
`accepted` once every planned case is accepted, `partly_accepted` before that) and the answer
sealed with the field cipher (it names where survivors go and where they start from, through
the itineraries). `accepted_case_ids` lists the cases already turned into travel plans, holds
and funding (plain ids, no personal data). Requests and answers of the two routes follow.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value
from sqlalchemy import JSON, Column, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import Instant, StrictBool, StrictInt, UTCDateTime
from logistics.cases.models import Location
from logistics.return_plans.disruption_models import RestoreProposal
from logistics.travel.feed_models import ItineraryFound, ItinerarySearchRequest

_IN = ConfigDict(extra="forbid")


class ReturnPlanStatus(StrEnum):
    PROPOSED = "proposed"
    PARTLY_ACCEPTED = "partly_accepted"
    ACCEPTED = "accepted"


class ReturnPlan(SQLModel, table=True):
    __tablename__ = "return_plan"
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    status: ReturnPlanStatus = Field(default=ReturnPlanStatus.PROPOSED, sa_type=String(16))
    result_sealed: bytes = Field(sa_type=LargeBinary)
    accepted_case_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON))
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ReturnCaseChoice(BaseModel):
    model_config = _IN
    case_id: StrictInt
    destination: Location
    radius_km: StrictInt = Value(default=80, ge=1, le=400)
    escort: StrictBool = False


class ReturnOptions(BaseModel):
    model_config = _IN
    shelters_per_case: StrictInt = Value(default=4, ge=1, le=20)
    itineraries_per_shelter: StrictInt = Value(default=3, ge=1, le=10)
    hold_buffer_minutes: StrictInt = Value(default=120, ge=0, le=24 * 60)
    time_limit_s: StrictInt = Value(default=10, ge=1, le=60)
    late_arrival_shelter_ids: list[StrictInt] = Value(default_factory=list, max_length=200)


class ReturnPlanOptimiseRequest(BaseModel):
    model_config = _IN
    cases: list[ReturnCaseChoice] = Value(min_length=1, max_length=500)
    depart_after: Instant | None = None
    funding_source_ids: list[StrictInt] | None = None
    options: ReturnOptions = Value(default_factory=ReturnOptions)


class PlannedCase(BaseModel):
    case_id: int
    shelter_id: int
    shelter_name: str
    bed_type: str
    beds: int
    itinerary: ItineraryFound
    arrive_at_shelter: datetime
    hold_until: datetime
    travel_minutes: int
    cost_cents: int
    funding_source_id: int | None
    # The search the itinerary came from (re-planning runs it again from a later time).
    search: ItinerarySearchRequest


class UnplacedCase(BaseModel):
    case_id: int
    reasons: list[str]
    sentences: list[str]


class ReturnObjective(BaseModel):
    weighted_persons: int
    travel_minutes: int
    cost_cents: int
    preference: int
    persons: int
    households: int


class WideningCertificate(BaseModel):
    certified: bool
    widened_bound: int
    widening_gap: float
    cases_left_out: int


class ReturnPlanPublic(BaseModel):
    id: int
    agency_id: int
    status: ReturnPlanStatus
    solve_status: str
    planned: list[PlannedCase]
    unplaced: list[UnplacedCase]
    objective: ReturnObjective
    bound: int
    gap: float
    level_status: list[str]
    certificate: WideningCertificate
    hold_buffer_minutes: int
    accepted_case_ids: list[int]
    created_at: datetime


class ReturnPlanAcceptRequest(BaseModel):
    model_config = _IN
    case_ids: list[StrictInt] | None = Value(default=None, min_length=1, max_length=500)


class AcceptedCase(BaseModel):
    case_id: int
    travel_plan_id: int
    hold_id: int
    hold_expires_at: datetime
    funding_source_id: int | None
    cost_cents: int


class ReturnPlanAcceptResult(BaseModel):
    return_plan_id: int
    status: ReturnPlanStatus
    accepted: list[AcceptedCase]
    allocation_id: int | None
    accepted_case_ids: list[int]


class ReplanRequest(BaseModel):
    model_config = _IN
    feed_base64: str = Value(min_length=1, max_length=10_000_000)


class Disrupted(BaseModel):
    travel_plan_id: int
    case_id: int
    hold_id: int | None
    disruption_id: int
    reasons: list[str]
    proposals: list[RestoreProposal]
    no_proposal_reasons: list[str]


class ReplanResult(BaseModel):
    cancelled_trips: list[str]
    affected: list[Disrupted]
