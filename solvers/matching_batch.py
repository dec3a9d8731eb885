"""Batch placement with CP-SAT: many households, whole, to shelters, lexicographically optimal.

A household goes whole to one (shelter, bed type) or stays unplaced; capacity holds per shelter
and bed type; eligibility, exclusion zones and maximum travel are hard because only eligible
pairs become variables. The objective is solved level by level: (1) maximise priority-weighted
persons placed, (2) with level 1 fixed, minimise total travel (sum of household distances in
metres), (3) with levels 1-2 fixed, maximise preference points (language, specialisation,
fresh counts). Each household is pruned to its K nearest eligible shelters plus the pairs
that carry flow in the optimal relaxation over all pairs (`matching_bound`), so the pruned
model's own relaxation reaches the unpruned bound; K doubles while the level-1 value is below
that bound and time remains. The greedy plan seeds every solve as a hint and is the fallback,
so the answer never places less priority than greedy. Inputs are sorted, the search is seeded
and the worker count explicit, so the same input gives the same output when solves finish
within the limit (set `interleave_search` to make this hold even among tied optima).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence

import numpy as np
from ortools.sat.python import cp_model

from solvers.errors import InvalidHouseholdError
from solvers.matching import (
    Candidates,
    ShelterIndex,
    as_index,
    build_result,
    candidates,
    greedy_assign,
)
from solvers.matching_bound import flow_upper_bound
from solvers.matching_types import (
    BatchOptions,
    BatchResult,
    Certificate,
    Household,
    MatchWeights,
    ShelterOption,
)

_STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}
# Share of the time limit that level 1 (with K widening) may use; levels 2-3 share the rest.
_LEVEL1_SHARE = 0.5
_LEVEL2_SHARE = 0.85


def _shelter_rank(c: Candidates) -> np.ndarray:
    """For each candidate row, the rank of its shelter in nearest-first order (0 = nearest)."""
    if len(c) == 0:
        return np.zeros(0, np.int64)
    new = np.ones(len(c), dtype=np.bool_)
    # Rows are grouped by shelter (sorted by distance, then id), so a shelter starts where the
    # row differs from the previous one.
    new[1:] = c.shelter[1:] != c.shelter[:-1]
    rank: np.ndarray = np.cumsum(new) - 1
    return rank


class _Model:
    """One CP-SAT model over a selection of candidate rows, reused across the three levels."""

    def __init__(
        self,
        cands: Sequence[Candidates],
        sel: Sequence[np.ndarray],
        capacity: np.ndarray,
        priorities: Sequence[int],
        weights: MatchWeights,
    ) -> None:
        m = cp_model.CpModel()
        self.m = m
        self.x: list[dict[int, cp_model.IntVar]] = []
        load: dict[tuple[int, int], list[tuple[int, cp_model.IntVar]]] = {}
        placed, travel, pref = [], [], []
        for i, c in enumerate(cands):
            pts = c.preference(weights)
            xi: dict[int, cp_model.IntVar] = {}
            for k in sel[i].tolist():
                v = m.new_bool_var(f"x_{i}_{k}")
                xi[k] = v
                key = (int(c.shelter[k]), int(c.bed_col[k]))
                load.setdefault(key, []).append((int(c.beds[k]), v))
                placed.append(priorities[i] * v)
                travel.append(int(c.distance_m[k]) * v)
                if pts[k]:
                    pref.append(int(pts[k]) * v)
            if xi:
                m.add_at_most_one(xi.values())
            self.x.append(xi)
        for (row, col), terms in sorted(load.items()):
            cap = int(capacity[row, col])
            if sum(b for b, _ in terms) > cap:
                m.add(sum(b * v for b, v in terms) <= cap)
        self.placed = sum(placed)
        self.travel = sum(travel)
        self.pref = sum(pref)

    def solve(
        self, options: BatchOptions, seconds: float, hint: dict[int, int]
    ) -> tuple[str, dict[int, int] | None, float]:
        m = self.m
        m.clear_hints()  # type: ignore[no-untyped-call]
        for i, xi in enumerate(self.x):
            for k, v in xi.items():
                m.add_hint(v, hint.get(i) == k)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.random_seed = options.random_seed
        p.num_workers = options.num_workers
        p.max_time_in_seconds = max(0.05, seconds)
        # Off by default: it slowed level 2 about tenfold in measurements. With it on, the
        # outcome is independent of thread timing even among tied optima.
        p.interleave_search = options.interleave_search
        st = solver.solve(m)
        if st not in _STATUS:
            return "unknown", None, 0.0
        sol = {i: k for i, xi in enumerate(self.x) for k, v in xi.items() if solver.value(v)}
        return _STATUS[st], sol, float(solver.best_objective_bound)


def _value(chosen: dict[int, int], priorities: Sequence[int]) -> int:
    return sum(priorities[i] for i in chosen)


def solve_batch(
    households: Sequence[Household],
    shelters: ShelterIndex | Sequence[ShelterOption],
    weights: MatchWeights | None = None,
    options: BatchOptions | None = None,
) -> BatchResult:
    """Place every household it can; see the module docstring for the model and objective."""
    t0 = time.perf_counter()
    w = weights or MatchWeights()
    o = options or BatchOptions()
    index = as_index(shelters)
    hs = sorted(households, key=lambda h: h.case_ref)
    for a, b in itertools.pairwise(hs):
        if a.case_ref == b.case_ref:
            raise InvalidHouseholdError("case_ref", f"duplicate case_ref {a.case_ref!r}")
    if o.strict_exclusion_ids:
        for h in hs:
            index.check_exclusion_ids(h)
    cands = [candidates(h, index, w) for h in hs]
    prio = [w.person_priority(h) for h in hs]
    cap = index.arr.capacity
    all_pairs = [
        sorted({(int(r), int(col)) for r, col in zip(c.shelter, c.bed_col, strict=True)})
        for c in cands
    ]
    n_eligible = sum(len(c) for c in cands)
    if n_eligible == 0:
        cert = Certificate(0, True, 0, 0, 0, 0)
        return build_result(hs, cands, index, {}, w, "infeasible", 0, cert, ())
    ub, support = flow_upper_bound(
        [h.size for h in hs], prio, all_pairs, cap, index.arr.family_max
    )
    # Rows of the relaxation's support are always modelled (see matching_bound).
    must = [
        np.array(
            [k for k in range(len(c)) if (int(c.shelter[k]), int(c.bed_col[k])) in support[i]],
            dtype=np.int64,
        )
        for i, c in enumerate(cands)
    ]
    best = greedy_assign(hs, cands, index, w)
    ranks = [_shelter_rank(c) for c in cands]
    max_rank = max(int(r[-1]) + 1 if len(r) else 0 for r in ranks)
    k = o.candidate_k if o.candidate_k > 0 else max_rank
    deadline1 = t0 + o.max_time_in_seconds * _LEVEL1_SHARE
    rounds, certified, solved_any, level1 = 0, False, False, "unknown"
    bound = ub
    while True:
        rounds += 1
        sel = []
        for i, r in enumerate(ranks):
            extra = np.array([best[i]] if i in best else [], dtype=np.int64)
            sel.append(np.unique(np.concatenate([np.flatnonzero(r < k), must[i], extra])))
        modelled = sum(len(s) for s in sel)
        model = _Model(cands, sel, cap, prio, w)
        model.m.maximize(model.placed)
        level1, sol, cp_bound = model.solve(o, deadline1 - time.perf_counter(), best)
        if sol is not None:
            solved_any = True
            if _value(sol, prio) >= _value(best, prio):
                best = sol
        full = modelled == n_eligible
        if _value(best, prio) >= ub:
            certified = True
            break
        if full:
            certified = level1 == "optimal"
            bound = min(ub, int(cp_bound + 1e-6))
            break
        # Widen only when pruning, not search time, is what holds level 1 below the bound.
        if level1 != "optimal" or k >= min(o.max_candidate_k, max_rank):
            break
        if time.perf_counter() >= deadline1:
            break
        k = min(k * 2, o.max_candidate_k, max_rank)
    p1 = _value(best, prio)
    model.m.add(model.placed >= p1)
    model.m.minimize(model.travel)
    deadline2 = t0 + o.max_time_in_seconds * _LEVEL2_SHARE
    level2, sol, _ = model.solve(o, deadline2 - time.perf_counter(), best)
    if sol is not None:
        best = sol
    travel = sum(int(cands[i].distance_m[k_]) for i, k_ in best.items())
    model.m.add(model.travel <= travel)
    model.m.maximize(model.pref)
    level3, sol, _ = model.solve(o, t0 + o.max_time_in_seconds - time.perf_counter(), best)
    if sol is not None:
        best = sol
    levels = (level1, level2, level3)
    if not solved_any:
        status = "timeout"
    elif certified and level2 == "optimal" and level3 == "optimal":
        status = "optimal"
    else:
        status = "feasible"
    cert = Certificate(ub, certified, k, rounds, n_eligible, modelled)
    return build_result(hs, cands, index, best, w, status, bound, cert, levels)
