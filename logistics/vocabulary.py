"""The registry's fixed vocabularies: populations, bed types, specialisations, weekdays.

Populations are stored as a bit mask so that search can filter them in SQL on both databases;
the API always speaks in names.
"""

from __future__ import annotations

from enum import StrEnum


class Population(StrEnum):
    ADULT_WOMEN = "adult_women"
    ADULT_MEN = "adult_men"
    TRANSGENDER_NONBINARY_ADULTS = "transgender_nonbinary_adults"
    FAMILIES_WITH_CHILDREN = "families_with_children"
    YOUTH_12_17 = "youth_12_17"
    YOUNG_ADULTS_18_24 = "young_adults_18_24"


POPULATION_BITS: dict[Population, int] = {p: 1 << i for i, p in enumerate(Population)}


def populations_to_mask(populations: list[Population] | set[Population]) -> int:
    mask = 0
    for population in populations:
        mask |= POPULATION_BITS[Population(population)]
    return mask


def mask_to_populations(mask: int) -> list[Population]:
    return [p for p, bit in POPULATION_BITS.items() if mask & bit]


class BedType(StrEnum):
    ADULT_FEMALE = "adult_female"
    ADULT_MALE = "adult_male"
    ADULT_ANY = "adult_any"
    YOUTH = "youth"
    FAMILY_UNIT = "family_unit"


class Specialisation(StrEnum):
    SEX = "sex"
    LABOR = "labor"
    BOTH = "both"
    NONE = "none"


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

BED_TYPE_SQL = "('adult_female', 'adult_male', 'adult_any', 'youth', 'family_unit')"
SPECIALISATION_SQL = "('sex', 'labor', 'both', 'none')"
