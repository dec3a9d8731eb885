"""Tables of screenings, safety plans, their revisions and proposals, beside their API models.

Screenings and plans belong to a case and carry its agency, which decides who may see them.
Answers, plans (which hold free text, code words and shelter addresses), plan inputs, revision
diffs and proposals are sealed with the field cipher; the only plain columns are ids, the
danger level and emergency flag (for statistics), versions, actions, counts and timestamps.
Step ids stay sealed too: a shelter step's id names the shelter a survivor may go to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import JsonValue
from sqlalchemy import JSON, CheckConstraint, Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import StrictBool, StrictInt, UTCDateTime

_LEVELS = "('standard', 'elevated', 'high', 'severe')"


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


class ScreeningRecord(SQLModel, table=True):
    __tablename__ = "screening_record"
    __table_args__ = (CheckConstraint(f"danger_level IN {_LEVELS}", name="danger_level"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    answers_sealed: bytes = Field(sa_type=LargeBinary)
    danger_level: str = Field(sa_type=String(8))
    emergency: bool
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = _ts()


class SafetyPlanRecord(SQLModel, table=True):
    """The current revision of a plan; `plan_sealed` is the engine's Plan as JSON."""

    __tablename__ = "safety_plan"
    __table_args__ = (CheckConstraint(f"danger_level IN {_LEVELS}", name="danger_level"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="survivor_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    screening_id: int = Field(foreign_key="screening_record.id")
    language: str = Field(sa_type=String(8))
    danger_level: str = Field(sa_type=String(8))
    emergency: bool
    plan_sealed: bytes = Field(sa_type=LargeBinary)
    inputs_sealed: bytes = Field(sa_type=LargeBinary)
    version: int = 1
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class PlanRevision(SQLModel, table=True):
    """One revision: who, when, which action; the diff and the plan itself are sealed."""

    __tablename__ = "safety_plan_revision"
    __table_args__ = (UniqueConstraint("plan_id", "revision", name="uq_safety_plan_revision"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="safety_plan.id", index=True)
    revision: int
    action: str = Field(sa_type=String(32))
    actor_account_id: int | None = Field(default=None, foreign_key="account.id")
    at: datetime = _ts()
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    diff_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    plan_sealed: bytes = Field(sa_type=LargeBinary)


class PlanProposal(SQLModel, table=True):
    """Changes a new screening or new inputs propose to a plan, kept until applied.

    `inputs_sealed` holds the proposed inputs (priorities, code word, shelters, travel link)
    when the proposal changes them; None when it comes from a screening.
    """

    __tablename__ = "safety_plan_proposal"
    __table_args__ = (CheckConstraint("status IN ('open', 'applied')", name="status"),)
    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="safety_plan.id", index=True)
    screening_id: int = Field(foreign_key="screening_record.id")
    base_version: int
    status: str = Field(default="open", sa_type=String(8))
    danger_level: str = Field(sa_type=String(8))
    emergency: bool
    diff_sealed: bytes = Field(sa_type=LargeBinary)
    inputs_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = _ts()
    applied_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    applied_revision: int | None = None


class ScreeningCreate(SQLModel):
    """Answers keyed by screening item (see docs/safety_plans.md); validated by the engine."""

    answers: dict[str, JsonValue] = Field(max_length=100)


class ScreeningPublic(SQLModel):
    """A stored screening: its result, never the answers (those are read one by one)."""

    id: int
    case_id: int
    danger_level: str
    emergency: bool
    score: int
    emergency_triggers: list[str]
    created_at: datetime
    created_by: int | None = None


class ScreeningDetail(ScreeningPublic):
    """One screening with its answers (`GET /v1/screenings/{id}`; the read is audited)."""

    answers: dict[str, JsonValue]


class SafetyPlanCreate(SQLModel):
    case_id: StrictInt = Field(ge=1)
    screening_id: StrictInt = Field(ge=1)
    language: str = Field(default="en", max_length=35)
    allow_language_fallback: StrictBool = False
    priorities: list[str] = Field(default_factory=list, max_length=20,
                                  description="the survivor's ranked sections, most wanted first")
    code_word: str | None = None
    gender: str | None = Field(
        default=None, max_length=16,
        description="the survivor's stated gender (female, male, transgender, nonbinary): "
                    "Spanish wording agrees with a woman or a man; other, neutral; omitted, "
                    "the stated gender of the case's first household member (the survivor)")
    shelters: list[dict[str, JsonValue]] | None = Field(
        default=None, max_length=20,
        description="shelter options with open beds; omit to ask the matcher for the case")
    shelter_limit: StrictInt = Field(default=3, ge=0, le=10,
                               description="how many matched shelters the plan lists")
    travel_planner_url: str | None = Field(
        default=None, max_length=2000,
        description="omit for the case's travel plans when the survivor wants to go home")


class SafetyPlanSummary(SQLModel):
    """A plan in a case's list: its facts without the steps."""

    id: int
    case_id: int
    screening_id: int
    version: int
    language: str
    emergency: bool
    danger_level: str
    created_at: datetime
    updated_at: datetime


class TranslationStatusPublic(SQLModel):
    """How far the plan's wording can be trusted (safety_plans.languages): ``source``
    (English), ``reviewed`` (signed off by ``reviewed_by``) or ``draft`` (a machine draft
    nobody fluent has checked: send it knowingly, or read it aloud through an interpreter)."""

    language: str
    language_name: str
    status: str
    origin: str
    reviewed_by: str | None
    complete: bool
    missing_messages: list[str]
    requested_language: str | None
    fell_back_to_english: bool
    summary: str


class SafetyPlanPublic(SafetyPlanSummary):
    """A plan with every string resolved in the requested language (see render.to_json)."""

    translation_status: TranslationStatusPublic
    plan: dict[str, Any]


class StepEdit(SQLModel):
    text: str | None = Field(default=None, max_length=2000)
    priority: StrictInt | None = Field(default=None, ge=1, le=3)


class StepAdd(SQLModel):
    section: str = Field(max_length=40)
    text: str = Field(max_length=2000)
    priority: StrictInt = Field(default=2, ge=1, le=3)
    after: str | None = Field(default=None, max_length=120)


class InputsUpdate(SQLModel):
    """New inputs for a plan; omitted fields keep their current value."""

    priorities: list[str] | None = Field(default=None, max_length=20)
    code_word: str | None = None
    clear_code_word: StrictBool = False
    refresh_shelters: StrictBool = False
    shelter_limit: StrictInt = Field(default=3, ge=0, le=10)


class RevisionSnapshot(SQLModel):
    """One revision with the whole plan as it was then, in the requested language."""

    revision: int
    action: str
    actor_account_id: int | None
    at: datetime
    counts: dict[str, int]
    plan: dict[str, Any]


class RevisionPublic(SQLModel):
    revision: int
    action: str
    actor_account_id: int | None
    at: datetime
    counts: dict[str, int]
    diff: dict[str, Any] | None


class ProposalCreate(SQLModel):
    screening_id: StrictInt = Field(ge=1)


class ProposalPublic(SQLModel):
    id: int
    plan_id: int
    screening_id: int
    base_version: int
    kind: str = "screening"
    status: str
    danger_level: str
    emergency: bool
    step_ids: list[str]
    diff: dict[str, Any]
    created_at: datetime
    applied_at: datetime | None
    applied_revision: int | None


class ProposalApply(SQLModel):
    accept: list[str] | None = Field(
        default=None, max_length=500,
        description="step ids to apply (the proposal's step_ids for all); omitted, nothing is "
                    "applied and the answer says so")
    accept_header: StrictBool = True


class PlanSmsQueued(SQLModel):
    """A plan SMS request: the outbox messages that carry it, one per standalone segment."""

    plan_id: int
    message_ids: list[int]
    segments: int
    discreet: bool
