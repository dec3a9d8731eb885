"""Batch placement: many households, whole, to shelters, lexicographically optimal.

A household goes whole to one (shelter, bed type) or stays unplaced; capacity holds per shelter
and bed type; eligibility, exclusion zones and maximum travel are hard because only eligible
pairs become variables. Objective, strictly in order: (1) priority-weighted persons placed,
(2) total travel (sum of household distances in metres), (3) preference points.

The solve is decomposed. Households that share no (shelter, bed type) node, even through
others, are independent; for each such component a lexicographic min-cost flow over ALL its
eligible pairs (`matching_bound`) gives the level-1 bound (the certificate) and a travel-aware
plan: households the flow keeps whole are placed as it says, split ones are repaired nearest
first. Where the flow splits nobody, that plan is proven optimal for levels 1-2 and CP-SAT only
settles level 3. Elsewhere CP-SAT works per component of the *modelled* graph (each household's
K nearest eligible shelters, the flow's pairs and the hint's pair), level by level, hinted with
the best of the flow plan and greedy; K doubles while the pruned level 1 is proven optimal yet
below the unpruned bound. The answer never places less priority than greedy. Inputs are sorted,
CP-SAT is seeded, its worker count explicit, and each call is limited in deterministic time as
well as wall time, so the same input gives the same output unless the machine is so slow that
the wall-clock safety limit binds first.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from solvers.errors import InvalidHouseholdError
from solvers.matching.bound import FlowRelaxation, IntArray, lexicographic_flow
from solvers.matching.candidates import Candidates, ShelterIndex, as_index, candidates
from solvers.matching.greedy import build_result, greedy_assign, priority_order
from solvers.matching.types import (
    BED_TYPES,
    BatchOptions,
    BatchResult,
    Certificate,
    Household,
    MatchWeights,
    ShelterOption,
)

# OR-Tools' CP-SAT (and the pandas it imports) is imported by the functions that solve, not
# with the module: API workers import this package for its types and rules, and paid ~0.3 s
# of start-up for a solver that runs in a child process (logistics/matching/solver_pool.py).
if TYPE_CHECKING:
    from ortools.sat.python import cp_model

_NCOL = len(BED_TYPES)
# Share of the time limit after which no further K-widening round starts.
_LEVEL1_SHARE = 0.5
Plan = dict[int, int]


def components(owner: IntArray, node: IntArray, n: int) -> IntArray:
    """Per household, the smallest household index of its connected component, where two
    households are connected when they share a node (min-label propagation with jumping)."""
    lab = np.arange(n, dtype=np.int64)
    if len(owner) == 0:
        return lab
    nodes, dense = np.unique(node, return_inverse=True)
    while True:
        low = np.full(len(nodes), n, np.int64)
        np.minimum.at(low, dense, lab[owner])
        new = lab.copy()
        np.minimum.at(new, owner, low[dense])
        while True:
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, lab):
            return lab
        lab = new


def _shelter_rank(c: Candidates) -> IntArray:
    """For each candidate row, the rank of its shelter in nearest-first order (0 = nearest)."""
    if len(c) == 0:
        return np.zeros(0, np.int64)
    new = np.ones(len(c), dtype=np.bool_)
    # Rows are grouped by shelter (sorted by distance, then id).
    new[1:] = c.shelter[1:] != c.shelter[:-1]
    rank: IntArray = np.cumsum(new) - 1
    return rank


class _Problem:
    """The shared data of one solve: candidates, priorities, capacities, preference points."""

    def __init__(self, hs: Sequence[Household], index: ShelterIndex, w: MatchWeights) -> None:
        self.hs = hs
        self.w = w
        self.cands = [candidates(h, index, w) for h in hs]
        self.prio = [w.person_priority(h) for h in hs]
        self.cap = index.arr.capacity.reshape(-1)
        self.nodes = [c.shelter * _NCOL + c.bed_col for c in self.cands]
        self.pref = [c.preference(w) for c in self.cands]
        self.order = priority_order(hs, w)

    def key(self, plan: Plan, ids: Sequence[int]) -> tuple[int, int, int]:
        """Lexicographic value (higher is better) of `plan` restricted to households `ids`."""
        v = t = p = 0
        for i in ids:
            k = plan.get(i)
            if k is not None:
                v += self.prio[i]
                t -= int(self.cands[i].distance_m[k])
                p += int(self.pref[i][k])
        return v, t, p

    def round_flow(self, flows: Sequence[dict[int, int]], units: Sequence[int]) -> Plan:
        """Households the flow keeps whole go where it sends them; the rest, in greedy order,
        take the nearest pair that still fits (their flow pairs first)."""
        left = self.cap.copy()
        plan: Plan = {}
        for i, f in enumerate(flows):
            if len(f) == 1:
                ((k, u),) = f.items()
                c = self.cands[i]
                need = int(c.beds[k])
                if u == units[i] == need and left[self.nodes[i][k]] >= need:
                    left[self.nodes[i][k]] -= need
                    plan[i] = k
        for i in self.order:
            if i in plan:
                continue
            c = self.cands[i]
            tried = sorted(flows[i], key=lambda k: (-flows[i][k], k))
            for k in itertools.chain(tried, range(len(c))):
                node, need = self.nodes[i][k], int(c.beds[k])
                if left[node] >= need:
                    left[node] -= need
                    plan[i] = k
                    break
        return plan


class _Model:
    """One CP-SAT model over the modelled rows of one component, reused across levels."""

    def __init__(self, pb: _Problem, ids: Sequence[int], sel: dict[int, IntArray]) -> None:
        from ortools.sat.python import cp_model

        m = cp_model.CpModel()
        self.m = m
        self.x: dict[int, dict[int, cp_model.IntVar]] = {}
        load: dict[int, list[tuple[int, cp_model.IntVar]]] = {}
        placed, travel, pref = [], [], []
        for i in ids:
            c = pb.cands[i]
            xi: dict[int, cp_model.IntVar] = {}
            for k in sel[i].tolist():
                v = m.new_bool_var(f"x_{i}_{k}")
                xi[k] = v
                load.setdefault(int(pb.nodes[i][k]), []).append((int(c.beds[k]), v))
                placed.append(pb.prio[i] * v)
                travel.append(int(c.distance_m[k]) * v)
                if pb.pref[i][k]:
                    pref.append(int(pb.pref[i][k]) * v)
            if xi:
                m.add_at_most_one(xi.values())
            self.x[i] = xi
        for node, terms in sorted(load.items()):
            cap = int(pb.cap[node])
            if sum(b for b, _ in terms) > cap:
                m.add(sum(b * v for b, v in terms) <= cap)
        self.placed = sum(placed)
        self.travel = sum(travel)
        self.pref = sum(pref)
        self.size = sum(len(xi) for xi in self.x.values())

    def solve(
        self, o: BatchOptions, limits: tuple[float, float], hint: Plan
    ) -> tuple[str, Plan | None]:
        from ortools.sat.python import cp_model

        m = self.m
        m.clear_hints()  # type: ignore[no-untyped-call]
        for i, xi in self.x.items():
            for k, v in xi.items():
                m.add_hint(v, hint.get(i) == k)
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.random_seed = o.random_seed
        p.num_workers = o.num_workers
        p.interleave_search = o.interleave_search
        # Presolve spent seconds on these assignment models without shrinking them, while the
        # complete hint plus the LP bound usually settles a level at once.
        p.cp_model_presolve = False
        p.max_time_in_seconds = max(0.05, limits[0])
        p.max_deterministic_time = max(0.01, limits[1])
        st = solver.solve(m)
        status = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}
        if st not in status:
            return "unknown", None
        sol = {i: k for i, xi in self.x.items() for k, v in xi.items() if solver.value(v)}
        return status[st], sol


def _plan_for(pb: _Problem, ids: Sequence[int], plans: Sequence[Plan]) -> Plan:
    """The best of the given plans on households `ids` (ties: the earlier plan)."""
    best = max(plans, key=lambda p: pb.key(p, ids))
    return {i: best[i] for i in ids if i in best}


class _Budget:
    """Splits the time left over the CP-SAT calls still planned, in proportion to their size.

    A call's deterministic-time share depends only on the options and the instance (shares
    are handed out, not measured), so a solve that stops early stops at the same point on
    every run; its wall-clock share of the time left is the safety net for a slow machine.
    """

    def __init__(self, o: BatchOptions, end: float) -> None:
        self.det = o.max_time_in_seconds * o.deterministic_time_per_second
        self.end = end

    def take(self, work: int, planned: int) -> tuple[float, float]:
        part = work / max(1, planned)
        det = self.det * part
        self.det -= det
        return (self.end - time.perf_counter()) * part, det


def solve_batch(
    households: Sequence[Household],
    shelters: ShelterIndex | Sequence[ShelterOption],
    weights: MatchWeights | None = None,
    options: BatchOptions | None = None,
) -> BatchResult:
    """Place every household it can; see the module docstring for the method."""
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
    pb = _Problem(hs, index, w)
    n = len(hs)
    n_eligible = sum(len(c) for c in pb.cands)
    if n_eligible == 0:
        cert = Certificate(0, True, 0, 0, 0, 0)
        return build_result(hs, pb.cands, index, {}, w, "infeasible", 0, cert, ())
    owner = np.concatenate([np.full(len(c), i, np.int64) for i, c in enumerate(pb.cands)])
    full_comp = components(owner, np.concatenate(pb.nodes), n)
    flows: list[dict[int, int]] = [{} for _ in hs]
    units = [0] * n
    value = [Fraction(0)] * n
    exact_travel = [False] * n
    bound = 0
    groups: dict[int, list[int]] = {}
    for i in range(n):
        if len(pb.cands[i]):
            groups.setdefault(int(full_comp[i]), []).append(i)
    for ids in groups.values():
        rel: FlowRelaxation = lexicographic_flow(
            [pb.prio[i] for i in ids],
            [pb.nodes[i] for i in ids],
            [pb.cands[i].beds for i in ids],
            [pb.cands[i].distance_m for i in ids],
            pb.cap,
        )
        bound += rel.bound
        for j, i in enumerate(ids):
            flows[i], units[i] = rel.flow[j], rel.units[j]
            value[i] = Fraction(rel.household_value_scaled(j), rel.scale)
            exact_travel[i] = rel.travel_exact
    # A household is "exact" when the flow sends it whole to one pair needing exactly its units.
    exact = [
        not f
        or (
            len(f) == 1
            and next(iter(f.values())) == units[i] == int(pb.cands[i].beds[next(iter(f))])
            and exact_travel[i]
        )
        for i, f in enumerate(flows)
    ]
    rounded = pb.round_flow(flows, units)
    greedy = greedy_assign(hs, pb.cands, index, w)
    everyone = range(n)
    best = _plan_for(pb, everyone, [rounded, greedy])
    ranks = [_shelter_rank(c) for c in pb.cands]
    max_rank = max(int(r[-1]) + 1 if len(r) else 0 for r in ranks)
    k_cand = o.candidate_k if o.candidate_k > 0 else max_rank
    must = [np.array(sorted(f), dtype=np.int64) for f in flows]
    deadline1 = t0 + o.max_time_in_seconds * _LEVEL1_SHARE
    budget = _Budget(o, t0 + o.max_time_in_seconds)
    rounds, certified = 0, False
    level1_ok = True
    while True:
        rounds += 1
        sel = []
        for i, r in enumerate(ranks):
            extra = [p[i] for p in (best, greedy, rounded) if i in p]
            sel.append(
                np.unique(
                    np.concatenate([np.flatnonzero(r < k_cand), must[i], np.array(extra, np.int64)])
                )
            )
        modelled = sum(len(s) for s in sel)
        sel_owner = np.concatenate([np.full(len(s), i, np.int64) for i, s in enumerate(sel)])
        sel_nodes = np.concatenate([pb.nodes[i][s] for i, s in enumerate(sel)])
        comp = components(sel_owner, sel_nodes, n)
        parts: dict[int, list[int]] = {}
        for i in range(n):
            if len(sel[i]):
                parts.setdefault(int(comp[i]), []).append(i)
        comps = sorted(parts.values())
        models: dict[int, _Model] = {}
        level1_ok = True
        l1_status: list[str] = []
        todo = []
        for ids in comps:
            ceiling = int(sum((value[i] for i in ids), Fraction(0)))
            # A hint that reaches its component's share of the relaxation is proven optimal.
            todo.append(pb.key(best, ids)[0] < ceiling)
        planned = 2 * modelled + sum(
            sum(len(sel[i]) for i in ids) for ids, t in zip(comps, todo, strict=True) if t
        )
        for ci, ids in enumerate(comps):
            hint = {i: best[i] for i in ids if i in best}
            if not todo[ci]:
                l1_status.append("optimal")
                continue
            work = sum(len(sel[i]) for i in ids)
            model = _Model(pb, ids, {i: sel[i] for i in ids})
            model.m.maximize(model.placed)
            st, sol = model.solve(o, budget.take(work, planned), hint)
            planned -= work
            models[ci] = model
            l1_status.append(st)
            level1_ok &= st == "optimal"
            if sol is not None and pb.key(sol, ids)[0] >= pb.key(hint, ids)[0]:
                for i in ids:
                    best.pop(i, None)
                best.update(sol)
        total = pb.key(best, everyone)[0]
        if total >= bound:
            certified = True
            break
        if modelled == n_eligible:
            certified = level1_ok
            if certified:
                bound = total
            break
        # Widen only when pruning, not search time, is what holds level 1 below the bound.
        if not level1_ok or k_cand >= min(o.max_candidate_k, max_rank):
            break
        if time.perf_counter() >= deadline1:
            break
        k_cand = min(k_cand * 2, o.max_candidate_k, max_rank)
    levels: list[list[str]] = [l1_status, [], []]
    exact_comp = []
    for ids in comps:
        flow_plan = {i: rounded[i] for i in ids if i in rounded}
        exact_comp.append(
            all(exact[i] for i in ids) and pb.key(flow_plan, ids)[:2] >= pb.key(best, ids)[:2]
        )
    works = [sum(len(sel[i]) for i in ids) for ids in comps]
    planned = sum(w_ * (1 if e else 2) for w_, e in zip(works, exact_comp, strict=True))
    for ci, ids in enumerate(comps):
        work = works[ci]
        flow_plan = {i: rounded[i] for i in ids if i in rounded}
        flow_exact = exact_comp[ci]
        model = models.get(ci) or _Model(pb, ids, {i: sel[i] for i in ids})
        hint = {i: best[i] for i in ids if i in best}
        p1, neg_t, _ = pb.key(hint, ids)
        model.m.add(model.placed >= p1)
        if flow_exact:
            # The flow plan is the lexicographic optimum of levels 1-2 over all pairs.
            hint = _plan_for(pb, ids, [flow_plan, hint])
            levels[1].append("optimal")
        else:
            model.m.minimize(model.travel)
            st, sol = model.solve(o, budget.take(work, planned), hint)
            planned -= work
            levels[1].append(st)
            if sol is not None and pb.key(sol, ids)[:2] >= pb.key(hint, ids)[:2]:
                hint = sol
        neg_t = pb.key(hint, ids)[1]
        model.m.add(model.travel <= -neg_t)
        model.m.maximize(model.pref)
        st, sol = model.solve(o, budget.take(work, planned), hint)
        planned -= work
        levels[2].append(st)
        if sol is not None and pb.key(sol, ids) >= pb.key(hint, ids):
            hint = sol
        for i in ids:
            best.pop(i, None)
        best.update(hint)
    level_status = tuple(_worst(ls) for ls in levels)
    status = "optimal" if certified and level_status == ("optimal",) * 3 else "feasible"
    if status != "optimal" and level_status[0] == "unknown":
        status = "timeout"
    cert = Certificate(bound, certified, k_cand, rounds, n_eligible, modelled)
    return build_result(hs, pb.cands, index, best, w, status, bound, cert, level_status)


def _worst(statuses: Sequence[str]) -> str:
    for s in ("unknown", "feasible"):
        if s in statuses:
            return s
    return "optimal"
