"""Eligibility rules: one pair per rule, bed needs, and scalar/vectorised agreement."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from solvers.geo import haversine_m_many
from solvers.matching.eligibility import (
    HARD_RULES,
    REASONS,
    Ctx,
    ShelterArrays,
    bed_needs,
    explain,
    failed_rules,
    fitting_bed_needs,
    is_eligible,
    language_match,
    language_match_all,
    specialisation_match,
    specialisation_match_all,
)
from solvers.matching.types import (
    GENDERS,
    POPULATIONS,
    ExclusionCircle,
    ExclusionZones,
    Household,
    Member,
    ShelterOption,
)

ALL_POPS = frozenset(POPULATIONS)
FULL = {"adult_female": 5, "adult_male": 5, "adult_any": 5, "youth": 5, "family_unit": 3}


def shelter(**kw):
    base = dict(
        shelter_id="S1", lat=40.0, lon=-100.0, populations=ALL_POPS, available=FULL,
        city="Springfield", state="KS", family_unit_max_household=5, children_max_age=17,
    )
    base.update(kw)
    return ShelterOption(**base)


def household(members=((30, "female"),), **kw):
    base = dict(case_ref="C-1", members=tuple(Member(a, g) for a, g in members),
                lat=40.1, lon=-100.1, max_travel_km=100)
    base.update(kw)
    return Household(**base)


def test_everything_fits_baseline():
    assert failed_rules(household(), shelter()) == ()
    assert is_eligible(household(), shelter())
    assert all(v.passed for v in explain(household(), shelter()))


def test_every_rule_has_a_sentence():
    for r in HARD_RULES:
        assert r.sentence.endswith(".") and REASONS[r.code] == r.sentence


def only(h, s):
    return failed_rules(h, s)


def test_exclusions():
    s = shelter()
    excluded = household(exclusions=ExclusionZones(shelter_ids=("S1",)))
    assert only(excluded, s) == ("excluded_shelter",)
    assert only(household(exclusions=ExclusionZones(states=("ks",))), s) == ("excluded_state",)
    assert only(household(exclusions=ExclusionZones(cities=("springfield",))), s) == (
        "excluded_city",
    )
    assert only(household(exclusions=ExclusionZones(cities=("Springfield, KS",))), s) == (
        "excluded_city",
    )
    assert only(household(exclusions=ExclusionZones(cities=("Springfield, MO",))), s) == ()
    pt = ExclusionCircle(40.0, -100.2, 20_000)
    near = household(exclusions=ExclusionZones(points=(pt,)))
    assert only(near, s) == ("inside_exclusion_radius",)


def test_travel_and_intake():
    assert only(household(max_travel_km=5), shelter()) == ("beyond_max_travel",)
    assert only(household(), shelter(intake_open_now=False)) == ("intake_closed",)


def test_populations_and_gender():
    man = household(((40, "male"),))
    assert only(man, shelter(populations=frozenset({"adult_women"}))) == (
        "population_not_served",
    )
    assert only(man, shelter(genders=frozenset({"female"}))) == ("gender_not_accepted",)
    young_man = household(((20, "male"),))
    assert only(young_man, shelter(populations=frozenset({"young_adults_18_24"}))) == ()
    trans = household(((30, "transgender"),))
    assert "population_not_served" in only(trans, shelter(populations=frozenset({"adult_women"})))


def test_men_with_children_need_family_shelter_taking_men():
    dad = household(((35, "male"), (6, "female")))
    women_families = shelter(genders=frozenset({"female"}))
    assert only(dad, women_families) == ("gender_not_accepted",)
    assert only(dad, shelter(populations=frozenset({"adult_men"}))) == ("population_not_served",)


def test_children_rules():
    mum = household(((30, "female"), (15, "male")))
    assert only(mum, shelter(children_max_age=None)) == ("children_not_accepted",)
    assert only(mum, shelter(children_max_age=12)) == ("child_over_age_limit",)


def test_unaccompanied_minors():
    teen = household(((15, "female"),))
    assert bed_needs(teen, shelter()) [0].bed_type == "youth"
    adult_only = shelter(populations=frozenset({"adult_women", "families_with_children"}))
    assert only(teen, adult_only) == ("population_not_served",)
    assert only(teen, shelter(available={"adult_female": 4})) == ("no_fitting_bed_type",)
    child = household(((9, "male"),))
    assert "unaccompanied_child_under_12" in only(child, shelter())


def test_needs_and_requirements():
    assert only(household(needs=frozenset({"wheelchair"})), shelter()) == (
        "not_wheelchair_accessible",
    )
    assert only(household(needs=frozenset({"pets"})), shelter()) == ("pets_not_allowed",)
    assert only(household(needs=frozenset({"medical"})), shelter()) == ("no_medical_support",)
    assert only(household(), shelter(requires_photo_id=True)) == ("photo_id_required",)
    assert only(household(has_photo_id=True), shelter(requires_photo_id=True)) == ()
    assert only(household(), shelter(requires_referral=True)) == ("referral_required",)
    no_sober = household(accepts_sobriety_requirement=False)
    assert only(no_sober, shelter(requires_sobriety=True)) == ("sobriety_required",)


def test_bed_needs():
    two_women = household(((30, "female"), (40, "female")))
    assert [(n.bed_type, n.count) for n in bed_needs(two_women, shelter())] == [
        ("adult_female", 2), ("adult_any", 2),
    ]
    couple = household(((30, "female"), (40, "male")))
    assert [(n.bed_type, n.count) for n in bed_needs(couple, shelter())] == [("adult_any", 2)]
    big_family = household(((30, "female"),) + ((5, "male"),) * 6)
    assert [(n.bed_type, n.count) for n in bed_needs(big_family, shelter())] == [
        ("family_unit", 2),
    ]
    assert bed_needs(big_family, shelter(family_unit_max_household=0)) == ()
    s = shelter(available={"adult_female": 1, "adult_any": 2})
    assert [n.bed_type for n in fitting_bed_needs(two_women, s)] == ["adult_any"]
    assert only(two_women, shelter(available={"adult_female": 1})) == ("not_enough_beds",)


def test_soft_rules():
    h = household(languages=("es",), trafficking_type="labor")
    assert language_match(h, shelter(languages=frozenset({"en", "ES"})))
    assert not language_match(h, shelter())
    assert specialisation_match(h, shelter(trafficking_specialisation="both"))
    assert not specialisation_match(h, shelter(trafficking_specialisation="sex"))


members = st.lists(
    st.tuples(st.integers(0, 70), st.sampled_from(sorted(GENDERS))), min_size=1, max_size=4
)
shelter_st = st.builds(
    lambda i, pops, genders, cap, fmax, cma, flags, lat, spec, langs: shelter(
        shelter_id=f"S{i}", populations=frozenset(pops), genders=frozenset(genders),
        available=cap, family_unit_max_household=fmax, children_max_age=cma,
        wheelchair_accessible=flags[0], pets_allowed=flags[1], medical_support=flags[2],
        requires_photo_id=flags[3], intake_open_now=flags[4], lat=lat,
        trafficking_specialisation=spec, languages=frozenset(langs),
        state=["KS", "MO"][i % 2], city=["A", "B"][i % 2],
    ),
    st.integers(0, 99),
    st.sets(st.sampled_from(sorted(POPULATIONS))),
    st.sets(st.sampled_from(sorted(GENDERS)), min_size=1),
    st.dictionaries(st.sampled_from(sorted(FULL)), st.integers(0, 4)),
    st.integers(0, 4),
    st.one_of(st.none(), st.integers(0, 17)),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.floats(39.0, 41.0),
    st.sampled_from(["sex", "labor", "both", "none"]),
    st.sets(st.sampled_from(["en", "es", "vi"])),
)
household_st = st.builds(
    lambda ms, needs, photo, radius, states, cities, ids, tt, langs: household(
        tuple(ms), needs=frozenset(needs), has_photo_id=photo, trafficking_type=tt,
        languages=tuple(langs),
        exclusions=ExclusionZones(
            points=(ExclusionCircle(40.0, -100.0, radius),) if radius else (),
            states=tuple(states), cities=tuple(cities), shelter_ids=tuple(ids),
        ),
    ),
    members,
    st.sets(st.sampled_from(["wheelchair", "pets", "children", "medical"])),
    st.booleans(),
    st.integers(0, 60_000),
    st.sets(st.sampled_from(["KS", "MO"])),
    st.sets(st.sampled_from(["a", "B, MO", "B, KS"])),
    st.sets(st.sampled_from(["S1", "S2", "S3"])),
    st.sampled_from(["sex", "labor", "both", "none"]),
    st.lists(st.sampled_from(["en", "es", "vi"]), max_size=2),
)


@settings(max_examples=60, deadline=None)
@given(household_st, st.lists(shelter_st, min_size=1, max_size=6))
def test_vectorised_rules_agree_with_scalar(h, shelters):
    arr = ShelterArrays.build(shelters)
    ctx = Ctx(arr, haversine_m_many(h.lat, h.lon, arr.lat, arr.lon))
    for rule in HARD_RULES:
        vec = rule.check_all(h, ctx)
        assert vec.tolist() == [rule.check(h, s) for s in shelters], rule.code
    assert language_match_all(h, arr).tolist() == [language_match(h, s) for s in shelters]
    spec = specialisation_match_all(h, arr)
    assert spec.tolist() == [specialisation_match(h, s) for s in shelters]
    assert np.all(arr.capacity >= 0)
