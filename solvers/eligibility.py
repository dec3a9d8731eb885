"""Eligibility as data: every shelter attribute is a rule that says yes or no with a reason.

Each `Rule` carries a stable reason code, a human sentence, and two implementations of the same
predicate: a scalar one (`check`, used for explanations and by the independent validator) and a
vectorised one (`check_all`, used by the ranking and batch pre-filters over thousands of
shelters). Property tests keep the two in agreement. Hard rules decide feasibility; soft rules
(language, trafficking specialisation, fresh counts) only feed preferences. This module also
decides which bed type(s) a household can use at a shelter and how many beds or units it needs:
adults-only households use gendered or any-gender adult beds, a household with minors and an
adult needs family units, and minors without an adult go only to youth-serving shelters with
youth beds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from solvers.geo import haversine_m
from solvers.matching_types import (
    ADULT_AGE,
    BED_TYPES,
    GENDERS,
    POPULATIONS,
    Household,
    ShelterOption,
)

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

_POP_BIT = {p: 1 << i for i, p in enumerate(sorted(POPULATIONS))}
_GENDER_BIT = {g: 1 << i for i, g in enumerate(sorted(GENDERS))}
_ADULT_POPULATION = {
    "female": "adult_women",
    "male": "adult_men",
    "transgender": "transgender_nonbinary_adults",
    "nonbinary": "transgender_nonbinary_adults",
}
# Transgender and nonbinary adults are offered any-gender beds only: housing them in a gendered
# dorm is a decision for the shelter and the survivor, not for an optimiser.
_ADULT_BEDS = {
    "female": ("adult_female", "adult_any"),
    "male": ("adult_male", "adult_any"),
}
YOUNG_ADULT_MAX_AGE = 24
YOUTH_MIN_AGE = 12
BED_COLUMN = {b: i for i, b in enumerate(BED_TYPES)}


def city_key(city: str, state: str) -> str:
    return f"{city.strip().casefold()}|{state.strip().upper()}"


@dataclass(frozen=True)
class ShelterArrays:
    """Column view of a shelter list for vectorised rules; row i is `shelters[i]`."""

    shelters: tuple[ShelterOption, ...]
    ids: NDArray[np.str_]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    state: NDArray[np.str_]
    city_name: NDArray[np.str_]
    city_key: NDArray[np.str_]
    pop_bits: IntArray
    gender_bits: IntArray
    children_max_age: IntArray
    family_max: IntArray
    capacity: IntArray
    flags: dict[str, BoolArray]
    count_age: IntArray
    specialisation: NDArray[np.str_]
    languages: dict[str, BoolArray]

    @classmethod
    def build(cls, shelters: Sequence[ShelterOption]) -> ShelterArrays:
        n = len(shelters)
        s = tuple(shelters)
        flag_names = (
            "intake_open_now",
            "wheelchair_accessible",
            "pets_allowed",
            "medical_support",
            "requires_photo_id",
            "requires_referral",
            "requires_sobriety",
        )
        langs: dict[str, BoolArray] = {}
        for i, sh in enumerate(s):
            for lang in sh.languages:
                langs.setdefault(lang.casefold(), np.zeros(n, dtype=np.bool_))[i] = True
        cap = np.zeros((n, len(BED_TYPES)), dtype=np.int64)
        for i, sh in enumerate(s):
            for b, k in sh.available.items():
                cap[i, BED_COLUMN[b]] = k
        return cls(
            shelters=s,
            ids=np.array([x.shelter_id for x in s], dtype=np.str_),
            lat=np.array([x.lat for x in s], dtype=np.float64),
            lon=np.array([x.lon for x in s], dtype=np.float64),
            state=np.array([x.state.strip().upper() for x in s], dtype=np.str_),
            city_name=np.array([x.city.strip().casefold() for x in s], dtype=np.str_),
            city_key=np.array([city_key(x.city, x.state) for x in s], dtype=np.str_),
            pop_bits=np.array([sum(_POP_BIT[p] for p in x.populations) for x in s], np.int64),
            gender_bits=np.array([sum(_GENDER_BIT[g] for g in x.genders) for x in s], np.int64),
            children_max_age=np.array(
                [-1 if x.children_max_age is None else x.children_max_age for x in s], np.int64
            ),
            family_max=np.array([x.family_unit_max_household for x in s], dtype=np.int64),
            capacity=cap,
            flags={f: np.array([bool(getattr(x, f)) for x in s], np.bool_) for f in flag_names},
            count_age=np.array([x.count_age_minutes for x in s], dtype=np.int64),
            specialisation=np.array([x.trafficking_specialisation for x in s], dtype=np.str_),
            languages=langs,
        )

    def __len__(self) -> int:
        return len(self.shelters)

    def take(self, rows: IntArray) -> ShelterArrays:
        """The sub-table of the given rows (used after a geographic pre-filter)."""
        return ShelterArrays(
            shelters=tuple(self.shelters[i] for i in rows.tolist()),
            ids=self.ids[rows],
            lat=self.lat[rows],
            lon=self.lon[rows],
            state=self.state[rows],
            city_name=self.city_name[rows],
            city_key=self.city_key[rows],
            pop_bits=self.pop_bits[rows],
            gender_bits=self.gender_bits[rows],
            children_max_age=self.children_max_age[rows],
            family_max=self.family_max[rows],
            capacity=self.capacity[rows],
            flags={k: v[rows] for k, v in self.flags.items()},
            count_age=self.count_age[rows],
            specialisation=self.specialisation[rows],
            languages={k: v[rows] for k, v in self.languages.items()},
        )


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
    genders = {m.gender for m in h.members}
    if len(genders) == 1:
        beds = _ADULT_BEDS.get(next(iter(genders)), ("adult_any",))
        return tuple(BedNeed(b, h.size) for b in beds)
    return (BedNeed("adult_any", h.size),)


def fitting_bed_needs(h: Household, s: ShelterOption) -> tuple[BedNeed, ...]:
    """The bed needs that the shelter's available capacity can cover now."""
    return tuple(n for n in bed_needs(h, s) if s.beds(n.bed_type) >= n.count)


_NO_FIT = np.int64(1 << 40)


def bed_need_columns(h: Household, arr: ShelterArrays) -> list[tuple[str, IntArray]]:
    """Vectorised `bed_needs`: per bed type, the count needed at each shelter (huge = never)."""
    n = len(arr)
    if not h.has_adult:
        return [("youth", np.full(n, h.size, dtype=np.int64))]
    if h.has_minor:
        fm = arr.family_max
        units = np.where(fm > 0, -(-h.size // np.maximum(fm, 1)), _NO_FIT)
        return [("family_unit", units.astype(np.int64))]
    genders = {m.gender for m in h.members}
    beds = _ADULT_BEDS.get(next(iter(genders)), ("adult_any",)) if len(genders) == 1 else None
    return [(b, np.full(n, h.size, dtype=np.int64)) for b in (beds or ("adult_any",))]


# ---- rules -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Ctx:
    """Inputs of a vectorised rule: the shelter columns and distances from the household."""

    arr: ShelterArrays
    dist_m: NDArray[np.float64]


@dataclass(frozen=True)
class Rule:
    code: str
    sentence: str
    check: Callable[[Household, ShelterOption], bool]
    check_all: Callable[[Household, Ctx], BoolArray]


def _all(ctx: Ctx, value: bool) -> BoolArray:
    return np.full(len(ctx.arr), value, dtype=np.bool_)


def _in_radius(h: Household, s: ShelterOption) -> bool:
    return any(haversine_m(p.lat, p.lon, s.lat, s.lon) <= p.radius_m for p in h.exclusions.points)


def _in_radius_all(h: Household, ctx: Ctx) -> BoolArray:
    from solvers.geo import haversine_m_many

    out = _all(ctx, False)
    for p in h.exclusions.points:
        # Compare after rounding, exactly as the scalar rule does, so both agree at the edge.
        d = np.rint(haversine_m_many(p.lat, p.lon, ctx.arr.lat, ctx.arr.lon))
        out |= d <= p.radius_m
    return out


def _states(h: Household) -> set[str]:
    return {x.strip().upper() for x in h.exclusions.states}


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


def _city_excluded_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for c in h.exclusions.cities:
        if "," in c:
            cname, _, cstate = c.rpartition(",")
            out |= ctx.arr.city_key == city_key(cname, cstate)
        else:
            out |= ctx.arr.city_name == c.strip().casefold()
    return out


def _relevant_genders(h: Household) -> set[str]:
    # Children placed with their family are not screened by gender; everyone else is.
    people = [m for m in h.members if m.age >= ADULT_AGE] if h.has_adult else list(h.members)
    return {m.gender for m in people}


def _served(h: Household, pops: frozenset[str]) -> bool:
    if not h.has_adult:
        return "youth_12_17" in pops
    if h.has_minor:
        return "families_with_children" in pops
    return all(
        _ADULT_POPULATION[m.gender] in pops
        or (m.age <= YOUNG_ADULT_MAX_AGE and "young_adults_18_24" in pops)
        for m in h.members
    )


def _served_all(h: Household, ctx: Ctx) -> BoolArray:
    bits = ctx.arr.pop_bits
    if not h.has_adult or h.has_minor:
        pop = "families_with_children" if h.has_adult else "youth_12_17"
        served: BoolArray = (bits & _POP_BIT[pop]) != 0
        return served
    out = _all(ctx, True)
    young = (bits & _POP_BIT["young_adults_18_24"]) != 0
    for m in h.members:
        ok = (bits & _POP_BIT[_ADULT_POPULATION[m.gender]]) != 0
        out &= ok | young if m.age <= YOUNG_ADULT_MAX_AGE else ok
    return out


def _max_minor_age(h: Household) -> int:
    return max((m.age for m in h.members if m.age < ADULT_AGE), default=-1)


def _takes_children_needed(h: Household) -> bool:
    return h.has_adult and (h.has_minor or "children" in h.needs)


def _fits(h: Household, s: ShelterOption) -> bool:
    return any(s.beds(n.bed_type) > 0 for n in bed_needs(h, s))


def _fits_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for b, need in bed_need_columns(h, ctx.arr):
        out |= (ctx.arr.capacity[:, BED_COLUMN[b]] > 0) & (need < _NO_FIT)
    return out


def _enough(h: Household, s: ShelterOption) -> bool:
    return bool(fitting_bed_needs(h, s)) or not _fits(h, s)


def _enough_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for b, need in bed_need_columns(h, ctx.arr):
        out |= ctx.arr.capacity[:, BED_COLUMN[b]] >= need
    return out | ~_fits_all(h, ctx)


def _flag_rule(code: str, sentence: str, need: str, flag: str) -> Rule:
    return Rule(
        code,
        sentence,
        lambda h, s: need not in h.needs or bool(getattr(s, flag)),
        lambda h, c: c.arr.flags[flag] if need in h.needs else _all(c, True),
    )


def _requirement_rule(code: str, sentence: str, flag: str, attr: str, met: bool) -> Rule:
    # `met` is the household attribute value that satisfies the shelter's requirement.
    return Rule(
        code,
        sentence,
        lambda h, s: not getattr(s, flag) or getattr(h, attr) == met,
        lambda h, c: ~c.arr.flags[flag] if getattr(h, attr) != met else _all(c, True),
    )


HARD_RULES: tuple[Rule, ...] = (
    Rule(
        "excluded_shelter",
        "The survivor asked to avoid this shelter (the trafficker knows it).",
        lambda h, s: s.shelter_id not in h.exclusions.shelter_ids,
        lambda h, c: ~np.isin(c.arr.ids, list(h.exclusions.shelter_ids)),
    ),
    Rule(
        "excluded_state",
        "The shelter is in a state the survivor must avoid.",
        lambda h, s: s.state.strip().upper() not in _states(h),
        lambda h, c: ~np.isin(c.arr.state, sorted(_states(h))),
    ),
    Rule(
        "excluded_city",
        "The shelter is in a city the survivor must avoid.",
        lambda h, s: not _city_excluded(h, s),
        lambda h, c: ~_city_excluded_all(h, c),
    ),
    Rule(
        "inside_exclusion_radius",
        "The shelter lies inside an area the survivor must stay away from.",
        lambda h, s: not _in_radius(h, s),
        lambda h, c: ~_in_radius_all(h, c),
    ),
    Rule(
        "beyond_max_travel",
        "The shelter is farther away than the survivor is willing to travel.",
        lambda h, s: haversine_m(h.lat, h.lon, s.lat, s.lon) <= h.max_travel_km * 1000,
        lambda h, c: np.rint(c.dist_m) <= h.max_travel_km * 1000,
    ),
    Rule(
        "intake_closed",
        "The shelter is not taking intakes right now.",
        lambda h, s: s.intake_open_now,
        lambda h, c: c.arr.flags["intake_open_now"],
    ),
    Rule(
        "unaccompanied_child_under_12",
        "A child under 12 without an adult needs a child-protective placement, not a shelter bed.",
        lambda h, s: h.has_adult or min(m.age for m in h.members) >= YOUTH_MIN_AGE,
        lambda h, c: _all(c, h.has_adult or min(m.age for m in h.members) >= YOUTH_MIN_AGE),
    ),
    Rule(
        "population_not_served",
        "The shelter does not serve this household's population (e.g. men, families, youth).",
        lambda h, s: _served(h, s.populations),
        _served_all,
    ),
    Rule(
        "gender_not_accepted",
        "The shelter does not accept the gender identity of someone in the household.",
        lambda h, s: _relevant_genders(h) <= s.genders,
        lambda h, c: (c.arr.gender_bits & (m := sum(_GENDER_BIT[g] for g in _relevant_genders(h))))
        == m,
    ),
    Rule(
        "children_not_accepted",
        "The shelter does not take children.",
        lambda h, s: not _takes_children_needed(h) or s.children_max_age is not None,
        lambda h, c: c.arr.children_max_age >= 0 if _takes_children_needed(h) else _all(c, True),
    ),
    Rule(
        "child_over_age_limit",
        "A child in the household is older than the shelter's age limit for children.",
        lambda h, s: not h.has_adult
        or s.children_max_age is None
        or _max_minor_age(h) <= s.children_max_age,
        lambda h, c: (c.arr.children_max_age < 0) | (c.arr.children_max_age >= _max_minor_age(h))
        if h.has_adult
        else _all(c, True),
    ),
    _flag_rule(
        "not_wheelchair_accessible",
        "The shelter is not wheelchair accessible.",
        "wheelchair",
        "wheelchair_accessible",
    ),
    _flag_rule("pets_not_allowed", "The shelter does not allow pets.", "pets", "pets_allowed"),
    _flag_rule(
        "no_medical_support", "The shelter cannot support medical needs.", "medical",
        "medical_support",
    ),
    _requirement_rule(
        "photo_id_required", "The shelter requires a photo ID.", "requires_photo_id",
        "has_photo_id", True,
    ),
    _requirement_rule(
        "referral_required", "The shelter requires a referral.", "requires_referral",
        "has_referral", True,
    ),
    _requirement_rule(
        "sobriety_required", "The shelter requires sobriety.", "requires_sobriety",
        "accepts_sobriety_requirement", True,
    ),
    Rule(
        "no_fitting_bed_type",
        "The shelter has no free bed of a type this household can use.",
        _fits,
        _fits_all,
    ),
    Rule(
        "not_enough_beds",
        "The shelter has fitting beds free, but fewer than the household needs.",
        _enough,
        _enough_all,
    ),
)

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


def rule_masks(h: Household, ctx: Ctx) -> list[tuple[str, BoolArray]]:
    """Vectorised verdicts: per hard rule, which shelters pass it."""
    return [(r.code, r.check_all(h, ctx)) for r in HARD_RULES]


# ---- soft rules (preferences) ----------------------------------------------------------


def _covers(specialisation: str, trafficking_type: str) -> bool:
    if trafficking_type == "none":
        return False
    return specialisation == "both" or specialisation == trafficking_type


def language_match(h: Household, s: ShelterOption) -> bool:
    langs = {x.casefold() for x in s.languages}
    return any(x.casefold() in langs for x in h.languages)


def specialisation_match(h: Household, s: ShelterOption) -> bool:
    return _covers(s.trafficking_specialisation, h.trafficking_type)


def is_fresh(s: ShelterOption, fresh_max_age_minutes: int) -> bool:
    return s.count_age_minutes <= fresh_max_age_minutes


def language_match_all(h: Household, arr: ShelterArrays) -> BoolArray:
    out = np.zeros(len(arr), dtype=np.bool_)
    for lang in h.languages:
        col = arr.languages.get(lang.casefold())
        if col is not None:
            out |= col
    return out


def specialisation_match_all(h: Household, arr: ShelterArrays) -> BoolArray:
    if h.trafficking_type == "none":
        return np.zeros(len(arr), dtype=np.bool_)
    out: BoolArray = (arr.specialisation == "both") | (arr.specialisation == h.trafficking_type)
    return out
