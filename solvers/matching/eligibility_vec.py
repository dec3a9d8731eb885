"""Vectorised eligibility: the hard and soft rules over a column view of thousands of shelters.

`ShelterArrays` turns a shelter list into numpy columns once; `take` cuts the rows a
geographic pre-filter kept. `VECTOR_CHECKS` holds, per rule code, the vectorised twin of the
scalar predicate in `solvers.matching.eligibility` (a Hypothesis test keeps each pair equal), and
`bed_need_columns` says, per bed type, how many beds or units a household needs at each shelter.
Ranking and batch candidate generation use only this module; explanations and the independent
validator use the scalar rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from solvers.geo import haversine_m_many
from solvers.matching.eligibility_common import (
    ADULT_POPULATION,
    BED_COLUMN,
    GENDER_BIT,
    POP_BIT,
    YOUNG_ADULT_MAX_AGE,
    adult_bed_types,
    city_key,
    excluded_states,
    max_minor_age,
    old_enough_alone,
    relevant_genders,
    takes_children_needed,
)
from solvers.matching.types import BED_TYPES, Household, ShelterOption

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
FLAG_NAMES = (
    "intake_open_now",
    "wheelchair_accessible",
    "pets_allowed",
    "medical_support",
    "requires_photo_id",
    "requires_referral",
    "requires_sobriety",
)


@dataclass(frozen=True)
class ShelterArrays:
    """Column view of a shelter list for vectorised rules; row i is `shelters[i]`."""

    shelters: NDArray[np.object_]
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
    uncertainty_m: IntArray

    @classmethod
    def build(cls, shelters: Sequence[ShelterOption]) -> ShelterArrays:
        n = len(shelters)
        s = tuple(shelters)
        objs = np.empty(n, dtype=np.object_)
        for i, sh in enumerate(s):
            objs[i] = sh
        langs: dict[str, BoolArray] = {}
        for i, sh in enumerate(s):
            for lang in sh.languages:
                langs.setdefault(lang.casefold(), np.zeros(n, dtype=np.bool_))[i] = True
        cap = np.zeros((n, len(BED_TYPES)), dtype=np.int64)
        for i, sh in enumerate(s):
            for b, k in sh.available.items():
                cap[i, BED_COLUMN[b]] = k
        return cls(
            shelters=objs,
            ids=np.array([x.shelter_id for x in s], dtype=np.str_),
            lat=np.array([x.lat for x in s], dtype=np.float64),
            lon=np.array([x.lon for x in s], dtype=np.float64),
            state=np.array([x.state.strip().upper() for x in s], dtype=np.str_),
            city_name=np.array([x.city.strip().casefold() for x in s], dtype=np.str_),
            city_key=np.array([city_key(x.city, x.state) for x in s], dtype=np.str_),
            pop_bits=np.array([sum(POP_BIT[p] for p in x.populations) for x in s], np.int64),
            gender_bits=np.array([sum(GENDER_BIT[g] for g in x.genders) for x in s], np.int64),
            children_max_age=np.array(
                [-1 if x.children_max_age is None else x.children_max_age for x in s], np.int64
            ),
            family_max=np.array([x.family_unit_max_household for x in s], dtype=np.int64),
            capacity=cap,
            flags={f: np.array([bool(getattr(x, f)) for x in s], np.bool_) for f in FLAG_NAMES},
            count_age=np.array([x.count_age_minutes for x in s], dtype=np.int64),
            specialisation=np.array([x.trafficking_specialisation for x in s], dtype=np.str_),
            languages=langs,
            uncertainty_m=np.array([x.location_uncertainty_m for x in s], dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, rows: IntArray) -> ShelterArrays:
        """The sub-table of the given rows (used after a geographic pre-filter)."""
        return ShelterArrays(
            shelters=self.shelters[rows],
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
            uncertainty_m=self.uncertainty_m[rows],
        )


@dataclass(frozen=True)
class Ctx:
    """Inputs of a vectorised rule: the shelter columns and distances from the household."""

    arr: ShelterArrays
    dist_m: NDArray[np.float64]


NO_FIT = np.int64(1 << 40)


def bed_need_columns(h: Household, arr: ShelterArrays) -> list[tuple[str, IntArray]]:
    """Vectorised `bed_needs`: per bed type, the count needed at each shelter (huge = never)."""
    n = len(arr)
    if not h.has_adult:
        return [("youth", np.full(n, h.size, dtype=np.int64))]
    if h.has_minor:
        fm = arr.family_max
        units = np.where(fm > 0, -(-h.size // np.maximum(fm, 1)), NO_FIT)
        return [("family_unit", units.astype(np.int64))]
    return [(b, np.full(n, h.size, dtype=np.int64)) for b in adult_bed_types(h)]


def _all(ctx: Ctx, value: bool) -> BoolArray:
    return np.full(len(ctx.arr), value, dtype=np.bool_)


def _in_radius_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for p in h.exclusions.points:
        # Compare after rounding, exactly as the scalar rule does, so both agree at the edge.
        d = np.rint(haversine_m_many(p.lat, p.lon, ctx.arr.lat, ctx.arr.lon))
        out |= d <= p.radius_m + ctx.arr.uncertainty_m
    return out


def _city_excluded_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for c in h.exclusions.cities:
        if "," in c:
            cname, _, cstate = c.rpartition(",")
            out |= ctx.arr.city_key == city_key(cname, cstate)
        else:
            out |= ctx.arr.city_name == c.strip().casefold()
    return out


def _served_all(h: Household, ctx: Ctx) -> BoolArray:
    bits = ctx.arr.pop_bits
    if not h.has_adult or h.has_minor:
        pop = "families_with_children" if h.has_adult else "youth_12_17"
        served: BoolArray = (bits & POP_BIT[pop]) != 0
        return served
    out = _all(ctx, True)
    young = (bits & POP_BIT["young_adults_18_24"]) != 0
    for m in h.members:
        ok = (bits & POP_BIT[ADULT_POPULATION[m.gender]]) != 0
        out &= ok | young if m.age <= YOUNG_ADULT_MAX_AGE else ok
    return out


def _gender_all(h: Household, ctx: Ctx) -> BoolArray:
    m = sum(GENDER_BIT[g] for g in relevant_genders(h))
    out: BoolArray = (ctx.arr.gender_bits & m) == m
    return out


def _child_age_all(h: Household, ctx: Ctx) -> BoolArray:
    if not h.has_adult:
        return _all(ctx, True)
    cma = ctx.arr.children_max_age
    out: BoolArray = (cma < 0) | (cma >= max_minor_age(h))
    return out


def _fits_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for b, need in bed_need_columns(h, ctx.arr):
        out |= (ctx.arr.capacity[:, BED_COLUMN[b]] > 0) & (need < NO_FIT)
    return out


def _enough_all(h: Household, ctx: Ctx) -> BoolArray:
    out = _all(ctx, False)
    for b, need in bed_need_columns(h, ctx.arr):
        out |= ctx.arr.capacity[:, BED_COLUMN[b]] >= need
    return out | ~_fits_all(h, ctx)


def _flag_all(need: str, flag: str) -> Callable[[Household, Ctx], BoolArray]:
    return lambda h, c: c.arr.flags[flag] if need in h.needs else _all(c, True)


def _requirement_all(flag: str, attr: str, met: bool) -> Callable[[Household, Ctx], BoolArray]:
    # `met` is the household attribute value that satisfies the shelter's requirement.
    return lambda h, c: ~c.arr.flags[flag] if getattr(h, attr) != met else _all(c, True)


VECTOR_CHECKS: dict[str, Callable[[Household, Ctx], BoolArray]] = {
    "excluded_shelter": lambda h, c: ~np.isin(c.arr.ids, list(h.exclusions.shelter_ids)),
    "excluded_state": lambda h, c: ~np.isin(c.arr.state, sorted(excluded_states(h))),
    "excluded_city": lambda h, c: ~_city_excluded_all(h, c),
    "inside_exclusion_radius": lambda h, c: ~_in_radius_all(h, c),
    "beyond_max_travel": lambda h, c: np.rint(c.dist_m) <= h.max_travel_km * 1000,
    "intake_closed": lambda h, c: c.arr.flags["intake_open_now"],
    "unaccompanied_child_under_12": lambda h, c: _all(c, old_enough_alone(h)),
    "population_not_served": _served_all,
    "gender_not_accepted": _gender_all,
    "children_not_accepted": lambda h, c: (
        c.arr.children_max_age >= 0 if takes_children_needed(h) else _all(c, True)
    ),
    "child_over_age_limit": _child_age_all,
    "not_wheelchair_accessible": _flag_all("wheelchair", "wheelchair_accessible"),
    "pets_not_allowed": _flag_all("pets", "pets_allowed"),
    "no_medical_support": _flag_all("medical", "medical_support"),
    "photo_id_required": _requirement_all("requires_photo_id", "has_photo_id", True),
    "referral_required": _requirement_all("requires_referral", "has_referral", True),
    "sobriety_required": _requirement_all(
        "requires_sobriety", "accepts_sobriety_requirement", True
    ),
    "no_fitting_bed_type": _fits_all,
    "not_enough_beds": _enough_all,
}


def rule_masks(h: Household, ctx: Ctx) -> list[tuple[str, BoolArray]]:
    """Vectorised verdicts: per hard rule (in rule order), which shelters pass it."""
    return [(code, check(h, ctx)) for code, check in VECTOR_CHECKS.items()]


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
