"""Structured safety screening: the documented intake items, validation and danger scoring.

An advocate asks the items below on a live call and records the answers as a mapping from item
key to a bool, an int or one of an item's choices; unanswered items are left out and are
unknown, never "no": they add nothing to the score, and a re-screening that leaves them out
proposes removing no step they triggered (see ``editing.propose_update``). :func:`screen`
validates the answers with pydantic (unknown keys and wrong types are rejected with
:class:`~safety_plans.errors.InvalidAnswerError` naming the field) and returns a
:class:`Screening` with a transparent weighted score, a danger level and the immediate-danger
triggers in the style of the Lethality Assessment Program. This is a screening aid for a
trained advocate, not a validated risk-assessment instrument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from safety_plans.errors import InvalidAnswerError


class Group(StrEnum):
    INDICATORS = "indicators"
    DANGER = "danger"
    SITUATION = "situation"
    NEEDS = "needs"


class ItemType(StrEnum):
    BOOL = "bool"
    CHOICE = "choice"
    INT = "int"


class DangerLevel(StrEnum):
    STANDARD = "standard"
    ELEVATED = "elevated"
    HIGH = "high"
    SEVERE = "severe"


@dataclass(frozen=True, slots=True)
class ScreeningItem:
    """One intake question: its answer key, message id, answer type, group and scoring weight."""

    key: str
    group: Group
    type: ItemType = ItemType.BOOL
    weight: int = 0
    choices: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 0
    trigger: bool = False

    @property
    def message_id(self) -> str:
        return f"question.{self.key}"


_B = ItemType.BOOL
ITEMS: tuple[ScreeningItem, ...] = (
    # Trafficking indicators.
    ScreeningItem("documents_held", Group.INDICATORS, weight=1),
    ScreeningItem("debt_bondage", Group.INDICATORS, weight=1),
    ScreeningItem("threats_to_family", Group.INDICATORS, weight=2),
    ScreeningItem("movement_restricted", Group.INDICATORS, weight=2),
    ScreeningItem("phone_monitored", Group.INDICATORS, weight=1),
    ScreeningItem("minor_in_commercial_sex", Group.INDICATORS, weight=3),
    ScreeningItem("wages_withheld", Group.INDICATORS, weight=1),
    # Current danger: the first three are the immediate-danger triggers.
    ScreeningItem("weapon_threat", Group.DANGER, weight=5, trigger=True),
    ScreeningItem("threatened_to_kill", Group.DANGER, weight=5, trigger=True),
    ScreeningItem("might_kill", Group.DANGER, weight=5, trigger=True),
    ScreeningItem("gun_access", Group.DANGER, weight=3),
    ScreeningItem("strangled", Group.DANGER, weight=3),
    ScreeningItem("physically_harmed", Group.DANGER, weight=3),
    ScreeningItem("recent_escalation", Group.DANGER, weight=3),
    ScreeningItem("trafficker_knows_location", Group.DANGER, weight=3),
    ScreeningItem("threatened_if_leave", Group.DANGER, weight=3),
    ScreeningItem("children_at_risk", Group.DANGER, weight=3),
    ScreeningItem("controls_daily_life", Group.DANGER, weight=3),
    # Situation.
    ScreeningItem("lives_with_trafficker", Group.SITUATION, weight=2),
    ScreeningItem("can_leave_on_foot", Group.SITUATION),
    ScreeningItem("has_safe_phone", Group.SITUATION),
    ScreeningItem("money", Group.SITUATION, ItemType.CHOICE, choices=("none", "some", "enough")),
    ScreeningItem("has_transport", Group.SITUATION),
    ScreeningItem("age", Group.SITUATION, ItemType.INT, minimum=0, maximum=120),
    ScreeningItem("children_count", Group.SITUATION, ItemType.INT, minimum=0, maximum=20),
    # Needs.
    ScreeningItem("needs_shelter", Group.NEEDS),
    ScreeningItem("needs_medical", Group.NEEDS),
    ScreeningItem("needs_legal_immigration", Group.NEEDS),
    ScreeningItem("wants_to_return_home", Group.NEEDS),
)
ITEMS_BY_KEY: Mapping[str, ScreeningItem] = {item.key: item for item in ITEMS}
TRIGGER_KEYS: tuple[str, ...] = tuple(i.key for i in ITEMS if i.trigger)
OTHER_DANGER_KEYS: tuple[str, ...] = tuple(
    i.key for i in ITEMS if i.group is Group.DANGER and not i.trigger
)
# Four or more "yes" among the non-trigger danger items switches to emergency mode, as in the LAP.
OTHER_DANGER_THRESHOLD = 4
# Inclusive lower bounds of the weighted score for each level below severe.
LEVEL_BOUNDS: tuple[tuple[int, DangerLevel], ...] = (
    (12, DangerLevel.SEVERE),
    (7, DangerLevel.HIGH),
    (3, DangerLevel.ELEVATED),
    (0, DangerLevel.STANDARD),
)

AnswerValue = bool | int | str


def _field_type(item: ScreeningItem) -> Any:
    if item.type is ItemType.BOOL:
        return (bool | None, None)
    if item.type is ItemType.INT:
        return (int | None, Field(default=None, ge=item.minimum, le=item.maximum))
    return (Literal[item.choices] | None, None)


# Strict mode so "yes", 1 or "3" are rejected rather than coerced: a mistyped answer on a
# safety screening must be corrected by the advocate, never guessed.
AnswersModel: type[BaseModel] = create_model(
    "AnswersModel",
    __config__=ConfigDict(extra="forbid", strict=True, frozen=True),
    **{item.key: _field_type(item) for item in ITEMS},
)


@dataclass(frozen=True, slots=True)
class Screening:
    """A validated screening: the answers given and what they add up to."""

    answers: Mapping[str, AnswerValue]
    score: int
    danger_level: DangerLevel
    emergency: bool
    emergency_triggers: tuple[str, ...]

    def yes(self, key: str) -> bool:
        return self.answers.get(key) is True

    def no(self, key: str) -> bool:
        return self.answers.get(key) is False

    def value(self, key: str) -> AnswerValue | None:
        return self.answers.get(key)


def validate_answers(raw: Mapping[str, object]) -> dict[str, AnswerValue]:
    """Return the answered items (None dropped) or raise InvalidAnswerError naming the field."""
    if not isinstance(raw, Mapping):
        raise InvalidAnswerError("answers", "must be a mapping of item key to answer")
    for key in raw:
        if not isinstance(key, str):
            raise InvalidAnswerError(str(key), "answer keys must be strings")
    try:
        model = AnswersModel.model_validate(dict(raw))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "answers"
        if err["type"] == "extra_forbidden":
            raise InvalidAnswerError(field, "unknown screening item") from None
        raise InvalidAnswerError(field, err["msg"]) from None
    return {k: v for k, v in model.model_dump().items() if v is not None}


def score_answers(answers: Mapping[str, AnswerValue]) -> int:
    """Sum of the weights of the items answered yes (non-bool items carry no weight)."""
    return sum(item.weight for item in ITEMS if answers.get(item.key) is True)


def emergency_triggers(answers: Mapping[str, AnswerValue]) -> tuple[str, ...]:
    """Keys that switch the plan to emergency mode; empty when the rule is not met.

    Any yes to a trigger item fires on its own; otherwise four or more yes answers among the
    other danger items fire together, and all of them are reported.
    """
    fired = tuple(k for k in TRIGGER_KEYS if answers.get(k) is True)
    if fired:
        return fired
    others = tuple(k for k in OTHER_DANGER_KEYS if answers.get(k) is True)
    return others if len(others) >= OTHER_DANGER_THRESHOLD else ()


def danger_level_for(score: int, emergency: bool) -> DangerLevel:
    """Severe whenever emergency mode is on; otherwise the band the score falls in."""
    if emergency:
        return DangerLevel.SEVERE
    for bound, level in LEVEL_BOUNDS:
        if score >= bound:
            return level
    return DangerLevel.STANDARD


def screen(raw: Mapping[str, object]) -> Screening:
    """Validate raw answers and score them; the single entry point callers need.

    The rule, also in docs/safety_plans.md: the score is the sum of the weights of the items
    answered yes. Emergency mode is on when any of the three trigger items (weapon_threat,
    threatened_to_kill, might_kill) is yes, or when four or more of the other danger items are
    yes. The danger level is severe in emergency mode; otherwise 0-2 standard, 3-6 elevated,
    7-11 high, 12 or more severe. This is a screening aid, not a validated instrument.
    """
    answers = validate_answers(raw)
    score = score_answers(answers)
    triggers = emergency_triggers(answers)
    return Screening(
        answers=answers,
        score=score,
        danger_level=danger_level_for(score, bool(triggers)),
        emergency=bool(triggers),
        emergency_triggers=triggers,
    )
