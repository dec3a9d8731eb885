"""Joint return planning on hand-made instances whose optimum is known by hand."""

from __future__ import annotations

import pytest

from solvers.return_plan import (
    BedPool,
    ExclusionZone,
    PlanOptions,
    ReturnCase,
    ReturnInstance,
    ReturnOption,
    ReturnPlanInputError,
    ReturnResult,
    SourceRule,
    TripOption,
    solve,
    validate_plan,
)

NOW = 1_000_000
DAY = 24 * 60
OPTS = PlanOptions(time_limit_s=5, num_workers=1, hold_buffer_minutes=60)


def pool(sid: str, free: int = 1, *, hold: int = 3 * DAY, lat: float = 40.0,
         lon: float = -100.0, **kw: object) -> BedPool:
    return BedPool(sid, "adult_any", free, kw.pop("state", "KS"), lat, lon,  # type: ignore[arg-type]
                   NOW + hold, **kw)  # type: ignore[arg-type]


def opt(sid: str, it: str, depart: int, minutes: int, cost: int, beds: int = 1,
        pref: int = 0) -> ReturnOption:
    return ReturnOption(sid, "adult_any", beds, TripOption(it, NOW + depart, NOW + depart + minutes,
                                                      cost), pref)


def case(cid: str, *options: ReturnOption, ages: tuple[int, ...] = (30,), urgency: int = 3,
         **kw: object) -> ReturnCase:
    return ReturnCase(cid, urgency, ages, options, **kw)  # type: ignore[arg-type]


FUND = (SourceRule("fund", 100_000),)


def run(cases: list[ReturnCase], beds: list[BedPool],
        sources: tuple[SourceRule, ...] = FUND) -> ReturnResult:
    inst = ReturnInstance(NOW, tuple(cases), tuple(beds), sources, OPTS)
    result = solve(inst)
    assert validate_plan(inst, result) == []
    return result


def test_a_minor_outranks_an_adult_for_the_one_near_bed() -> None:
    r = run([case("adult", opt("near", "a1", 60, 300, 5000), opt("far", "a2", 60, 900, 9000)),
                case("teen", opt("near", "t1", 60, 300, 5000), ages=(16,))],
               [pool("near"), pool("far")])
    got = {c.case_id: c.shelter_id for c in r.chosen}
    assert got == {"adult": "far", "teen": "near"}
    assert r.status == "optimal" and r.gap == 0.0
    assert r.objective.weighted_persons == 3 + 3 + 5


def test_a_trip_arriving_after_the_hold_lapses_is_never_chosen() -> None:
    # The nearest shelter holds beds only 6 h: its 7 h trip would arrive to a lapsed hold.
    r = run([case("c", opt("near", "fast", 0, 420, 3000), opt("far", "slow", 0, 600, 4000))],
               [pool("near", hold=360), pool("far")])
    assert [c.itinerary_id for c in r.chosen] == ["slow"]


def test_the_budget_sends_both_home_on_slower_cheaper_trips() -> None:
    cases = [case(c, opt("s", f"{c}-fast", 0, 300, 6000), opt("s", f"{c}-cheap", 0, 700, 4000))
             for c in ("a", "b")]
    r = run(cases, [pool("s", free=2)], (SourceRule("fund", 10_000),))
    assert sorted(c.itinerary_id for c in r.chosen) in (["a-cheap", "b-fast"],
                                                        ["a-fast", "b-cheap"])
    assert r.objective.travel_minutes == 1000 and r.objective.cost_cents == 10_000


def test_travel_time_then_cost_then_preference() -> None:
    r = run([case("c", opt("a", "slow", 0, 500, 100), opt("b", "fast-dear", 0, 400, 900),
                     opt("c", "fast-cheap", 0, 400, 500),
                     opt("d", "fast-cheap-liked", 0, 400, 500, pref=2))],
               [pool("a"), pool("b"), pool("c"), pool("d")])
    assert [c.itinerary_id for c in r.chosen] == ["fast-cheap-liked"]


def test_intake_hours_and_a_late_arrival_agreement() -> None:
    window = ((NOW + 8 * 60, NOW + 17 * 60),)
    r = run([case("c", opt("closed", "late", 0, 20 * 60, 100))],
                  [pool("closed", intake=window)])
    assert r.unplaced[0].reasons == ("outside_intake_hours",)
    r = run([case("c", opt("ok", "late", 0, 20 * 60, 100))],
               [pool("ok", intake=window, late_arrival_ok=True)])
    assert len(r.chosen) == 1


def test_exclusions_are_conservative_for_a_safe_house() -> None:
    # The zone ends ~4.4 km short of the public point, but the house may be 5 km from it.
    zone = ExclusionZone(40.0, -100.0, 40_000)
    far = pool("safe", lat=40.0 + 0.4, uncertainty_m=5_000)
    r = run([case("c", opt("safe", "t", 0, 60, 100), zones=(zone,))], [far])
    assert r.unplaced[0].reasons == ("inside_exclusion_zone",)
    r = run([case("c", opt("safe", "t", 0, 60, 100), zones=(zone,))],
               [pool("safe", lat=40.4)])
    assert len(r.chosen) == 1
    r = run([case("c", opt("x", "t", 0, 60, 100), excluded_states=frozenset({"KS"}))],
               [pool("x")])
    assert r.unplaced[0].reasons == ("excluded_state",)


def test_reasons_for_money_and_for_competition() -> None:
    youth = (SourceRule("youth", 100_000, min_age=12, max_age=21),)
    r = run([case("c", opt("s", "t", 0, 60, 100), ages=(40,))], [pool("s")], youth)
    assert r.unplaced[0].reasons == ("no_eligible_funding",)
    r = run([case("c", opt("s", "t", 0, 60, 900))], [pool("s")],
               (SourceRule("small", 500),))
    assert r.unplaced[0].reasons == ("over_every_budget",)
    r = run([case("a", opt("s", "t", 0, 60, 100), urgency=5),
                case("b", opt("s", "u", 0, 60, 100), urgency=1)], [pool("s")])
    assert [u.case_id for u in r.unplaced] == ["b"]
    assert r.unplaced[0].reasons == ("capacity_or_budget_used_by_higher_priority",)
    r = run([case("n", notes=("no_shelter_near_destination",))], [])
    assert r.status == "infeasible"
    assert r.unplaced[0].reasons == ("no_shelter_near_destination",)


def test_a_past_departure_and_bad_input() -> None:
    r = run([case("c", opt("s", "gone", -10, 60, 100))], [pool("s")])
    assert r.unplaced[0].reasons == ("departs_in_past",)
    with pytest.raises(ReturnPlanInputError) as err:
        solve(ReturnInstance(NOW, (case("c"), case("c")), (), FUND, OPTS))
    assert err.value.field == "cases"


def test_the_certificate_counts_a_case_refused_only_for_intake_hours() -> None:
    # The Pareto itinerary arrives at 20:00, after intake closes at 17:00; a dominated one
    # (later, dearer) arriving at 09:00 next day would be taken in. The search never yields
    # it, so the certificate must not claim widening cannot help.
    from solvers.return_plan.candidates import widening_certificate

    window = ((NOW + 8 * 60, NOW + 17 * 60), (NOW + DAY + 8 * 60, NOW + DAY + 17 * 60))
    cases = (case("c", opt("s", "late", 0, 20 * 60, 100)),)
    inst = ReturnInstance(NOW, cases, (pool("s", intake=window),), FUND, OPTS)
    r = solve(inst)
    assert r.unplaced[0].reasons == ("outside_intake_hours",)
    cert = widening_certificate(cases, r, {"c": False}, 5, inst)
    assert not cert.certified and cert.cases_left_out == 1 and cert.widened_bound == 3
    # A hold lapse is monotone in arrival, so it needs no such care: still certified.
    lapsing = (case("c", opt("s", "slow", 0, 20 * 60, 100)),)
    inst = ReturnInstance(NOW, lapsing, (pool("s", hold=600),), FUND, OPTS)
    r = solve(inst)
    assert r.unplaced[0].reasons == ("hold_lapses_before_arrival",)
    assert widening_certificate(lapsing, r, {"c": False}, 5, inst).certified
