"""Joint return planning in one CP-SAT model: for every case at most one (bed, trip, source).

Variables x[c, o, s] exist only for usable options (`rules.option_problem`) and sources that
may pay (`rules.payers`), so exclusions, hold lapse, intake hours and source eligibility are
hard by construction. Constraints: one choice per case, free beds per (shelter, bed type), each
source within its budget. Objective, strictly lexicographic, each level solved and then fixed
as a constraint (at its proven optimum, or at the value found when time ran out): (1) maximise
priority-weighted persons home, (2) minimise total travel minutes, (3) minimise cost,
(4) maximise preference points. A greedy plan (heaviest cases first, fastest usable option)
is the first hint, so a level cut short still answers with a feasible plan. `bound` is CP-SAT's
proven bound on level 1 over the options given, `gap = (bound - value) / bound`.
Deterministic: inputs sorted, fixed seed, explicit workers, deterministic-time limits.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

from solvers.errors import SolverInputError
from solvers.return_plan.rules import funding_problem, option_problem, payers, weight
from solvers.return_plan.types import (
    BedPool,
    Chosen,
    NotHome,
    ObjectiveValue,
    ReturnCase,
    ReturnInstance,
    ReturnResult,
)

if TYPE_CHECKING:
    from ortools.sat.python import cp_model

Key = tuple[int, int, int]  # (case index, option index, source index or -1 for free trips)
SHARES = (0.5, 0.25, 0.15, 0.10)


class ReturnPlanInputError(SolverInputError):
    """Malformed return-planning input (duplicate ids, negative beds or costs)."""


def _check(inst: ReturnInstance) -> None:
    ids = [c.case_id for c in inst.cases]
    if len(set(ids)) != len(ids):
        raise ReturnPlanInputError("cases", "case ids must be unique")
    keys = [b.key for b in inst.beds]
    if len(set(keys)) != len(keys):
        raise ReturnPlanInputError("beds", "one pool per (shelter, bed type)")
    if len({s.source_id for s in inst.sources}) != len(inst.sources):
        raise ReturnPlanInputError("sources", "source ids must be unique")
    for i, c in enumerate(inst.cases):
        if not c.ages:
            raise ReturnPlanInputError(f"cases.{i}.ages", "at least one traveller")
        if not 1 <= c.urgency <= 5:
            raise ReturnPlanInputError(f"cases.{i}.urgency", "must be within 1..5")
        for j, o in enumerate(c.options):
            if o.beds < 1 or o.trip.cost_cents < 0 or o.trip.arrive < o.trip.depart:
                raise ReturnPlanInputError(f"cases.{i}.options.{j}",
                                           "beds >= 1, cost >= 0, arrival after departure")
    po = inst.options
    if po.time_limit_s <= 0 or po.num_workers < 1 or po.hold_buffer_minutes < 0:
        raise ReturnPlanInputError("options", "positive time limit and workers, buffer >= 0")


def usable_keys(inst: ReturnInstance) -> list[Key]:
    """Every (case, option, source) the rules allow, in a fixed order."""
    pools = {b.key: b for b in inst.beds}
    buffer = inst.options.hold_buffer_minutes
    keys: list[Key] = []
    for ci, case in enumerate(inst.cases):
        for oi, opt in enumerate(case.options):
            if option_problem(case, opt, pools.get((opt.shelter_id, opt.bed_type)),
                              now=inst.now, buffer=buffer) is None:
                keys += [(ci, oi, si) for si in payers(case, opt.trip.cost_cents, inst.sources)]
    return keys


def _levels(inst: ReturnInstance, k: Key) -> tuple[int, int, int, int]:
    case = inst.cases[k[0]]
    opt = case.options[k[1]]
    return (weight(case, inst.options.minor_bonus), opt.trip.minutes, opt.trip.cost_cents,
            opt.preference)


def greedy(inst: ReturnInstance, keys: list[Key]) -> set[Key]:
    """A feasible plan: heaviest cases first (then id), each its fastest, cheapest usable
    option whose beds and source money are still free."""
    free = {b.key: b.free for b in inst.beds}
    left = [s.budget_cents for s in inst.sources]
    by_case: dict[int, list[Key]] = {}
    for k in keys:
        by_case.setdefault(k[0], []).append(k)
    picked: set[Key] = set()
    order = sorted(by_case, key=lambda c: (-weight(inst.cases[c], inst.options.minor_bonus),
                                           inst.cases[c].case_id))
    for ci in order:
        for k in sorted(by_case[ci], key=lambda k: (_levels(inst, k)[1:3], k)):
            opt = inst.cases[ci].options[k[1]]
            pool = (opt.shelter_id, opt.bed_type)
            if free[pool] >= opt.beds and (k[2] < 0 or left[k[2]] >= opt.trip.cost_cents):
                free[pool] -= opt.beds
                if k[2] >= 0:
                    left[k[2]] -= opt.trip.cost_cents
                picked.add(k)
                break
    return picked


def objective_of(inst: ReturnInstance, picked: set[Key]) -> ObjectiveValue:
    parts = [_levels(inst, k) for k in picked]
    return ObjectiveValue(sum(p[0] for p in parts), sum(p[1] for p in parts),
                          sum(p[2] for p in parts), sum(p[3] for p in parts))


def _vals(inst: ReturnInstance, picked: set[Key]) -> tuple[int, int, int, int]:
    o = objective_of(inst, picked)
    return (o.weighted_persons, o.travel_minutes, o.cost_cents, o.preference)


def _model(inst: ReturnInstance, keys: list[Key]) -> tuple[cp_model.CpModel,
                                                           dict[Key, cp_model.IntVar]]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = {k: model.new_bool_var(f"x{k[0]}_{k[1]}_{k[2]}") for k in keys}
    per_case: dict[int, list[cp_model.IntVar]] = {}
    per_pool: dict[tuple[str, str], list[tuple[int, cp_model.IntVar]]] = {}
    per_source: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
    for k, v in x.items():
        opt = inst.cases[k[0]].options[k[1]]
        per_case.setdefault(k[0], []).append(v)
        per_pool.setdefault((opt.shelter_id, opt.bed_type), []).append((opt.beds, v))
        if k[2] >= 0:
            per_source.setdefault(k[2], []).append((opt.trip.cost_cents, v))
    for vs in per_case.values():
        if len(vs) > 1:
            model.add_at_most_one(vs)
    free = {b.key: b.free for b in inst.beds}
    for pool, terms in per_pool.items():
        if sum(n for n, _ in terms) > free[pool]:
            model.add(sum(n * v for n, v in terms) <= free[pool])
    for si, terms in per_source.items():
        if sum(c for c, _ in terms) > inst.sources[si].budget_cents:
            model.add(sum(c * v for c, v in terms) <= inst.sources[si].budget_cents)
    return model, x


def solve(inst: ReturnInstance) -> ReturnResult:
    """The lexicographically best joint plan over the options given (see module doc)."""
    from ortools.sat.python import cp_model

    _check(inst)
    started = time.monotonic()
    opts = inst.options
    keys = usable_keys(inst)
    picked = greedy(inst, keys)
    if not keys:
        return _report(inst, picked, "infeasible", 0, ("optimal",) * 4)
    model, x = _model(inst, keys)
    lv = {k: _levels(inst, k) for k in keys}
    exprs = [sum(lv[k][i] * v for k, v in x.items()) for i in range(4)]
    maximise = (True, False, False, True)
    statuses: list[str] = []
    bound = sum(weight(c, opts.minor_bonus) for c in inst.cases)
    for level in range(4):
        model.clear_hints()  # type: ignore[no-untyped-call]
        for k, v in x.items():
            model.add_hint(v, k in picked)
        (model.maximize if maximise[level] else model.minimize)(exprs[level])
        left = opts.time_limit_s - (time.monotonic() - started)
        share = SHARES[level] / sum(SHARES[level:])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = opts.num_workers
        solver.parameters.random_seed = opts.random_seed
        solver.parameters.max_time_in_seconds = max(left * share, 0.05)
        solver.parameters.max_deterministic_time = max(opts.time_limit_s * share, 0.05)
        status = solver.solve(model)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = {k for k, v in x.items() if solver.value(v)}
            sign = 1 if maximise[level] else -1
            if sign * _vals(inst, found)[level] >= sign * _vals(inst, picked)[level]:
                picked = found
        statuses.append("optimal" if status == cp_model.OPTIMAL else "feasible")
        if level == 0:
            bound = int(solver.best_objective_bound + 1e-6) if status in (
                cp_model.OPTIMAL, cp_model.FEASIBLE) else bound
            bound = max(bound, objective_of(inst, picked).weighted_persons)
        value = _vals(inst, picked)[level]
        model.add(exprs[level] >= value if maximise[level] else exprs[level] <= value)
    status_name = "optimal" if all(s == "optimal" for s in statuses) else "feasible"
    return _report(inst, picked, status_name, bound, tuple(statuses))


def _why(inst: ReturnInstance, ci: int, pools: dict[tuple[str, str], BedPool]) -> tuple[str, ...]:
    case: ReturnCase = inst.cases[ci]
    if not case.options:
        return case.notes or ("no_candidate",)
    problems = Counter[str]()
    usable_costs: list[int] = []
    for opt in case.options:
        p = option_problem(case, opt, pools.get((opt.shelter_id, opt.bed_type)), now=inst.now,
                           buffer=inst.options.hold_buffer_minutes)
        if p is None:
            usable_costs.append(opt.trip.cost_cents)
        else:
            problems[p] += 1
    if not usable_costs:
        return tuple(r for r, _ in sorted(problems.items(), key=lambda kv: (-kv[1], kv[0])))
    money = funding_problem(case, usable_costs, inst.sources)
    if money is not None:
        return (money,)
    return ("capacity_or_budget_used_by_higher_priority",)


def _report(inst: ReturnInstance, picked: set[Key], status: str, bound: int,
            levels: tuple[str, ...]) -> ReturnResult:
    pools = {b.key: b for b in inst.beds}
    by_case = {k[0]: k for k in picked}
    chosen, unplaced = [], []
    for ci, case in enumerate(inst.cases):
        k = by_case.get(ci)
        if k is None:
            unplaced.append(NotHome(case.case_id, _why(inst, ci, pools)))
            continue
        opt = case.options[k[1]]
        chosen.append(Chosen(case.case_id, opt.shelter_id, opt.bed_type, opt.beds,
                             opt.trip.itinerary_id, opt.trip.depart, opt.trip.arrive,
                             opt.trip.cost_cents,
                             None if k[2] < 0 else inst.sources[k[2]].source_id,
                             pools[(opt.shelter_id, opt.bed_type)].hold_until,
                             opt.preference))
    obj = objective_of(inst, picked)
    gap = 0.0 if bound <= 0 else max(0.0, (bound - obj.weighted_persons) / bound)
    persons = sum(len(inst.cases[k[0]].ages) for k in picked)
    return ReturnResult(status, tuple(chosen), tuple(unplaced), obj, bound, gap, levels, persons)
