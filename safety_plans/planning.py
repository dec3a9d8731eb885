"""Plan generation: turn a screening and the caller's inputs into an ordered safety plan.

A :class:`Plan` is a plain frozen pydantic value holding language-neutral steps (a message id
plus parameters, or an advocate's own text), each with a stable id, a section, a priority and
the answers that triggered it. :func:`generate_plan` applies the rule table in
:mod:`safety_plans.rules`, then orders sections by the survivor's own ranked priorities, except
that emergency mode pins the immediate-safety section, led by the emergency contacts, to the
top. Shelter options and the travel-planner link are inputs from the caller: this module queries
nothing, so it stays pure and fast enough to regenerate on every screening.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from core.types import StrictFloat, StrictInt
from safety_plans.errors import InvalidPlanInputError
from safety_plans.i18n import resolve_language
from safety_plans.rules import (
    DEFAULT_SECTION_ORDER,
    EMERGENCY_CONTACT_IDS,
    RULES,
    SHELTER_MESSAGE_ID,
    SHELTER_MESSAGE_NO_DISTANCE_ID,
    SHELTER_STEP_PREFIX,
    Priority,
    Section,
)
from safety_plans.screening import DangerLevel, Screening, screen

_FROZEN = ConfigDict(frozen=True, extra="forbid")
StepId = Annotated[str, Field(min_length=1, max_length=120, pattern=r"^[a-z0-9_.\-]+$")]


class Step(BaseModel):
    """One action in a plan. ``text`` (an advocate's own words) overrides ``message_id``."""

    model_config = _FROZEN

    id: StepId
    section: Section
    priority: Priority
    message_id: str | None = None
    params: dict[str, str] = Field(default_factory=dict)
    text: str | None = None
    triggered_by: tuple[str, ...] = ()
    source: Literal["rule", "advocate"] = "rule"
    edited: bool = False


class SuggestedShelter(BaseModel):
    """A shelter with open beds that the caller's registry and matcher found for this survivor."""

    model_config = _FROZEN

    id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_\-]+$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    address: Annotated[str, Field(min_length=1, max_length=300)]
    phone: Annotated[str, Field(min_length=1, max_length=40)]
    open_beds: Annotated[StrictInt, Field(ge=0)]
    distance_km: Annotated[StrictFloat, Field(ge=0)] | None = None


# The survivor's stated gender, in the case's vocabulary, and the grammar it selects: only a
# stated woman or man gets gendered wording; anything else, or nothing, reads neutral rather
# than guessed.
StatedGender = Literal["female", "male", "transgender", "nonbinary"]
GrammaticalGender = Literal["feminine", "masculine"]
_GRAMMAR: dict[str, GrammaticalGender] = {"female": "feminine", "male": "masculine"}


class PlanInputs(BaseModel):
    """Everything the plan needs besides the screening, supplied by the caller."""

    model_config = _FROZEN

    shelters: tuple[SuggestedShelter, ...] = ()
    travel_planner_url: str | None = None
    priorities: tuple[Section, ...] = ()
    code_word: Annotated[str, Field(min_length=1, max_length=60)] | None = None
    gender: StatedGender | None = None

    @field_validator("travel_planner_url")
    @classmethod
    def _http_only(cls, url: str | None) -> str | None:
        # Anything but a web link (javascript:, data:) must never reach a printed or HTML plan.
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return url

    @field_validator("priorities")
    @classmethod
    def _distinct(cls, ranked: tuple[Section, ...]) -> tuple[Section, ...]:
        if len(set(ranked)) != len(ranked):
            raise ValueError("each section may be ranked only once")
        return ranked

    @field_validator("shelters")
    @classmethod
    def _distinct_ids(cls, shelters: tuple[SuggestedShelter, ...]) -> tuple[SuggestedShelter, ...]:
        if len({s.id for s in shelters}) != len(shelters):
            raise ValueError("shelter ids must be unique")
        return shelters


class Plan(BaseModel):
    """A safety plan: header facts from the screening plus the ordered steps."""

    model_config = _FROZEN

    language: str
    emergency: bool
    danger_level: DangerLevel
    score: int
    emergency_triggers: tuple[str, ...] = ()
    priorities: tuple[Section, ...] = ()
    steps: tuple[Step, ...]
    removed_step_ids: tuple[str, ...] = ()
    grammatical_gender: GrammaticalGender | None = None

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def step_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.steps)

    def sections(self) -> list[tuple[Section, list[Step]]]:
        """Steps grouped by section, in plan order (sections are contiguous by construction)."""
        grouped: dict[Section, list[Step]] = {}
        for s in self.steps:
            grouped.setdefault(s.section, []).append(s)
        return list(grouped.items())


def parse_inputs(raw: PlanInputs | Mapping[str, object] | None) -> PlanInputs:
    """Validate caller inputs, raising InvalidPlanInputError naming the offending field."""
    if raw is None:
        return PlanInputs()
    if isinstance(raw, PlanInputs):
        return raw
    try:
        return PlanInputs.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "inputs"
        raise InvalidPlanInputError(field, err["msg"]) from None


def section_order(emergency: bool, priorities: Iterable[Section]) -> tuple[Section, ...]:
    """Ranked sections first, then the default order; emergency pins immediate safety first."""
    head = [Section.IMMEDIATE_SAFETY] if emergency else []
    ranked = [s for s in priorities if s not in head]
    return tuple(dict.fromkeys([*head, *ranked, *DEFAULT_SECTION_ORDER]))


def arrange(
    steps: Iterable[Step], emergency: bool, priorities: Iterable[Section]
) -> tuple[Step, ...]:
    """Group steps by section order, keeping each section's internal order.

    In emergency mode the emergency contacts are moved to the very front whatever edits did.
    """
    rank = {sec: n for n, sec in enumerate(section_order(emergency, priorities))}
    ordered = sorted(steps, key=lambda s: rank[s.section])
    if emergency:
        contacts = {s.id: s for s in ordered if s.id in EMERGENCY_CONTACT_IDS}
        head = [contacts[i] for i in EMERGENCY_CONTACT_IDS if i in contacts]
        ordered = head + [s for s in ordered if s.id not in contacts]
    return tuple(ordered)


def _shelter_steps(screening: Screening, inputs: PlanInputs) -> list[Step]:
    trigger = ("input.shelters", *(("needs_shelter",) if screening.yes("needs_shelter") else ()))
    steps = []
    for shelter in inputs.shelters:
        params = {
            "name": shelter.name,
            "address": shelter.address,
            "phone": shelter.phone,
            "beds": str(shelter.open_beds),
        }
        message = SHELTER_MESSAGE_NO_DISTANCE_ID
        if shelter.distance_km is not None:
            params["distance"] = f"{shelter.distance_km:.1f}"
            message = SHELTER_MESSAGE_ID
        steps.append(
            Step(
                id=f"{SHELTER_STEP_PREFIX}{shelter.id}",
                section=Section.LEAVING,
                priority=Priority.IMPORTANT,
                message_id=message,
                params=params,
                triggered_by=trigger,
            )
        )
    return steps


def rule_steps(screening: Screening, inputs: PlanInputs) -> list[Step]:
    """Every step the rules produce, in rule order (shelters right after their intro)."""
    steps: list[Step] = []
    for rule in RULES:
        fired = rule.when(screening, inputs)
        if fired is None:
            continue
        steps.append(
            Step(
                id=rule.step_id,
                section=rule.section,
                priority=rule.priority,
                message_id=rule.message_for(screening, inputs),
                params=dict(rule.params(screening, inputs)),
                triggered_by=fired,
            )
        )
        if rule.step_id == "leaving.shelters":
            steps.extend(_shelter_steps(screening, inputs))
    return steps


def generate_plan(
    screening: Screening | Mapping[str, object],
    inputs: PlanInputs | Mapping[str, object] | None = None,
    *,
    language: str = "en",
    allow_language_fallback: bool = False,
) -> Plan:
    """Build a plan from a screening (or raw answers, validated here) and the caller's inputs.

    Within a section steps are ordered by priority (rule order breaks ties); sections follow
    :func:`section_order`. Raises a SafetyPlanError subclass naming the field on bad input.
    """
    if not isinstance(screening, Screening):
        screening = screen(screening)
    parsed = parse_inputs(inputs)
    lang = resolve_language(language, allow_fallback=allow_language_fallback)
    by_priority = sorted(rule_steps(screening, parsed), key=lambda s: s.priority)
    return Plan(
        language=lang,
        emergency=screening.emergency,
        danger_level=screening.danger_level,
        score=screening.score,
        emergency_triggers=screening.emergency_triggers,
        priorities=parsed.priorities,
        steps=arrange(by_priority, screening.emergency, parsed.priorities),
        grammatical_gender=_GRAMMAR.get(parsed.gender or ""),
    )
