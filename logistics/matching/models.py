"""Request and response models of shelter matching over HTTP (no tables).

A case travels either inline, in the same JSON shape as `POST /v1/cases` takes it (issue 4
item 1), or as the id of a stored case. Responses carry what an advocate needs on a call:
shelter, bed type and beds, distance and estimated travel time, count age and staleness,
language match and the score's parts, plus every excluded shelter counted under a reason with
a sentence. A confidential shelter never appears with its address or exact coordinates, and
its distance is rounded to 5 km unless the caller manages it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value

from core.types import StrictBool, StrictFloat, StrictInt
from logistics.beds.models import HoldPublic
from logistics.cases.models import CaseShape

MAX_MEMBERS = 30
MAX_BATCH = 1000
CASE_REF_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$"

_STRICT = ConfigDict(extra="forbid")


class InlineTraffickingType(StrEnum):
    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"
    NONE = "none"


class MatchCase(CaseShape):
    """A case given inline: the shape `POST /v1/cases` takes (notes are accepted and ignored).
    Only the trafficking type differs from a stored case's: inline it may be "none" (unknown
    on a first call)."""

    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    case_ref: str = Value(pattern=CASE_REF_PATTERN)
    trafficking_type: InlineTraffickingType = InlineTraffickingType.NONE


class MatchRequest(BaseModel):
    """One household: an inline `case` or a stored `case_id` (exactly one), and a limit."""

    model_config = _STRICT

    case: MatchCase | None = None
    case_id: StrictInt | None = Value(default=None, ge=1)
    limit: StrictInt = Value(default=10, ge=1, le=50)


class BatchWeights(BaseModel):
    """Priority and preference weights (see docs/matching.md); all must be >= 0."""

    model_config = _STRICT

    minor_bonus: StrictInt = Value(default=5, ge=0, le=100)
    language: StrictInt = Value(default=3, ge=0, le=1000)
    specialisation: StrictInt = Value(default=2, ge=0, le=1000)
    fresh: StrictInt = Value(default=1, ge=0, le=1000)
    fresh_max_age_minutes: StrictInt = Value(default=720, ge=0, le=60 * 24 * 30)


class BatchMatchOptions(BaseModel):
    model_config = _STRICT

    hold: StrictBool = False
    hold_ttl_minutes: StrictInt = Value(default=90, ge=5, le=24 * 60)
    time_limit_s: StrictFloat | None = Value(default=None, gt=0)
    weights: BatchWeights = Value(default_factory=BatchWeights)
    seed: StrictInt = Value(default=0, ge=0, le=2**31 - 1)


class BatchMatchRequest(BaseModel):
    """Many households at once: inline `cases` and/or stored `case_ids`."""

    model_config = _STRICT

    cases: list[MatchCase] = Value(default_factory=list, max_length=MAX_BATCH)
    case_ids: list[StrictInt] = Value(default_factory=list, max_length=MAX_BATCH)
    options: BatchMatchOptions = Value(default_factory=BatchMatchOptions)


# ---- responses ------------------------------------------------------------------------


class ScoreParts(BaseModel):
    travel: int
    language: int
    specialisation: int
    fresh: int


class MatchOption(BaseModel):
    shelter_id: int
    shelter_name: str
    city: str
    state: str
    confidential: bool
    street_address: str | None
    bed_type: str
    beds: int
    distance_km: float
    distance_rounded: bool
    travel_minutes: int
    count_age_minutes: int
    stale: bool
    language_match: bool
    specialisation_match: bool
    score: int
    score_parts: ScoreParts


class ExcludedReason(BaseModel):
    reason: str
    count: int
    sentence: str


class MatchResult(BaseModel):
    case_ref: str
    case_id: int | None
    options: list[MatchOption]
    eligible_shelters: int
    shelters_considered: int
    excluded: list[ExcludedReason]
    computed_at: datetime


class BatchAssignment(BaseModel):
    case_ref: str
    shelter_id: int
    shelter_name: str
    confidential: bool
    bed_type: str
    beds: int
    distance_km: float
    distance_m: int
    distance_rounded: bool
    travel_minutes: int
    hold_id: int | None = None


class BatchUnplaced(BaseModel):
    case_ref: str
    reasons: list[str]
    sentences: list[str]


class BatchObjective(BaseModel):
    weighted_persons: int
    travel_m: int
    preference: int
    persons: int
    households: int


class BatchCertificate(BaseModel):
    certified: bool
    candidate_k: int
    rounds: int
    pairs_eligible: int
    pairs_modelled: int


class BatchMatchResult(BaseModel):
    status: str
    assignments: list[BatchAssignment]
    unplaced: list[BatchUnplaced]
    objective: BatchObjective
    bound: int
    gap: float
    level_status: list[str]
    certificate: BatchCertificate | None
    held: bool
    holds: list[HoldPublic]
    # case_refs whose batch hold from an earlier run was kept, not placed again (in `holds`)
    already_held: list[str] = []
    solves: int
    computed_at: datetime
