"""The travel allocation in a solver child: the fuzzer's month (380 cases x 50 candidates x 50
sources, which once ran 47 s in the API process and then failed with "no solution") comes back
within the pool's wall-time limit with a feasible allocation, checked by a validator written
here, apart from the solver; and a solve cut short still answers with a feasible one."""

from __future__ import annotations

import random

from logistics.matching.solver_pool import PoolLimits, SolverPool
from solvers.travel_allocation import Allocation, Candidate, CaseNeed, SourceRule, allocate

POOL = SolverPool()


def month(seed: int) -> tuple[list[CaseNeed], list[SourceRule]]:
    rng = random.Random(seed)
    cases = [CaseNeed(f"C-{i}", rng.randint(1, 5),
                      tuple(rng.randint(12, 70) for _ in range(rng.randint(1, 3))),
                      tuple(Candidate(f"i{i}-{k}", rng.randint(3_000, 90_000))
                            for k in range(50)),
                      frozenset({f"S-{rng.randrange(50)}"}) if rng.random() < 0.2 else
                      frozenset())
             for i in range(380)]
    sources = [SourceRule(f"S-{j}", rng.randint(50_000, 2_000_000),
                             rng.choice([0, 12, 18]), rng.choice([21, 120]),
                             rng.choice([None, 18]), rng.randint(1, 3)) for j in range(50)]
    return cases, sources


def check_feasible(result: Allocation, cases: list[CaseNeed],
                   sources: list[SourceRule]) -> None:
    """Independent of the solver's code: the rules as the module docstring states them."""
    by_case = {c.case_id: c for c in cases}
    by_source = {s.source_id: s for s in sources}
    funded = [a.case_id for a in result.assignments]
    assert len(funded) == len(set(funded))
    assert set(funded) | {u.case_id for u in result.unfunded} == set(by_case)
    assert not set(funded) & {u.case_id for u in result.unfunded}
    spent: dict[str, int] = {}
    for a in result.assignments:
        case, source = by_case[a.case_id], by_source[a.source_id]
        assert (a.itinerary_id, a.cost_cents) in {(k.itinerary_id, k.cost_cents)
                                                  for k in case.candidates}
        assert all(source.min_age <= age <= source.max_age for age in case.ages)
        if source.lifetime_from_age is not None and source.source_id in case.used_lifetime:
            assert all(age < source.lifetime_from_age for age in case.ages)
        spent[a.source_id] = spent.get(a.source_id, 0) + a.cost_cents
    assert all(spent[s] <= by_source[s].budget_cents for s in spent)
    assert result.weighted_survivors == sum(
        by_case[c].priority * len(by_case[c].ages) for c in funded)


def test_the_fuzzers_month_in_a_child_within_its_limit() -> None:
    cases, sources = month(17)
    limits = PoolLimits(wall_time_s=10.0, memory_mb=2048)
    # An overrun of the wall time would raise SolverUnavailable: answering is the proof.
    result = POOL.run(allocate, (cases, sources, 4.0), limits)
    check_feasible(result, cases, sources)
    assert len(result.assignments) > 100


def test_a_solve_cut_short_answers_with_the_greedy_allocation() -> None:
    cases, sources = month(5)
    cut = allocate(cases, sources, time_limit_s=1e-9)
    assert not cut.optimal
    check_feasible(cut, cases, sources)
    assert len(cut.assignments) > 100  # not the empty allocation: the greedy one
