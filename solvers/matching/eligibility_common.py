"""Facts about households and shelters that both the scalar and vectorised eligibility rules use.

Bit codes for populations and genders, which adult population and bed types serve which gender,
the age limits, the column of each bed type, and small functions of a household alone (which
genders are screened, the oldest minor, whether the shelter must take children). Keeping them
in one place is what lets `solvers.matching.eligibility` (scalar rules, explanations, the
validator's
view) and `solvers.matching.eligibility_vec` (the vectorised pre-filter) agree by construction.
"""

from __future__ import annotations

from solvers.matching.types import ADULT_AGE, BED_TYPES, GENDERS, POPULATIONS, Household

POP_BIT = {p: 1 << i for i, p in enumerate(sorted(POPULATIONS))}
GENDER_BIT = {g: 1 << i for i, g in enumerate(sorted(GENDERS))}
ADULT_POPULATION = {
    "female": "adult_women",
    "male": "adult_men",
    "transgender": "transgender_nonbinary_adults",
    "nonbinary": "transgender_nonbinary_adults",
}
# Transgender and nonbinary adults are offered any-gender beds only: housing them in a gendered
# dorm is a decision for the shelter and the survivor, not for an optimiser.
ADULT_BEDS = {
    "female": ("adult_female", "adult_any"),
    "male": ("adult_male", "adult_any"),
}
YOUNG_ADULT_MAX_AGE = 24
YOUTH_MIN_AGE = 12
BED_COLUMN = {b: i for i, b in enumerate(BED_TYPES)}


def city_key(city: str, state: str) -> str:
    return f"{city.strip().casefold()}|{state.strip().upper()}"


def adult_bed_types(h: Household) -> tuple[str, ...]:
    """Bed types an adults-only household may use (one gender -> gendered or any; else any)."""
    genders = {m.gender for m in h.members}
    if len(genders) == 1:
        return ADULT_BEDS.get(next(iter(genders)), ("adult_any",))
    return ("adult_any",)


def excluded_states(h: Household) -> set[str]:
    return {x.strip().upper() for x in h.exclusions.states}


def relevant_genders(h: Household) -> set[str]:
    # Children placed with their family are not screened by gender; everyone else is.
    people = [m for m in h.members if m.age >= ADULT_AGE] if h.has_adult else list(h.members)
    return {m.gender for m in people}


def max_minor_age(h: Household) -> int:
    return max((m.age for m in h.members if m.age < ADULT_AGE), default=-1)


def takes_children_needed(h: Household) -> bool:
    return h.has_adult and (h.has_minor or "children" in h.needs)


def old_enough_alone(h: Household) -> bool:
    return h.has_adult or min(m.age for m in h.members) >= YOUTH_MIN_AGE
