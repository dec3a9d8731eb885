"""Travel budget allocation: the youth-programme example, reasons for the unfunded,
determinism, and CP-SAT against brute force on random tiny instances (Hypothesis)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.errors import AllocationInputError
from solvers.travel_allocation import Candidate, CaseNeed, SourceRule, allocate, eligibility

YOUTH = SourceRule("youth", 30_000, min_age=12, max_age=21, lifetime_from_age=18, priority=2)
GENERAL = SourceRule("general", 20_000, min_age=0, max_age=120)


def case(cid: str, ages: tuple[int, ...], *costs: int, priority: int = 1,
         used: frozenset[str] = frozenset()) -> CaseNeed:
    return CaseNeed(cid, priority, ages,
                    tuple(Candidate(f"{cid}-{i}", c) for i, c in enumerate(costs)), used)


def test_youth_programme_and_reasons() -> None:
    cases = [
        case("teen", (16,), 12_000, 9_000),
        case("young-adult", (19,), 15_000, used=frozenset({"youth"})),  # ticket already used
        case("mother-child", (34, 6), 18_000, priority=3),
        case("far", (40,), 90_000),
        case("none", (30,)),
    ]
    result = allocate(cases, [YOUTH, GENERAL])
    funded = {a.case_id: (a.itinerary_id, a.source_id) for a in result.assignments}
    assert funded["teen"] == ("teen-1", "youth")  # the cheaper itinerary, the youth fund
    assert funded["mother-child"] == ("mother-child-0", "general")
    why = {u.case_id: u.reason for u in result.unfunded}
    assert "far" in why and "exceeds every eligible source's whole budget" in why["far"]
    assert why["none"] == "no candidate itinerary"
    assert "young-adult" in why  # general is spent on the mother and child (priority 3 x 2)
    assert "more priority-weighted survivors" in why["young-adult"]
    assert result.weighted_survivors == 1 + 6
    assert result.spent_cents == {"youth": 9_000, "general": 18_000}
    assert result.optimal


def test_eligibility_rules() -> None:
    assert eligibility(case("a", (17,)), YOUTH) is None
    assert "ages 12-21" in (eligibility(case("a", (22,)), YOUTH) or "")
    assert "lifetime ticket" in (eligibility(case("a", (19,), used=frozenset({"youth"})),
                                             YOUTH) or "")
    # Under 18 the lifetime limit does not apply.
    assert eligibility(case("a", (15,), used=frozenset({"youth"})), YOUTH) is None
    reason = allocate([case("old", (50,), 100)], [YOUTH]).unfunded[0].reason
    assert reason.startswith("no eligible funding source")


def test_bad_input_names_the_field() -> None:
    with pytest.raises(AllocationInputError) as info:
        allocate([case("a", (20,), -5)], [GENERAL])
    assert info.value.field == "cases.0.candidates"
    with pytest.raises(AllocationInputError):
        allocate([], [SourceRule("x", -1)])
    with pytest.raises(AllocationInputError):
        allocate([case("a", (1,)), case("a", (2,))], [GENERAL])


def _brute(cases: list[CaseNeed], sources: list[SourceRule]) -> tuple[int, int]:
    """Best (weighted survivors, -cost) over every assignment, by enumeration."""
    options = []
    for c in cases:
        opts: list[tuple[int, int] | None] = [None]
        opts += [(k, s) for k in range(len(c.candidates)) for s in range(len(sources))
                 if eligibility(c, sources[s]) is None]
        options.append(opts)
    best = (0, 0)
    for pick in itertools.product(*options):
        spent = [0] * len(sources)
        for c, p in zip(cases, pick, strict=True):
            if p is not None:
                spent[p[1]] += c.candidates[p[0]].cost_cents
        if any(spent[i] > s.budget_cents for i, s in enumerate(sources)):
            continue
        weight = sum(c.priority * c.survivors for c, p in zip(cases, pick, strict=True) if p)
        best = max(best, (weight, -sum(spent)))
    return best


ages = st.lists(st.integers(0, 60), min_size=1, max_size=3).map(tuple)
cases_st = st.lists(st.tuples(ages, st.lists(st.integers(0, 400), max_size=2),
                              st.integers(1, 3), st.booleans()), max_size=4)
sources_st = st.lists(st.tuples(st.integers(0, 800), st.integers(0, 30), st.integers(10, 70),
                                st.booleans()), min_size=1, max_size=2)


@settings(max_examples=40, deadline=None)
@given(cases_st, sources_st)
def test_matches_brute_force(raw_cases: list[tuple[tuple[int, ...], list[int], int, bool]],
                             raw_sources: list[tuple[int, int, int, bool]]) -> None:
    sources = [SourceRule(f"s{i}", b, lo, max(lo, hi), 18 if once else None)
               for i, (b, lo, hi, once) in enumerate(raw_sources)]
    cases = [case(f"c{i}", a, *costs, priority=p, used=frozenset({"s0"}) if used else frozenset())
             for i, (a, costs, p, used) in enumerate(raw_cases)]
    result = allocate(cases, sources)
    weight, neg_cost = _brute(cases, sources)
    assert result.weighted_survivors == weight
    assert -sum(a.cost_cents for a in result.assignments) == neg_cost
    for s in sources:
        assert result.spent_cents[s.source_id] <= s.budget_cents
    assert len({a.case_id for a in result.assignments}) == len(result.assignments)
    assert len(result.assignments) + len(result.unfunded) == len(cases)
    for a in result.assignments:
        c = next(c for c in cases if c.case_id == a.case_id)
        assert eligibility(c, next(s for s in sources if s.source_id == a.source_id)) is None
    assert allocate(cases, sources) == result  # deterministic


def test_out_of_time_keeps_the_best_answer_found_never_raises() -> None:
    """A level cut short keeps what it has (funding nobody at worst), marked not optimal."""
    cases = [CaseNeed(f"C-{i}", 1 + i % 3, (30,), (Candidate(f"i{i}", 1_000 + i),))
             for i in range(200)]
    sources = [SourceRule(f"S-{j}", 20_000 + j) for j in range(20)]
    cut = allocate(cases, sources, time_limit_s=1e-9)
    assert not cut.optimal
    assert len(cut.assignments) + len(cut.unfunded) == len(cases)
    assert all(v <= 20_019 for v in cut.spent_cents.values())

