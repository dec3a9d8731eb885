"""Hard rules of joint return planning, each with the reason code a case is told.

An option is usable when its shelter is not excluded (named shelter, state, or a zone widened
by the shelter's position uncertainty: conservative, as in matching), its trip leaves after
now, it arrives while a hold placed now can still last (arrival plus the buffer no later than
`hold_until`), and it arrives inside the shelter's intake hours unless a late-arrival
agreement exists. A source may pay when `solvers.travel_allocation.eligibility` says so and the
trip fits its whole budget. Pure functions; the solver and the reports share them, the
validator re-implements them.
"""

from __future__ import annotations

from solvers.geo import haversine_m
from solvers.return_plan.types import BedPool, ReturnCase, ReturnOption
from solvers.travel_allocation import Candidate, CaseNeed, SourceRule, eligibility

ADULT_AGE = 18
REASON_TEXT = {
    "no_candidate": "no bed near the destination had an itinerary to it",
    "excluded_shelter": "the shelter is on the case's exclusion list",
    "excluded_state": "the shelter lies in an excluded state",
    "inside_exclusion_zone": "the shelter is (or may be) inside an exclusion zone",
    "departs_in_past": "the itinerary has already left",
    "hold_lapses_before_arrival": "a hold would lapse before the arrival plus buffer",
    "outside_intake_hours": "arrival falls outside intake hours, with no late-arrival agreement",
    "no_eligible_funding": "no funding source may pay for this household",
    "over_every_budget": "every usable trip costs more than any eligible source's budget",
    "not_enough_free_beds": "the shelter has fewer free beds than the household needs",
    "capacity_or_budget_used_by_higher_priority":
        "the beds or money went to cases with more priority-weighted persons",
}


def weight(case: ReturnCase, minor_bonus: int) -> int:
    """Priority-weighted persons, as batch matching counts them."""
    return sum(case.urgency + (minor_bonus if a < ADULT_AGE else 0) for a in case.ages)


def option_problem(case: ReturnCase, opt: ReturnOption, pool: BedPool | None, *, now: int,
                   buffer: int) -> str | None:
    """None when `opt` may be used for `case`, else the first rule it breaks."""
    if pool is None or pool.free < opt.beds:
        return "not_enough_free_beds"
    if opt.shelter_id in case.excluded_shelters:
        return "excluded_shelter"
    if pool.state in case.excluded_states:
        return "excluded_state"
    for z in case.zones:
        if haversine_m(z.lat, z.lon, pool.lat, pool.lon) - pool.uncertainty_m <= z.radius_m:
            return "inside_exclusion_zone"
    if opt.trip.depart < now:
        return "departs_in_past"
    if opt.trip.arrive + buffer > pool.hold_until:
        return "hold_lapses_before_arrival"
    if pool.intake and not pool.late_arrival_ok and not any(
            lo <= opt.trip.arrive <= hi for lo, hi in pool.intake):
        return "outside_intake_hours"
    return None


def payers(case: ReturnCase, cost: int, sources: tuple[SourceRule, ...]) -> list[int]:
    """Indexes of the sources that may pay `cost` for `case` (a free trip needs none: [-1])."""
    if cost == 0:
        return [-1]
    need = CaseNeed(case.case_id, 1, case.ages, (Candidate("x", cost),), case.used_lifetime)
    return [i for i, s in enumerate(sources)
            if eligibility(need, s) is None and cost <= s.budget_cents]


def funding_problem(case: ReturnCase, costs: list[int],
                    sources: tuple[SourceRule, ...]) -> str | None:
    """Why no usable trip of `case` can be paid for, or None."""
    if any(payers(case, c, sources) for c in costs):
        return None
    need = CaseNeed(case.case_id, 1, case.ages, (), case.used_lifetime)
    if costs and all(c > 0 for c in costs) and not any(
            eligibility(need, s) is None for s in sources):
        return "no_eligible_funding"
    return "over_every_budget"
