"""Budget allocation over HTTP shapes: request and response models around the CP-SAT solver.

`POST /v1/travel/allocate` takes cases (candidate itineraries with costs, a priority, the
travellers' ages, funds whose lifetime ticket is used) and funding sources (budget, age range,
lifetime-ticket age, priority) and returns who is funded by what, and who is not and why. It
stores nothing: case managers run it to plan a month's travel money, then make travel plans.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from core.errors import InvalidInput
from core.models import Role
from core.principal import Principal
from core.types import StrictInt
from solvers.errors import AllocationInputError
from solvers.travel_allocation import Candidate, CaseNeed, FundingSource, allocate

ALLOCATORS = (Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
_IN = ConfigDict(extra="forbid")


class CandidateIn(BaseModel):
    model_config = _IN
    itinerary_id: str = Field(min_length=1, max_length=64)
    cost_cents: StrictInt = Field(ge=0, le=10_000_000)


class CaseIn(BaseModel):
    model_config = _IN
    case_id: str = Field(min_length=1, max_length=64)
    priority: StrictInt = Field(default=1, ge=1, le=100)
    ages: list[StrictInt] = Field(min_length=1, max_length=30)
    candidates: list[CandidateIn] = Field(max_length=50)
    used_lifetime_tickets: list[str] = Field(default_factory=list, max_length=20)


class SourceIn(BaseModel):
    model_config = _IN
    source_id: str = Field(min_length=1, max_length=64)
    budget_cents: StrictInt = Field(ge=0, le=1_000_000_000)
    min_age: StrictInt = Field(default=0, ge=0, le=120)
    max_age: StrictInt = Field(default=120, ge=0, le=120)
    lifetime_from_age: StrictInt | None = Field(default=None, ge=0, le=120)
    priority: StrictInt = Field(default=1, ge=1, le=100)


class AllocateIn(BaseModel):
    model_config = _IN
    cases: list[CaseIn] = Field(max_length=500)
    sources: list[SourceIn] = Field(max_length=50)


class AssignmentOut(BaseModel):
    case_id: str
    itinerary_id: str
    source_id: str
    cost_cents: int


class UnfundedOut(BaseModel):
    case_id: str
    reason: str


class AllocationOut(BaseModel):
    funded: list[AssignmentOut]
    unfunded: list[UnfundedOut]
    weighted_survivors: int
    spent_cents: dict[str, int]
    optimal: bool


def allocate_budget(*, actor: Principal, body: AllocateIn,
                    time_limit_s: float = 10.0) -> AllocationOut:
    actor.require_role(*ALLOCATORS)
    for i, c in enumerate(body.cases):
        if any(not 0 <= a <= 120 for a in c.ages):
            raise InvalidInput(f"cases.{i}.ages", "ages are between 0 and 120")
    cases = [CaseNeed(c.case_id, c.priority, tuple(c.ages),
                      tuple(Candidate(k.itinerary_id, k.cost_cents) for k in c.candidates),
                      frozenset(c.used_lifetime_tickets)) for c in body.cases]
    sources = [FundingSource(s.source_id, s.budget_cents, s.min_age, s.max_age,
                             s.lifetime_from_age, s.priority) for s in body.sources]
    try:
        result = allocate(cases, sources, time_limit_s=time_limit_s)
    except AllocationInputError as exc:
        raise InvalidInput(exc.field, str(exc)) from exc
    return AllocationOut(
        funded=[AssignmentOut(case_id=a.case_id, itinerary_id=a.itinerary_id,
                              source_id=a.source_id, cost_cents=a.cost_cents)
                for a in result.assignments],
        unfunded=[UnfundedOut(case_id=u.case_id, reason=u.reason) for u in result.unfunded],
        weighted_survivors=result.weighted_survivors, spent_cents=result.spent_cents,
        optimal=result.optimal)
