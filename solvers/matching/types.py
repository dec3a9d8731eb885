"""Value types for shelter matching: what goes into the engine and what comes out.

Every type is a frozen dataclass of plain values, validated on construction so that malformed
input fails fast with an error naming the field (see `solvers.errors`), while a household that
simply fits nowhere is a normal result. Distances are integer metres and times integer minutes
at this boundary; `distance_km` is offered as a derived convenience for the HTTP layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from solvers.errors import (
    InvalidHouseholdError,
    InvalidOptionsError,
    InvalidShelterError,
    SolverInputError,
)

POPULATIONS = frozenset(
    {
        "adult_women",
        "adult_men",
        "transgender_nonbinary_adults",
        "families_with_children",
        "youth_12_17",
        "young_adults_18_24",
    }
)
BED_TYPES = ("adult_female", "adult_male", "adult_any", "youth", "family_unit")
GENDERS = frozenset({"female", "male", "transgender", "nonbinary"})
NEEDS = frozenset({"wheelchair", "pets", "children", "medical"})
TRAFFICKING_TYPES = frozenset({"sex", "labor", "both", "none"})
ADULT_AGE = 18


def _check_lat_lon(err: type[SolverInputError], prefix: str, lat: float, lon: float) -> None:
    if not -90.0 <= lat <= 90.0:
        raise err(f"{prefix}lat", "latitude must be within -90..90")
    if not -180.0 <= lon <= 180.0:
        raise err(f"{prefix}lon", "longitude must be within -180..180")


@dataclass(frozen=True)
class Member:
    """One person of a household: only what placement needs (age, gender identity)."""

    age: int
    gender: str


@dataclass(frozen=True)
class ExclusionCircle:
    """A place the survivor must be kept away from, with a radius in metres."""

    lat: float
    lon: float
    radius_m: int


@dataclass(frozen=True)
class ExclusionZones:
    """Safety exclusions. Cities are "Name" (any state) or "Name, ST"; states are 2-letter codes."""

    points: tuple[ExclusionCircle, ...] = ()
    cities: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    shelter_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Household:
    """A case to place whole: members travel together and go to one shelter and bed type."""

    case_ref: str
    members: tuple[Member, ...]
    lat: float
    lon: float
    urgency: int = 3
    max_travel_km: int = 800
    languages: tuple[str, ...] = ()
    needs: frozenset[str] = frozenset()
    trafficking_type: str = "none"
    exclusions: ExclusionZones = ExclusionZones()
    has_photo_id: bool = False
    has_referral: bool = False
    accepts_sobriety_requirement: bool = True

    def __post_init__(self) -> None:
        err = InvalidHouseholdError
        if not self.case_ref:
            raise err("case_ref", "must be a non-empty string")
        if not self.members:
            raise err("members", "a household needs at least one member")
        for i, m in enumerate(self.members):
            if not isinstance(m.age, int) or not 0 <= m.age <= 120:
                raise err(f"members[{i}].age", "age must be an integer within 0..120")
            if m.gender not in GENDERS:
                raise err(f"members[{i}].gender", f"unknown gender identity {m.gender!r}")
        _check_lat_lon(err, "location.", self.lat, self.lon)
        if not 1 <= self.urgency <= 5:
            raise err("urgency", "urgency must be within 1..5")
        if self.max_travel_km < 0:
            raise err("max_travel_km", "must be >= 0")
        unknown = set(self.needs) - NEEDS
        if unknown:
            raise err("needs", f"unknown needs {sorted(unknown)}")
        if self.trafficking_type not in TRAFFICKING_TYPES:
            raise err("trafficking_type", f"unknown type {self.trafficking_type!r}")
        for i, p in enumerate(self.exclusions.points):
            _check_lat_lon(err, f"exclusions.points[{i}].", p.lat, p.lon)
            if p.radius_m < 0:
                raise err(f"exclusions.points[{i}].radius_m", "must be >= 0")

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def has_adult(self) -> bool:
        return any(m.age >= ADULT_AGE for m in self.members)

    @property
    def has_minor(self) -> bool:
        return any(m.age < ADULT_AGE for m in self.members)


@dataclass(frozen=True)
class ShelterOption:
    """A shelter as the matcher sees it: attributes plus capacity available now.

    `available` maps bed type to beds (or, for `family_unit`, units) free net of active holds.
    `count_age_minutes` is how long ago that count was confirmed (staleness).
    `children_max_age` is None when the shelter takes no children.
    `location_uncertainty_m` is how far the true place may lie from (`lat`, `lon`): a safe house
    reaches the matcher only as its public cell's point, so exclusion zones are tested against
    every place the house could be (0 for a shelter whose place is public).
    """

    shelter_id: str
    lat: float
    lon: float
    populations: frozenset[str]
    available: Mapping[str, int] = field(hash=False)
    city: str = ""
    state: str = ""
    genders: frozenset[str] = GENDERS
    languages: frozenset[str] = frozenset({"en"})
    family_unit_max_household: int = 0
    children_max_age: int | None = None
    wheelchair_accessible: bool = False
    pets_allowed: bool = False
    medical_support: bool = False
    requires_photo_id: bool = False
    requires_referral: bool = False
    requires_sobriety: bool = False
    trafficking_specialisation: str = "none"
    intake_open_now: bool = True
    count_age_minutes: int = 0
    confidential: bool = False
    location_uncertainty_m: int = 0

    def __post_init__(self) -> None:
        err = InvalidShelterError
        if not self.shelter_id:
            raise err("shelter_id", "must be a non-empty string")
        _check_lat_lon(err, "", self.lat, self.lon)
        if not set(self.populations) <= POPULATIONS:
            raise err("populations", f"unknown {sorted(set(self.populations) - POPULATIONS)}")
        if not set(self.genders) <= GENDERS:
            raise err("genders", f"unknown {sorted(set(self.genders) - GENDERS)}")
        for bed_type, n in self.available.items():
            if bed_type not in BED_TYPES:
                raise err(f"available.{bed_type}", "unknown bed type")
            if not isinstance(n, int) or n < 0:
                raise err(f"available.{bed_type}", "must be an integer >= 0")
        if self.family_unit_max_household < 0:
            raise err("family_unit_max_household", "must be >= 0")
        if self.children_max_age is not None and not 0 <= self.children_max_age < ADULT_AGE:
            raise err("children_max_age", "must be within 0..17 or None")
        if self.trafficking_specialisation not in TRAFFICKING_TYPES:
            raise err("trafficking_specialisation", "must be one of sex, labor, both, none")
        if self.count_age_minutes < 0:
            raise err("count_age_minutes", "must be >= 0")
        if self.location_uncertainty_m < 0:
            raise err("location_uncertainty_m", "must be >= 0")
        # A read-only copy: callers cannot mutate capacity behind a solver's back.
        object.__setattr__(self, "available", MappingProxyType(dict(self.available)))

    def beds(self, bed_type: str) -> int:
        return self.available.get(bed_type, 0)


@dataclass(frozen=True)
class MatchWeights:
    """Weights for priority and preferences.

    Person priority = urgency, plus `minor_bonus` for a minor; with the default bonus of 5 any
    minor (6..10) outranks any adult (1..5). Preference points (batch level 3) and ranking
    bonuses (single household, in minutes of travel they are worth) are separate so that an
    advocate's list and a batch plan can be tuned independently.
    """

    minor_bonus: int = 5
    language: int = 3
    specialisation: int = 2
    fresh: int = 1
    fresh_max_age_minutes: int = 720
    rank_language_minutes: int = 120
    rank_specialisation_minutes: int = 90
    rank_fresh_minutes: int = 30

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            if getattr(self, name) < 0:
                raise InvalidOptionsError(f"weights.{name}", "must be >= 0")

    def person_priority(self, household: Household) -> int:
        return sum(
            household.urgency + (self.minor_bonus if m.age < ADULT_AGE else 0)
            for m in household.members
        )


@dataclass(frozen=True)
class BatchOptions:
    """Solver settings. `candidate_k` = 0 disables pruning (every eligible pair is modelled)."""

    max_time_in_seconds: float = 10.0
    num_workers: int = 2
    random_seed: int = 0
    candidate_k: int = 20
    max_candidate_k: int = 640
    time_limit_cap_seconds: float = 300.0
    strict_exclusion_ids: bool = True
    interleave_search: bool = False
    deterministic_time_per_second: float = 0.6

    def __post_init__(self) -> None:
        err = InvalidOptionsError
        if not 0 < self.max_time_in_seconds <= self.time_limit_cap_seconds:
            raise err("max_time_in_seconds", f"must be in (0, {self.time_limit_cap_seconds}]")
        if not 1 <= self.num_workers <= 64:
            raise err("num_workers", "must be within 1..64")
        if self.deterministic_time_per_second <= 0:
            raise err("deterministic_time_per_second", "must be > 0")
        if self.candidate_k < 0 or self.max_candidate_k < 1:
            raise err("candidate_k", "must be >= 0 (0 = no pruning)")


@dataclass(frozen=True)
class Assignment:
    """One household placed: which shelter, which bed type, how many beds or units."""

    case_ref: str
    shelter_id: str
    bed_type: str
    beds: int
    distance_m: int
    travel_minutes: int

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000, 1)


@dataclass(frozen=True)
class Unplaced:
    """A household left without a place, with reason codes (see `eligibility.REASONS`)."""

    case_ref: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Objective:
    """The lexicographic objective, level by level, plus plain counts for reporting."""

    weighted_persons: int
    travel_m: int
    preference: int
    persons: int
    households: int


@dataclass(frozen=True)
class Certificate:
    """How far the pruned model's answer is from the best any model could do.

    `upper_bound` bounds level 1 (priority-weighted persons) over ALL eligible pairs, from a
    min-cost-flow relaxation in which households may split. `certified` is True when the
    solution reaches that bound (pruning provably lost nothing at level 1) or when every
    eligible pair was modelled and CP-SAT proved level 1 optimal.
    """

    upper_bound: int
    certified: bool
    candidate_k: int
    rounds: int
    pairs_eligible: int
    pairs_modelled: int


@dataclass(frozen=True)
class BatchResult:
    """Result of a batch solve (or the greedy baseline).

    status: "optimal" (all three levels proven, level 1 certified against the unpruned bound),
    "feasible" (a solution, not proven; see gap), "timeout" (CP-SAT found nothing in time; the
    greedy plan is returned), "infeasible" (no household has any eligible shelter).
    `bound` is an upper bound on objective.weighted_persons; gap = (bound - value) / bound.
    """

    status: str
    assignments: tuple[Assignment, ...]
    unplaced: tuple[Unplaced, ...]
    objective: Objective
    bound: int
    gap: float
    certificate: Certificate | None = None
    level_status: tuple[str, ...] = ()
