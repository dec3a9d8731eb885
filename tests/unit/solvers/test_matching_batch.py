"""Batch placement: hand-made instances with known optima, certificate, errors."""

import pytest

from solvers.errors import InvalidHouseholdError, InvalidOptionsError, UnknownShelterError
from solvers.matching import (
    BatchOptions,
    ExclusionCircle,
    ExclusionZones,
    Household,
    MatchWeights,
    Member,
    ShelterOption,
    greedy_nearest_first,
    solve_batch,
)
from solvers.matching.validation import validate_plan

POPS = frozenset({"adult_women", "adult_men", "families_with_children", "youth_12_17"})
OPTS = BatchOptions(max_time_in_seconds=3)


def sh(sid, lat, beds, **kw):
    base = dict(shelter_id=sid, lat=lat, lon=-100.0, populations=POPS, available=beds,
                family_unit_max_household=4, children_max_age=17, state="KS", city="X")
    base.update(kw)
    return ShelterOption(**base)


def hh(ref, n=1, lat=40.0, urgency=3, ages=None, **kw):
    ages = ages or [30] * n
    base = dict(case_ref=ref, members=tuple(Member(a, "female") for a in ages), lat=lat,
                lon=-100.0, urgency=urgency, max_travel_km=500)
    base.update(kw)
    return Household(**base)


def check(hs, shelters, r, w=None):
    assert validate_plan(hs, shelters, r.assignments, r.unplaced, w, r.objective) == []


def test_whole_households_fill_capacity_optimally():
    # 5 beds; households of 3, 3, 2: greedy-by-urgency may take 3+... best is 3+2.
    shelters = [sh("A", 40.1, {"adult_female": 5})]
    hs = [hh("h1", 3), hh("h2", 3), hh("h3", 2)]
    r = solve_batch(hs, shelters, options=OPTS)
    assert r.status == "optimal"
    assert r.objective.persons == 5 and r.objective.weighted_persons == 15
    assert r.bound == 15 and r.gap == 0.0
    assert len(r.unplaced) == 1 and r.unplaced[0].reasons == ("capacity_used_by_higher_priority",)
    check(hs, shelters, r)


def test_minors_first_then_urgency():
    shelters = [sh("A", 40.1, {"family_unit": 1})]
    mum_kid = hh("fam", ages=[30, 8], urgency=1)
    mum_kid2 = hh("fam2", ages=[30, 30, 10], urgency=5)
    r = solve_batch([mum_kid, mum_kid2], shelters, options=OPTS)
    # fam2 priority = 5+5+10 = 20 > fam = 1+6 = 7.
    assert [a.case_ref for a in r.assignments] == ["fam2"]
    assert r.objective.weighted_persons == 20


def test_travel_is_second_level():
    shelters = [sh("near", 40.1, {"adult_female": 1}), sh("far", 41.0, {"adult_female": 1})]
    # h_far_origin sits near "far"; the optimum sends each to its own nearby shelter.
    hs = [hh("h1", lat=40.0), hh("h2", lat=41.05)]
    r = solve_batch(hs, shelters, options=OPTS)
    got = {a.case_ref: a.shelter_id for a in r.assignments}
    assert got == {"h1": "near", "h2": "far"}
    assert r.objective.travel_m == sum(a.distance_m for a in r.assignments)
    check(hs, shelters, r)


def test_preferences_break_travel_ties_only():
    # Two shelters at the same distance; only one speaks Spanish.
    a = sh("a", 40.1, {"adult_female": 1})
    b = sh("b", 40.1, {"adult_female": 1}, languages=frozenset({"es"}), lon=-100.0)
    hs = [hh("h1", languages=("es",))]
    r = solve_batch(hs, [a, b], options=OPTS)
    assert r.assignments[0].shelter_id == "b" and r.objective.preference == 4


def test_exclusions_and_minors_hard():
    shelters = [
        sh("close", 40.1, {"adult_female": 4, "youth": 4}),
        sh("safe", 42.0, {"adult_female": 4}, populations=frozenset({"adult_women"})),
    ]
    zone = ExclusionZones(points=(ExclusionCircle(40.1, -100.0, 5_000),))
    teen = hh("teen", ages=[16], exclusions=zone)
    adult = hh("adult", exclusions=zone)
    r = solve_batch([teen, adult], shelters, options=OPTS)
    assert [(a.case_ref, a.shelter_id) for a in r.assignments] == [("adult", "safe")]
    assert r.unplaced[0].case_ref == "teen"
    assert r.unplaced[0].reasons[0] == "no_eligible_shelter"
    assert "inside_exclusion_radius" in r.unplaced[0].reasons


def test_nothing_placeable_is_infeasible_value():
    shelters = [sh("A", 40.1, {"adult_male": 3})]
    r = solve_batch([hh("h1"), hh("h2", 2)], shelters, options=OPTS)
    assert r.status == "infeasible" and r.assignments == ()
    assert {u.case_ref for u in r.unplaced} == {"h1", "h2"}
    assert all(u.reasons[0] == "no_eligible_shelter" for u in r.unplaced)


def test_pruning_widens_until_certified():
    # K=1 models only "near" for both and greedy (single first) misses the optimum; the pairs
    # of the relaxation's optimal flow are modelled too, which reaches pair->near, single->far.
    shelters = [sh("near", 40.1, {"adult_female": 2}), sh("far", 40.5, {"adult_female": 1})]
    hs = [hh("single", urgency=5), hh("pair", 2, urgency=3)]
    r = solve_batch(hs, shelters, options=BatchOptions(max_time_in_seconds=3, candidate_k=1))
    assert r.objective.persons == 3
    assert r.certificate is not None and r.certificate.certified
    assert r.certificate.pairs_modelled <= r.certificate.pairs_eligible
    assert r.certificate.upper_bound == 11 and r.status == "optimal"
    check(hs, shelters, r)


def test_beats_greedy_on_a_trap():
    # Greedy gives the urgent single the near 2-bed shelter's bed... the pair then cannot fit.
    shelters = [sh("near", 40.1, {"adult_female": 2}), sh("far", 40.5, {"adult_female": 1})]
    hs = [hh("single", urgency=5), hh("pair", 2, urgency=3)]
    g = greedy_nearest_first(hs, shelters)
    r = solve_batch(hs, shelters, options=OPTS)
    assert g.objective.persons == 1
    assert r.objective.persons == 3 and r.objective.weighted_persons == 11
    check(hs, shelters, r)


def test_bad_input_names_the_field():
    shelters = [sh("A", 40.1, {"adult_female": 1})]
    with pytest.raises(InvalidHouseholdError) as e:
        solve_batch([hh("x"), hh("x")], shelters, options=OPTS)
    assert e.value.field == "case_ref"
    with pytest.raises(UnknownShelterError):
        excluded = hh("x", exclusions=ExclusionZones(shelter_ids=("B",)))
        solve_batch([excluded], shelters, options=OPTS)
    with pytest.raises(InvalidOptionsError) as e2:
        BatchOptions(max_time_in_seconds=10_000)
    assert e2.value.field == "max_time_in_seconds"
    with pytest.raises(InvalidOptionsError):
        MatchWeights(language=-1)


def test_validator_catches_broken_plans():
    from solvers.matching.types import Assignment

    shelters = [sh("A", 40.1, {"adult_female": 1})]
    hs = [hh("h1"), hh("h2"), hh("kid", ages=[15]), hh("wc", needs=frozenset({"wheelchair"}))]
    a1 = Assignment("h1", "A", "adult_female", 1, 11_119, 30)
    bad = [a1, Assignment("h2", "A", "adult_female", 1, 11_119, 30),
           Assignment("h1", "A", "adult_any", 1, 5, 30),
           Assignment("kid", "A", "adult_female", 1, 11_119, 30),
           Assignment("wc", "A", "adult_female", 1, 11_119, 30)]
    codes = {v.code for v in validate_plan(hs, shelters, bad)}
    assert {"household_split", "over_capacity", "wrong_bed_type", "wrong_distance",
            "minor_not_in_youth", "ineligible"} <= codes
    assert validate_plan(hs[:1], shelters, [a1]) == []



def test_second_widening_round_when_pruning_holds_level_1_below_the_bound():
    # Three shelters of 3 beds, four pairs: the flow relaxation places all 8 persons (one pair
    # split over two shelters), but a whole pair per shelter is all that fits. With K=1 the
    # pruned optimum (3 pairs) is proven yet below the bound 24, so K widens; once every
    # eligible pair is modelled, CP-SAT's proof lowers the bound to 18 and certifies it.
    spots = (("a", 40.1), ("b", 40.2), ("c", 40.3))
    shelters = [sh(n, lat, {"adult_female": 3}) for n, lat in spots]
    hs = [hh(f"p{j}", 2) for j in range(4)]
    r = solve_batch(hs, shelters, options=BatchOptions(max_time_in_seconds=3, candidate_k=1))
    c = r.certificate
    assert c is not None and c.rounds >= 2 and c.candidate_k >= 2
    assert c.certified and c.pairs_modelled == c.pairs_eligible == 12
    assert c.upper_bound == 18 and r.bound == 18 and r.gap == 0.0
    assert r.objective.weighted_persons == 18 and r.status == "optimal"
    check(hs, shelters, r)
