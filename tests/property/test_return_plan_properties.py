"""Joint return planning against brute force on tiny random instances (Hypothesis).

Brute force enumerates every choice per case (nothing, or one option paid by one source or
free), keeps the plans the independent validator accepts, and takes the lexicographic best of
(weighted persons, -travel, -cost, preference). The solver must match it on all four levels
and its own plan must pass the validator.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.return_plan import (
    BedPool,
    Chosen,
    ExclusionZone,
    NotHome,
    ObjectiveValue,
    PlanOptions,
    ReturnCase,
    ReturnInstance,
    ReturnOption,
    ReturnResult,
    SourceRule,
    TripOption,
    solve,
    validate_plan,
    weight,
)

NOW = 100_000
SHELTERS = ("s0", "s1", "s2")


@st.composite
def instances(draw: st.DrawFn) -> ReturnInstance:
    beds = tuple(BedPool(s, "adult_any", draw(st.integers(0, 3)), draw(st.sampled_from("AB")),
                         40.0 + i * 0.5, -100.0, NOW + draw(st.integers(200, 900)),
                         intake=draw(st.sampled_from([(), ((NOW + 100, NOW + 500),)])),
                         late_arrival_ok=draw(st.booleans()),
                         uncertainty_m=draw(st.sampled_from([0, 20_000])))
                 for i, s in enumerate(SHELTERS))
    sources = tuple(SourceRule(f"f{i}", draw(st.integers(0, 800)),
                                  min_age=draw(st.sampled_from([0, 12])), max_age=120)
                    for i in range(draw(st.integers(1, 2))))
    cases = []
    for c in range(draw(st.integers(1, 3))):
        options = tuple(
            ReturnOption(draw(st.sampled_from(SHELTERS)), "adult_any", draw(st.integers(1, 2)),
                         TripOption(f"c{c}t{k}", NOW + (d := draw(st.integers(-20, 100))),
                              NOW + d + draw(st.integers(30, 700)), draw(st.integers(0, 500))),
                         draw(st.integers(0, 2)))
            for k in range(draw(st.integers(0, 3))))
        cases.append(ReturnCase(
            f"c{c}", draw(st.integers(1, 5)),
            tuple(draw(st.lists(st.integers(5, 60), min_size=1, max_size=2))), options,
            excluded_states=frozenset(draw(st.sampled_from([(), ("B",)]))),
            zones=tuple(draw(st.sampled_from([(), (ExclusionZone(40.0, -100.0, 30_000),)])))))
    return ReturnInstance(NOW, tuple(cases), beds, sources,
                          PlanOptions(time_limit_s=5, num_workers=1, hold_buffer_minutes=30))


def _result(inst: ReturnInstance, picks: tuple[tuple[int, str | None] | None, ...]
            ) -> ReturnResult:
    hold = {b.shelter_id: b.hold_until for b in inst.beds}
    chosen, unplaced = [], []
    w = t = c = p = persons = 0
    for case, pick in zip(inst.cases, picks, strict=True):
        if pick is None:
            unplaced.append(NotHome(case.case_id, ()))
            continue
        o = case.options[pick[0]]
        chosen.append(Chosen(case.case_id, o.shelter_id, o.bed_type, o.beds,
                             o.trip.itinerary_id, o.trip.depart, o.trip.arrive,
                             o.trip.cost_cents, pick[1], hold[o.shelter_id], o.preference))
        w += weight(case, inst.options.minor_bonus)
        t += o.trip.minutes
        c += o.trip.cost_cents
        p += o.preference
        persons += len(case.ages)
    return ReturnResult("optimal", tuple(chosen), tuple(unplaced), ObjectiveValue(w, t, c, p),
                        10**9, 0.0, (), persons)


def brute(inst: ReturnInstance) -> tuple[int, int, int, int]:
    payers: list[str | None] = [s.source_id for s in inst.sources] + [None]
    per_case = [[None, *((k, s) for k in range(len(case.options)) for s in payers)]
                for case in inst.cases]
    best = (0, 0, 0, 0)
    for picks in itertools.product(*per_case):
        r = _result(inst, picks)
        if validate_plan(inst, r):
            continue
        o = r.objective
        best = max(best, (o.weighted_persons, -o.travel_minutes, -o.cost_cents, o.preference))
    return best


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_the_solver_equals_brute_force(inst: ReturnInstance) -> None:
    result = solve(inst)
    assert validate_plan(inst, result) == []
    assert result.status in ("optimal", "infeasible")
    o = result.objective
    assert (o.weighted_persons, -o.travel_minutes, -o.cost_cents, o.preference) == brute(inst)
    assert result.bound == o.weighted_persons and result.gap == 0.0
    assert {u.case_id for u in result.unplaced}.isdisjoint(c.case_id for c in result.chosen)
    assert all(u.reasons for u in result.unplaced)


@settings(max_examples=20, deadline=None)
@given(instances())
def test_the_solver_is_deterministic(inst: ReturnInstance) -> None:
    assert solve(inst) == solve(inst)
