"""Value types of joint return planning: cases going home, destination beds, candidate trips,
funding sources in; chosen (bed, trip, source) per case, reasons, bound and gap out.

Every type is a frozen dataclass of plain values. Times are integer UTC epoch minutes, money
integer cents, distances integer metres. A `ReturnOption` is one way home for one case: a bed
type at a destination shelter reached by one candidate itinerary. Funding sources reuse
`solvers.travel_allocation.SourceRule` (budget, age range, lifetime tickets, priority).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from solvers.travel_allocation import SourceRule

__all__ = [
    "BedPool",
    "Chosen",
    "ExclusionZone",
    "NotHome",
    "ObjectiveValue",
    "PlanOptions",
    "ReturnCase",
    "ReturnInstance",
    "ReturnOption",
    "ReturnResult",
    "SourceRule",
    "TripOption",
]


@dataclass(frozen=True, slots=True)
class ExclusionZone:
    lat: float
    lon: float
    radius_m: int


@dataclass(frozen=True, slots=True)
class BedPool:
    """Free beds of one bed type at one destination shelter, and when a hold there can last.

    `uncertainty_m` is how far the true point may lie from (`lat`, `lon`) (a safe house is known
    only at its public cell point): exclusion zones are widened by it, so conservative.
    `intake` lists (open, close) windows in epoch minutes when a household may arrive; an
    arrival outside them needs `late_arrival_ok`. `hold_until` is the latest minute a hold
    placed now can last (now + the shelter's `max_hold_minutes`)."""

    shelter_id: str
    bed_type: str
    free: int
    state: str
    lat: float
    lon: float
    hold_until: int
    intake: tuple[tuple[int, int], ...] = ()
    late_arrival_ok: bool = False
    uncertainty_m: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.shelter_id, self.bed_type)


@dataclass(frozen=True, slots=True)
class TripOption:
    itinerary_id: str
    depart: int
    arrive: int
    cost_cents: int

    @property
    def minutes(self) -> int:
        return self.arrive - self.depart


@dataclass(frozen=True, slots=True)
class ReturnOption:
    """One way home: `beds` of (`shelter_id`, `bed_type`) reached by `trip`; `preference`
    points (language, specialisation, ...) break the last ties."""

    shelter_id: str
    bed_type: str
    beds: int
    trip: TripOption
    preference: int = 0


@dataclass(frozen=True, slots=True)
class ReturnCase:
    case_id: str
    urgency: int
    ages: tuple[int, ...]
    options: tuple[ReturnOption, ...]
    excluded_shelters: frozenset[str] = frozenset()
    excluded_states: frozenset[str] = frozenset()
    zones: tuple[ExclusionZone, ...] = ()
    used_lifetime: frozenset[str] = frozenset()
    # Reasons found before the solver (no shelter near the destination, no itinerary, ...).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlanOptions:
    minor_bonus: int = 5
    hold_buffer_minutes: int = 120
    time_limit_s: float = 10.0
    num_workers: int = 2
    random_seed: int = 0


@dataclass(frozen=True, slots=True)
class ReturnInstance:
    now: int
    cases: tuple[ReturnCase, ...]
    beds: tuple[BedPool, ...]
    sources: tuple[SourceRule, ...]
    options: PlanOptions = field(default_factory=PlanOptions)


@dataclass(frozen=True, slots=True)
class Chosen:
    case_id: str
    shelter_id: str
    bed_type: str
    beds: int
    itinerary_id: str
    depart: int
    arrive: int
    cost_cents: int
    source_id: str | None
    hold_until: int
    preference: int = 0


@dataclass(frozen=True, slots=True)
class NotHome:
    case_id: str
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True, order=True)
class ObjectiveValue:
    """The four levels, in priority order: weighted persons home (more is better), travel
    minutes, cost cents (less is better), preference points (more is better)."""

    weighted_persons: int
    travel_minutes: int
    cost_cents: int
    preference: int


@dataclass(frozen=True, slots=True)
class ReturnResult:
    status: str  # optimal | feasible | infeasible (nothing placeable)
    chosen: tuple[Chosen, ...]
    unplaced: tuple[NotHome, ...]
    objective: ObjectiveValue
    bound: int  # proven upper bound on level 1 over the options given
    gap: float
    level_status: tuple[str, ...]
    persons: int
