"""Eligibility as data: every shelter attribute is a rule that says yes or no with a reason.

Each `Rule` carries a stable reason code, a human sentence, and two implementations of the same
predicate: the scalar one here (`check`, used for explanations and by the independent
validator) and its vectorised twin from `solvers.matching.eligibility_vec` (`check_all`, used by the
ranking and batch pre-filters over thousands of shelters). Property tests keep the two in
agreement. Hard rules decide feasibility; soft rules (language, trafficking specialisation,
fresh counts) only feed preferences. This module also decides which bed type(s) a household
can use at a shelter and how many beds or units it needs: adults-only households use gendered
or any-gender adult beds, a household with minors and an adult needs family units, and minors
without an adult go only to youth-serving shelters with youth beds. The vectorised names are
re-exported so callers keep importing them from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from solvers.geo import haversine_m
from solvers.matching.eligibility_common import (
    ADULT_POPULATION,
    BED_COLUMN,
    YOUNG_ADULT_MAX_AGE,
    YOUTH_MIN_AGE,
    adult_bed_types,
    city_key,
    excluded_states,
    max_minor_age,
    old_enough_alone,
    relevant_genders,
    takes_children_needed,
)
from solvers.matching.eligibility_vec import (
    VECTOR_CHECKS,
    BoolArray,
    Ctx,
    IntArray,
    ShelterArrays,
    bed_need_columns,
    language_match_all,
    rule_masks,
    specialisation_match_all,
)
from solvers.matching.types import Household, ShelterOption

__all__ = [
    "BED_COLUMN",
    "HARD_RULES",
    "REASONS",
    "RULES_BY_CODE",
    "YOUNG_ADULT_MAX_AGE",
    "YOUTH_MIN_AGE",
    "BedNeed",
    "BoolArray",
    "Ctx",
    "IntArray",
    "Rule",
    "ShelterArrays",
    "Verdict",
    "bed_need_columns",
    "bed_needs",
    "city_key",
    "explain",
    "failed_rules",
    "fitting_bed_needs",
    "is_eligible",
    "is_fresh",
    "language_match",
    "language_match_all",
    "rule_masks",
    "specialisation_match",
    "specialisation_match_all",
]


# ---- bed needs -------------------------------------------------------------------------


@dataclass(frozen=True)
class BedNeed:
    """One way a household can be housed at a shelter: `count` beds (or units) of `bed_type`."""

    bed_type: str
    count: int


def bed_needs(h: Household, s: ShelterOption) -> tuple[BedNeed, ...]:
    """Bed types the household may use at `s`, most specific first, ignoring capacity."""
    if not h.has_adult:
        return (BedNeed("youth", h.size),)
    if h.has_minor:
        if s.family_unit_max_household <= 0:
            return ()
        return (BedNeed("family_unit", math.ceil(h.size / s.family_unit_max_household)),)
    return tuple(BedNeed(b, h.size) for b in adult_bed_types(h))


def fitting_bed_needs(h: Household, s: ShelterOption) -> tuple[BedNeed, ...]:
    """The bed needs that the shelter's available capacity can cover now."""
    return tuple(n for n in bed_needs(h, s) if s.beds(n.bed_type) >= n.count)


# ---- scalar rules ----------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    code: str
    sentence: str
    check: Callable[[Household, ShelterOption], bool]
    check_all: Callable[[Household, Ctx], BoolArray]


def _in_radius(h: Household, s: ShelterOption) -> bool:
    # Any place the shelter may be (its point plus its uncertainty) inside a zone excludes it.
    return any(haversine_m(p.lat, p.lon, s.lat, s.lon) <= p.radius_m + s.location_uncertainty_m
               for p in h.exclusions.points)


def _city_excluded(h: Household, s: ShelterOption) -> bool:
    name, key = s.city.strip().casefold(), city_key(s.city, s.state)
    for c in h.exclusions.cities:
        if "," in c:
            cname, _, cstate = c.rpartition(",")
            if city_key(cname, cstate) == key:
                return True
        elif c.strip().casefold() == name:
            return True
    return False


def _served(h: Household, s: ShelterOption) -> bool:
    pops = s.populations
    if not h.has_adult:
        return "youth_12_17" in pops
    if h.has_minor:
        return "families_with_children" in pops
    return all(
        ADULT_POPULATION[m.gender] in pops
        or (m.age <= YOUNG_ADULT_MAX_AGE and "young_adults_18_24" in pops)
        for m in h.members
    )


def _child_age_ok(h: Household, s: ShelterOption) -> bool:
    return not h.has_adult or s.children_max_age is None or max_minor_age(h) <= s.children_max_age


def _fits(h: Household, s: ShelterOption) -> bool:
    return any(s.beds(n.bed_type) > 0 for n in bed_needs(h, s))


def _enough(h: Household, s: ShelterOption) -> bool:
    return bool(fitting_bed_needs(h, s)) or not _fits(h, s)


def _need(need: str, flag: str) -> Callable[[Household, ShelterOption], bool]:
    return lambda h, s: need not in h.needs or bool(getattr(s, flag))


def _requirement(flag: str, attr: str, met: bool) -> Callable[[Household, ShelterOption], bool]:
    # `met` is the household attribute value that satisfies the shelter's requirement.
    return lambda h, s: not getattr(s, flag) or getattr(h, attr) == met


_SCALAR: tuple[tuple[str, str, Callable[[Household, ShelterOption], bool]], ...] = (
    (
        "excluded_shelter",
        "The survivor asked to avoid this shelter (the trafficker knows it).",
        lambda h, s: s.shelter_id not in h.exclusions.shelter_ids,
    ),
    (
        "excluded_state",
        "The shelter is in a state the survivor must avoid.",
        lambda h, s: s.state.strip().upper() not in excluded_states(h),
    ),
    (
        "excluded_city",
        "The shelter is in a city the survivor must avoid.",
        lambda h, s: not _city_excluded(h, s),
    ),
    (
        "inside_exclusion_radius",
        "The shelter lies inside an area the survivor must stay away from.",
        lambda h, s: not _in_radius(h, s),
    ),
    (
        "beyond_max_travel",
        "The shelter is farther away than the survivor is willing to travel.",
        lambda h, s: haversine_m(h.lat, h.lon, s.lat, s.lon) <= h.max_travel_km * 1000,
    ),
    (
        "intake_closed",
        "The shelter is not taking intakes right now.",
        lambda h, s: s.intake_open_now,
    ),
    (
        "unaccompanied_child_under_12",
        "A child under 12 without an adult needs a child-protective placement, not a shelter bed.",
        lambda h, s: old_enough_alone(h),
    ),
    (
        "population_not_served",
        "The shelter does not serve this household's population (e.g. men, families, youth).",
        _served,
    ),
    (
        "gender_not_accepted",
        "The shelter does not accept the gender identity of someone in the household.",
        lambda h, s: relevant_genders(h) <= s.genders,
    ),
    (
        "children_not_accepted",
        "The shelter does not take children.",
        lambda h, s: not takes_children_needed(h) or s.children_max_age is not None,
    ),
    (
        "child_over_age_limit",
        "A child in the household is older than the shelter's age limit for children.",
        _child_age_ok,
    ),
    (
        "not_wheelchair_accessible",
        "The shelter is not wheelchair accessible.",
        _need("wheelchair", "wheelchair_accessible"),
    ),
    ("pets_not_allowed", "The shelter does not allow pets.", _need("pets", "pets_allowed")),
    (
        "no_medical_support",
        "The shelter cannot support medical needs.",
        _need("medical", "medical_support"),
    ),
    (
        "photo_id_required",
        "The shelter requires a photo ID.",
        _requirement("requires_photo_id", "has_photo_id", True),
    ),
    (
        "referral_required",
        "The shelter requires a referral.",
        _requirement("requires_referral", "has_referral", True),
    ),
    (
        "sobriety_required",
        "The shelter requires sobriety.",
        _requirement("requires_sobriety", "accepts_sobriety_requirement", True),
    ),
    ("no_fitting_bed_type", "The shelter has no free bed of a type this household can use.", _fits),
    (
        "not_enough_beds",
        "The shelter has fitting beds free, but fewer than the household needs.",
        _enough,
    ),
)

HARD_RULES: tuple[Rule, ...] = tuple(
    Rule(code, sentence, check, VECTOR_CHECKS[code]) for code, sentence, check in _SCALAR
)
# The vectorised pre-filter walks its own table; both must list the same rules in one order.
if tuple(VECTOR_CHECKS) != tuple(r.code for r in HARD_RULES):
    raise RuntimeError("scalar and vectorised rule tables disagree")

RULES_BY_CODE = {r.code: r for r in HARD_RULES}
# Codes a batch solve may add on top of the per-shelter rules.
REASONS: dict[str, str] = {r.code: r.sentence for r in HARD_RULES} | {
    "no_eligible_shelter": "No shelter passes every rule for this household.",
    "capacity_used_by_higher_priority": "Eligible shelters were full or their beds went to "
    "households ranked higher (urgency, minors first) or placeable elsewhere.",
}


def failed_rules(h: Household, s: ShelterOption) -> tuple[str, ...]:
    """Codes of every hard rule the pair fails, in rule order (empty = eligible)."""
    return tuple(r.code for r in HARD_RULES if not r.check(h, s))


def is_eligible(h: Household, s: ShelterOption) -> bool:
    return all(r.check(h, s) for r in HARD_RULES)


@dataclass(frozen=True)
class Verdict:
    code: str
    passed: bool
    sentence: str


def explain(h: Household, s: ShelterOption) -> tuple[Verdict, ...]:
    """Every hard rule's verdict for one pair, for an advocate who asks "why not there?"."""
    return tuple(Verdict(r.code, r.check(h, s), r.sentence) for r in HARD_RULES)


# ---- soft rules (preferences) ----------------------------------------------------------


def language_match(h: Household, s: ShelterOption) -> bool:
    langs = {x.casefold() for x in s.languages}
    return any(x.casefold() in langs for x in h.languages)


def specialisation_match(h: Household, s: ShelterOption) -> bool:
    t, spec = h.trafficking_type, s.trafficking_specialisation
    return t != "none" and (spec == "both" or spec == t)


def is_fresh(s: ShelterOption, fresh_max_age_minutes: int) -> bool:
    return s.count_age_minutes <= fresh_max_age_minutes
