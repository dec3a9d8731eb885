"""Candidate options for joint return planning, and the certificate for what was left out.

The caller (logistics, or a benchmark) finds for each case the eligible beds near its
destination (batch matching's rules, best first) and a Pareto set of itineraries from where the
household is to the destination. `build_options` keeps the `k` best shelters and at most
`per_shelter` itineraries (the earliest arrival and the cheapest always among them, then by
arrival), and makes one option per (shelter, itinerary): arrival at the shelter = the
itinerary's arrival plus the local hand-over from the destination to the shelter.

`widening_certificate` bounds what widening the pools (more shelters, more itineraries) could
gain at level 1: a plan never places more than every case that has any eligible bed in reach,
so `widened_bound = value + weight of the unplaced cases that have one outside the model`
(plus those whose own options were cut short). When that equals the value (every case placed,
or no unplaced case had anything left out) the pruning provably lost nothing: `certified`.
Otherwise `widening_gap = (widened_bound - value) / widened_bound` says how much it might.

Itineraries outside the search's Pareto set (arrival, cost, transfers) are never modelled.
Every rule but one is monotone in them: a dominated itinerary arrives no earlier (so its hold
lapses no later than the dominating one's) and costs no less (so no source pays it that would
not pay the other), and it departs after the same `depart_after`, avoiding the same zones. The
exception is intake hours: a later, dominated arrival may fall inside a window that the
Pareto arrival misses. So, given the instance, a case with an option refused only for intake
hours (`intake_blocked`) counts as cut short, like a case whose pools were truncated. The
certificate speaks of level 1 (weighted persons home) only: a dominated itinerary leaving
later can still be shorter, so levels 2-4 are optimal over the modelled itineraries only.
"""

from __future__ import annotations

from dataclasses import dataclass

from solvers.return_plan.rules import option_problem, weight
from solvers.return_plan.types import (
    ReturnCase,
    ReturnInstance,
    ReturnOption,
    ReturnResult,
    TripOption,
)


@dataclass(frozen=True, slots=True)
class NearBed:
    """An eligible bed type near the destination, as matching ranked it (best first)."""

    shelter_id: str
    bed_type: str
    beds: int
    handover_minutes: int
    preference: int = 0


@dataclass(frozen=True, slots=True)
class Pool:
    """What candidate generation found for one case, before truncation."""

    near: tuple[NearBed, ...]
    trips: tuple[TripOption, ...]


@dataclass(frozen=True, slots=True)
class CandidateCertificate:
    certified: bool
    widened_bound: int
    widening_gap: float
    cases_left_out: int  # unplaced cases with an eligible bed or itinerary outside the model


def pick_trips(trips: tuple[TripOption, ...], per_shelter: int) -> tuple[TripOption, ...]:
    """At most `per_shelter` itineraries: earliest arrival, cheapest, then by arrival."""
    if len(trips) <= per_shelter:
        return tuple(sorted(trips, key=lambda t: (t.arrive, t.cost_cents, t.itinerary_id)))
    by_arrival = sorted(trips, key=lambda t: (t.arrive, t.cost_cents, t.itinerary_id))
    cheapest = min(trips, key=lambda t: (t.cost_cents, t.arrive, t.itinerary_id))
    kept = [by_arrival[0]]
    if cheapest is not by_arrival[0]:
        kept.append(cheapest)
    for t in by_arrival[1:]:
        if len(kept) >= per_shelter:
            break
        if t not in kept:
            kept.append(t)
    return tuple(sorted(kept, key=lambda t: (t.arrive, t.cost_cents, t.itinerary_id)))


def build_options(pool: Pool, *, k: int, per_shelter: int) -> tuple[tuple[ReturnOption, ...],
                                                                     bool]:
    """The options of one case and whether anything eligible was left out."""
    shelters = pool.near[:k]
    trips = pick_trips(pool.trips, per_shelter)
    options = tuple(
        ReturnOption(b.shelter_id, b.bed_type, b.beds,
                     TripOption(t.itinerary_id, t.depart, t.arrive + b.handover_minutes,
                                t.cost_cents),
                     b.preference)
        for b in shelters for t in trips)
    left_out = len(pool.near) > len(shelters) or len(pool.trips) > len(trips)
    return options, left_out


def intake_blocked(instance: ReturnInstance) -> set[str]:
    """Cases with an option refused only for intake hours: a later itinerary outside the
    search's Pareto set might arrive inside the window (see the module docstring)."""
    pools = {b.key: b for b in instance.beds}
    buffer = instance.options.hold_buffer_minutes
    return {c.case_id for c in instance.cases for o in c.options
            if option_problem(c, o, pools.get((o.shelter_id, o.bed_type)), now=instance.now,
                              buffer=buffer) == "outside_intake_hours"}


def widening_certificate(cases: tuple[ReturnCase, ...], result: ReturnResult,
                         left_out: dict[str, bool], minor_bonus: int,
                         instance: ReturnInstance) -> CandidateCertificate:
    """The level-1 certificate. A case refused only for intake hours counts as cut short:
    an itinerary outside the search's Pareto set (later, dearer) may arrive inside the window,
    so for it the pruning is not harmless (`intake_blocked`)."""
    blocked = intake_blocked(instance)
    left_out = {c.case_id: left_out.get(c.case_id, False) or c.case_id in blocked
                for c in cases}
    placed = {c.case_id for c in result.chosen}
    value = result.objective.weighted_persons
    # A case with something left out may, by moving there, free a modelled bed or money for
    # any unplaced case; so once anything was cut short, every unplaced case that has options
    # (an eligible bed and an itinerary) counts. A case with none has no eligible bed in reach
    # or no itinerary at all, and widening the pools cannot help it.
    missing = ([c for c in cases if c.case_id not in placed and c.options]
               if any(left_out.get(c.case_id, False) for c in cases) else [])
    extra = sum(weight(c, minor_bonus) for c in missing)
    bound = value + extra
    share = 0.0 if bound == 0 else extra / bound
    return CandidateCertificate(extra == 0, bound, share, len(missing))
