"""Travel budget allocation: which cases go home on which itinerary, paid by which fund (CP-SAT).

Each case has candidate itineraries (with their cost), a priority, its travellers' ages and the
funds whose once-per-lifetime ticket it has already used; each funding source has a budget, an
age range every traveller must fall in, an optional age from which a traveller gets only one
ticket in a lifetime (a youth programme for ages 12-21 pays once for ages 18-21), and a
priority. At most one (itinerary, source) pair per case; no source spends more than its budget.
Objectives, lexicographically, each solved to optimality and then fixed: (1) the most
priority-weighted survivors sent home, (2) the least money spent, (3) the most use of
higher-priority sources. One search worker and a fixed seed make it deterministic (up to the
time limit, which bounds all three levels; a level cut short keeps the best answer so far and
says it is not proven optimal). Cases left unfunded are reported with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from solvers.errors import AllocationInputError

# OR-Tools' CP-SAT (and the pandas it imports) is imported by the functions that solve, not
# with the module: API workers import this package for its types and rules, and paid ~0.3 s
# of start-up for a solver that runs in a child process (logistics/matching/solver_pool.py).
if TYPE_CHECKING:
    from ortools.sat.python import cp_model


@dataclass(frozen=True, slots=True)
class Candidate:
    itinerary_id: str
    cost_cents: int


@dataclass(frozen=True, slots=True)
class CaseNeed:
    case_id: str
    priority: int
    ages: tuple[int, ...]
    candidates: tuple[Candidate, ...]
    used_lifetime: frozenset[str] = frozenset()

    @property
    def survivors(self) -> int:
        return len(self.ages)


@dataclass(frozen=True, slots=True)
class SourceRule:
    source_id: str
    budget_cents: int
    min_age: int = 0
    max_age: int = 120
    lifetime_from_age: int | None = None
    priority: int = 1


@dataclass(frozen=True, slots=True)
class TripFunding:
    case_id: str
    itinerary_id: str
    source_id: str
    cost_cents: int


@dataclass(frozen=True, slots=True)
class Unfunded:
    case_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Allocation:
    assignments: tuple[TripFunding, ...]
    unfunded: tuple[Unfunded, ...]
    weighted_survivors: int
    spent_cents: dict[str, int] = field(default_factory=dict)
    optimal: bool = True


def eligibility(case: CaseNeed, source: SourceRule) -> str | None:
    """None when `source` may pay for `case`, else why not."""
    outside = [a for a in case.ages if not source.min_age <= a <= source.max_age]
    if outside:
        return (f"{source.source_id}: ages {source.min_age}-{source.max_age} only "
                f"(traveller aged {outside[0]})")
    if (source.lifetime_from_age is not None and source.source_id in case.used_lifetime
            and any(a >= source.lifetime_from_age for a in case.ages)):
        return (f"{source.source_id}: its one lifetime ticket from age "
                f"{source.lifetime_from_age} is already used")
    return None


def validate(cases: list[CaseNeed], sources: list[SourceRule]) -> None:
    for name, ids in (("cases", [c.case_id for c in cases]),
                      ("sources", [s.source_id for s in sources])):
        if len(set(ids)) != len(ids):
            raise AllocationInputError(name, "ids must be unique")
    for i, c in enumerate(cases):
        if c.priority < 1:
            raise AllocationInputError(f"cases.{i}.priority", "must be at least 1")
        if not c.ages:
            raise AllocationInputError(f"cases.{i}.ages", "at least one traveller")
        if any(k.cost_cents < 0 for k in c.candidates):
            raise AllocationInputError(f"cases.{i}.candidates", "cost must not be negative")
    for i, s in enumerate(sources):
        if s.budget_cents < 0:
            raise AllocationInputError(f"sources.{i}.budget_cents", "must not be negative")
        if s.min_age > s.max_age:
            raise AllocationInputError(f"sources.{i}.max_age", "must be at least min_age")


def _solve(model: cp_model.CpModel, time_limit_s: float) -> tuple[cp_model.CpSolver, object]:
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.num_search_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = max(time_limit_s, 0.001)
    return solver, solver.solve(model)


def _cheapest(case: CaseNeed) -> int | None:
    """The case's cheapest candidate: the only one worth modelling.

    Which sources may pay depends on the case, not the itinerary, and a cheaper ticket fits
    every budget a dearer one fits, at the same weight and a lower cost; so no optimum needs a
    dearer candidate. This keeps the model at cases x sources, not cases x candidates x sources
    (380 x 50 x 50 was 950,000 variables and a 47 s answer).
    """
    if not case.candidates:
        return None
    return min(range(len(case.candidates)),
               key=lambda k: (case.candidates[k].cost_cents, case.candidates[k].itinerary_id, k))


def allocate(cases: list[CaseNeed], sources: list[SourceRule],
             time_limit_s: float = 10.0) -> Allocation:
    """The allocation maximising priority-weighted survivors sent home (see module doc).

    `time_limit_s` bounds the three levels together. Funding nobody is always feasible, and a
    greedy allocation (`_greedy`) is feasible too: it is the search's starting hint and the
    answer when the first level runs out of time before CP-SAT finds anything, so a solve cut
    short answers with the best allocation known (`optimal` False) rather than failing.
    """
    from ortools.sat.python import cp_model

    validate(cases, sources)
    started = time.monotonic()
    model = cp_model.CpModel()
    x: dict[tuple[int, int, int], cp_model.IntVar] = {}
    for ci, case in enumerate(cases):
        ki = _cheapest(case)
        if ki is None:
            continue
        for si, src in enumerate(sources):
            if eligibility(case, src) is None and case.candidates[ki].cost_cents <= \
                    src.budget_cents:
                x[ci, ki, si] = model.new_bool_var(f"x{ci}_{ki}_{si}")
    for ci in range(len(cases)):
        chosen = [v for (c, _, _), v in x.items() if c == ci]
        if len(chosen) > 1:
            model.add_at_most_one(chosen)
    for si, src in enumerate(sources):
        terms = [(cases[c].candidates[k].cost_cents, v) for (c, k, s), v in x.items() if s == si]
        if terms:
            model.add(sum(cost * v for cost, v in terms) <= src.budget_cents)
    weight = {k: cases[k[0]].priority * cases[k[0]].survivors for k in x}
    cost = {k: cases[k[0]].candidates[k[1]].cost_cents for k in x}
    objectives = [
        (sum(weight[k] * v for k, v in x.items()), True),
        (sum(cost[k] * v for k, v in x.items()), False),
        (sum(sources[k[2]].priority * v for k, v in x.items()), True),
    ]
    optimal = True
    picked = _greedy(cases, sources, x.keys())
    # Setting a new objective replaces the previous one; each optimum is kept as a constraint.
    for expr, maximise in objectives:
        model.clear_hints()  # type: ignore[no-untyped-call]
        for k, v in x.items():
            model.add_hint(v, k in picked)
        if maximise:
            model.maximize(expr)
        else:
            model.minimize(expr)
        solver, status = _solve(model, time_limit_s - (time.monotonic() - started))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            optimal = False  # out of time before any answer at this level: keep the last one
            break
        picked = {k for k, v in x.items() if solver.value(v)}
        if status != cp_model.OPTIMAL:
            optimal = False
            break  # an unproven level cannot be fixed as a constraint for the next
        best = round(solver.objective_value)
        model.add(expr >= best if maximise else expr <= best)
    return _report(cases, sources, picked, optimal)


def _greedy(cases: list[CaseNeed], sources: list[SourceRule],
            x: Iterable[tuple[int, int, int]]) -> set[tuple[int, int, int]]:
    """A feasible allocation in one pass: cases by weight per cent (heaviest, cheapest first),
    each paid by the eligible source with the most left that covers it. Deterministic."""
    options: dict[int, list[tuple[int, int]]] = {}
    for ci, ki, si in x:
        options.setdefault(ci, []).append((ki, si))
    left = [s.budget_cents for s in sources]

    def order(ci: int) -> tuple[float, int]:
        cost = min(cases[ci].candidates[k].cost_cents for k, _ in options[ci])
        return (-cases[ci].priority * cases[ci].survivors / max(cost, 1), ci)

    picked: set[tuple[int, int, int]] = set()
    for ci in sorted(options, key=order):
        fits = [(left[si], -si, ki, si) for ki, si in options[ci]
                if cases[ci].candidates[ki].cost_cents <= left[si]]
        if fits:
            _, _, ki, si = max(fits)
            left[si] -= cases[ci].candidates[ki].cost_cents
            picked.add((ci, ki, si))
    return picked


def _report(cases: list[CaseNeed], sources: list[SourceRule],
            picked: set[tuple[int, int, int]], optimal: bool) -> Allocation:
    assignments, unfunded = [], []
    spent = {s.source_id: 0 for s in sources}
    by_case = {c: (k, s) for c, k, s in picked}
    for ci, case in enumerate(cases):
        if ci in by_case:
            ki, si = by_case[ci]
            cand, src = case.candidates[ki], sources[si]
            assignments.append(TripFunding(case.case_id, cand.itinerary_id, src.source_id,
                                          cand.cost_cents))
            spent[src.source_id] += cand.cost_cents
            continue
        unfunded.append(Unfunded(case.case_id, _why(case, sources)))
    weighted = sum(c.priority * c.survivors for i, c in enumerate(cases) if i in by_case)
    return Allocation(tuple(assignments), tuple(unfunded), weighted, spent, optimal)


def _why(case: CaseNeed, sources: list[SourceRule]) -> str:
    if not case.candidates:
        return "no candidate itinerary"
    if not sources:
        return "no funding source"
    eligible = [s for s in sources if eligibility(case, s) is None]
    if not eligible:
        return "no eligible funding source: " + "; ".join(
            r for s in sources if (r := eligibility(case, s)) is not None)
    cheapest = min(c.cost_cents for c in case.candidates)
    if all(s.budget_cents < cheapest for s in eligible):
        return (f"the cheapest itinerary (${cheapest / 100:.2f}) exceeds every eligible "
                f"source's whole budget")
    return "the eligible budgets went to cases with more priority-weighted survivors"
