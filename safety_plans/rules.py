"""The rule table that maps a screening and the caller's inputs to plan steps.

Each :class:`PlanRule` names a stable step id, its section and priority, and a condition that
returns the answer keys which triggered it (an empty tuple for steps every plan carries) or
``None`` when the step does not apply. Keeping the rules as data makes the mapping reviewable
by advocates and lets the docs and tests enumerate it. Inputs supplied by the caller rather than
answered by the survivor are recorded in ``triggered_by`` with an ``input.`` prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING

from safety_plans.screening import Screening

if TYPE_CHECKING:
    from safety_plans.planning import PlanInputs

HOTLINE_PHONE = "1-888-373-7888"
HOTLINE_SMS = "233733"
EMERGENCY_PHONE = "911"
EMERGENCY_CONTACT_IDS: tuple[str, ...] = (
    "immediate.call_911",
    "immediate.call_hotline",
    "immediate.text_hotline",
)


class Section(StrEnum):
    IMMEDIATE_SAFETY = "immediate_safety"
    LEAVING = "leaving"
    STAYING_SAFER = "staying_safer"
    TECHNOLOGY = "technology"
    DOCUMENTS = "documents"
    CHILDREN = "children"
    MONEY = "money"
    SAFE_CONTACTS = "safe_contacts"
    GO_BAG = "go_bag"
    LEGAL = "legal"
    WAY_HOME = "way_home"


DEFAULT_SECTION_ORDER: tuple[Section, ...] = tuple(Section)


class Priority(IntEnum):
    URGENT = 1
    IMPORTANT = 2
    WHEN_POSSIBLE = 3


Condition = Callable[[Screening, "PlanInputs"], tuple[str, ...] | None]
Params = Callable[[Screening, "PlanInputs"], Mapping[str, str]]


def _no_params(s: Screening, i: PlanInputs) -> Mapping[str, str]:
    return {}


@dataclass(frozen=True, slots=True)
class PlanRule:
    step_id: str
    section: Section
    priority: Priority
    when: Condition
    params: Params = field(default=_no_params)
    message: Callable[[Screening, PlanInputs], str] | None = None

    def message_for(self, s: Screening, i: PlanInputs) -> str:
        return self.message(s, i) if self.message else f"step.{self.step_id}"


def always(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    return ()


def any_yes(*keys: str) -> Condition:
    def cond(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
        hit = tuple(k for k in keys if s.yes(k))
        return hit or None

    return cond


def any_no(*keys: str) -> Condition:
    def cond(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
        hit = tuple(k for k in keys if s.no(k))
        return hit or None

    return cond


def either(*conds: Condition) -> Condition:
    """Union of conditions: applies if any applies, recording every key that fired."""

    def cond(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
        hits = [h for h in (c(s, i) for c in conds) if h is not None]
        if not hits:
            return None
        return tuple(dict.fromkeys(k for h in hits for k in h))

    return cond


def both(first: Condition, second: Condition) -> Condition:
    def cond(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
        a, b = first(s, i), second(s, i)
        return None if a is None or b is None else tuple(dict.fromkeys(a + b))

    return cond


def emergency(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    return s.emergency_triggers if s.emergency else None


def minor(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    age = s.value("age")
    hit: tuple[str, ...] = ("minor_in_commercial_sex",) if s.yes("minor_in_commercial_sex") else ()
    if isinstance(age, int) and not isinstance(age, bool) and age < 18:
        hit += ("age",)
    return hit or None


def has_children(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    count = s.value("children_count")
    return ("children_count",) if isinstance(count, int) and count > 0 else None


def short_of_money(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    money = s.value("money")
    return ("money",) if money in ("none", "some") else None


def with_shelters(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    if not i.shelters:
        return None
    return ("input.shelters", *(("needs_shelter",) if s.yes("needs_shelter") else ()))


def no_shelters(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    return None if i.shelters else ()


def with_travel_link(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    if i.travel_planner_url is None:
        return None
    return ("input.travel_planner_url",) + (
        ("wants_to_return_home",) if s.yes("wants_to_return_home") else ()
    )


def no_travel_link(s: Screening, i: PlanInputs) -> tuple[str, ...] | None:
    return None if i.travel_planner_url else ()


def hotline_params(s: Screening, i: PlanInputs) -> Mapping[str, str]:
    return {"hotline_phone": HOTLINE_PHONE, "hotline_sms": HOTLINE_SMS}


def code_word_message(s: Screening, i: PlanInputs) -> str:
    return "step.contacts.code_word_set" if i.code_word else "step.contacts.code_word"


def code_word_params(s: Screening, i: PlanInputs) -> Mapping[str, str]:
    return {"code_word": i.code_word} if i.code_word else {}


def travel_params(s: Screening, i: PlanInputs) -> Mapping[str, str]:
    return {"url": i.travel_planner_url or ""}


S, P = Section, Priority
DANGER_AT_HOME = any_yes("weapon_threat", "physically_harmed", "strangled", "gun_access")
INSIDE = any_yes("lives_with_trafficker", "movement_restricted", "controls_daily_life")
RULES: tuple[PlanRule, ...] = (
    PlanRule("immediate.call_911", S.IMMEDIATE_SAFETY, P.URGENT, always),
    PlanRule("immediate.call_hotline", S.IMMEDIATE_SAFETY, P.URGENT, always, params=hotline_params),
    PlanRule("immediate.text_hotline", S.IMMEDIATE_SAFETY, P.URGENT, always, params=hotline_params),
    PlanRule("immediate.emergency_now", S.IMMEDIATE_SAFETY, P.URGENT, emergency),
    PlanRule(
        "immediate.medical",
        S.IMMEDIATE_SAFETY,
        P.URGENT,
        any_yes("strangled", "physically_harmed", "needs_medical"),
    ),
    PlanRule("immediate.minor", S.IMMEDIATE_SAFETY, P.URGENT, minor, params=hotline_params),
    PlanRule("leaving.unknown_place", S.LEAVING, P.URGENT, any_yes("trafficker_knows_location")),
    PlanRule("leaving.when", S.LEAVING, P.IMPORTANT, either(INSIDE, always)),
    PlanRule("leaving.secret", S.LEAVING, P.IMPORTANT,
             either(any_yes("threatened_if_leave"), always)),
    PlanRule("leaving.on_foot", S.LEAVING, P.IMPORTANT, any_yes("can_leave_on_foot")),
    PlanRule("leaving.transport", S.LEAVING, P.IMPORTANT,
             any_no("can_leave_on_foot", "has_transport")),
    PlanRule("leaving.shelters", S.LEAVING, P.IMPORTANT, with_shelters),
    # Shelter steps (leaving.shelter.<id>) are generated from the inputs in planning.py.
    PlanRule(
        "leaving.ask_shelter", S.LEAVING, P.IMPORTANT, both(any_yes("needs_shelter"), no_shelters)
    ),
    PlanRule("leaving.after", S.LEAVING, P.WHEN_POSSIBLE, always),
    PlanRule("staying.safe_room", S.STAYING_SAFER, P.URGENT, DANGER_AT_HOME),
    PlanRule("staying.gun", S.STAYING_SAFER, P.URGENT, any_yes("gun_access")),
    PlanRule("staying.escalation", S.STAYING_SAFER, P.IMPORTANT, any_yes("recent_escalation")),
    PlanRule("staying.exits", S.STAYING_SAFER, P.IMPORTANT, INSIDE),
    PlanRule("staying.threats_family", S.STAYING_SAFER, P.IMPORTANT, any_yes("threats_to_family")),
    PlanRule(
        "staying.record",
        S.STAYING_SAFER,
        P.WHEN_POSSIBLE,
        any_yes("wages_withheld", "debt_bondage", "threats_to_family", "threatened_to_kill"),
    ),
    PlanRule("tech.monitored_phone", S.TECHNOLOGY, P.URGENT, any_yes("phone_monitored")),
    PlanRule("tech.location", S.TECHNOLOGY, P.IMPORTANT, any_yes("phone_monitored")),
    PlanRule(
        "tech.history",
        S.TECHNOLOGY,
        P.IMPORTANT,
        either(any_yes("phone_monitored"), any_no("has_safe_phone")),
    ),
    PlanRule(
        "tech.memorise",
        S.TECHNOLOGY,
        P.IMPORTANT,
        either(any_yes("phone_monitored"), any_no("has_safe_phone")),
        params=hotline_params,
    ),
    PlanRule("tech.accounts", S.TECHNOLOGY, P.WHEN_POSSIBLE, any_yes("phone_monitored")),
    PlanRule("tech.basic", S.TECHNOLOGY, P.WHEN_POSSIBLE, always),
    PlanRule("documents.held", S.DOCUMENTS, P.IMPORTANT, any_yes("documents_held")),
    PlanRule("documents.passport", S.DOCUMENTS, P.IMPORTANT, any_yes("documents_held")),
    PlanRule("documents.us_id", S.DOCUMENTS, P.WHEN_POSSIBLE, any_yes("documents_held")),
    PlanRule("documents.copies", S.DOCUMENTS, P.WHEN_POSSIBLE, always),
    PlanRule("children.at_risk", S.CHILDREN, P.URGENT, any_yes("children_at_risk")),
    PlanRule("children.plan", S.CHILDREN, P.IMPORTANT, has_children),
    PlanRule("children.documents", S.CHILDREN, P.IMPORTANT, has_children),
    PlanRule("children.school", S.CHILDREN, P.WHEN_POSSIBLE, has_children),
    PlanRule("money.debt", S.MONEY, P.IMPORTANT, any_yes("debt_bondage")),
    PlanRule("money.free_help", S.MONEY, P.IMPORTANT, either(short_of_money, always)),
    PlanRule("money.wages", S.MONEY, P.WHEN_POSSIBLE, any_yes("wages_withheld")),
    PlanRule("money.cash", S.MONEY, P.WHEN_POSSIBLE, short_of_money),
    PlanRule("contacts.people", S.SAFE_CONTACTS, P.IMPORTANT, always),
    # The code-word step reads differently once the survivor has chosen a word.
    PlanRule(
        "contacts.code_word",
        S.SAFE_CONTACTS,
        P.IMPORTANT,
        always,
        params=code_word_params,
        message=code_word_message,
    ),
    PlanRule("gobag.intro", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.documents", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.medicine", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.phone", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.money", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.clothes", S.GO_BAG, P.WHEN_POSSIBLE, always),
    PlanRule("gobag.children", S.GO_BAG, P.WHEN_POSSIBLE, has_children),
    PlanRule(
        "legal.referral",
        S.LEGAL,
        P.WHEN_POSSIBLE,
        either(any_yes("needs_legal_immigration"), always),
    ),
    PlanRule(
        "legal.t_visa",
        S.LEGAL,
        P.WHEN_POSSIBLE,
        any_yes("needs_legal_immigration", "documents_held"),
    ),
    PlanRule(
        "legal.continued_presence",
        S.LEGAL,
        P.WHEN_POSSIBLE,
        any_yes("needs_legal_immigration", "documents_held"),
    ),
    PlanRule("home.route", S.WAY_HOME, P.WHEN_POSSIBLE, with_travel_link, params=travel_params),
    PlanRule(
        "home.plan_trip",
        S.WAY_HOME,
        P.WHEN_POSSIBLE,
        both(any_yes("wants_to_return_home"), no_travel_link),
    ),
    PlanRule(
        "home.consulate",
        S.WAY_HOME,
        P.WHEN_POSSIBLE,
        both(any_yes("wants_to_return_home"), any_yes("documents_held")),
    ),
)
SHELTER_STEP_PREFIX = "leaving.shelter."
SHELTER_MESSAGE_ID = "step.leaving.shelter"
SHELTER_MESSAGE_NO_DISTANCE_ID = "step.leaving.shelter_no_distance"
