"""Single-household ranking: order, score parts, exclusion counts, bad input."""

import pytest

from solvers.errors import InvalidHouseholdError, InvalidShelterError, UnknownShelterError
from solvers.matching import (
    ExclusionZones,
    Household,
    MatchWeights,
    Member,
    ShelterIndex,
    ShelterOption,
    rank_for_household,
)

BEDS = {"adult_female": 3, "adult_any": 3, "family_unit": 2}
POPS = frozenset({"adult_women", "families_with_children"})


def sh(sid, lat, **kw):
    base = dict(shelter_id=sid, lat=lat, lon=-100.0, populations=POPS, available=BEDS,
                family_unit_max_household=4, children_max_age=17, state="KS", city="X")
    base.update(kw)
    return ShelterOption(**base)


def hh(**kw):
    base = dict(case_ref="C-1", members=(Member(30, "female"),), lat=40.0, lon=-100.0,
                max_travel_km=400)
    base.update(kw)
    return Household(**base)


def test_nearest_first_and_score_parts():
    shelters = [sh("far", 42.0), sh("near", 40.1), sh("mid", 41.0)]
    r = rank_for_household(hh(), shelters, limit=2)
    assert [o.shelter_id for o in r.options] == ["near", "mid"]
    top = r.options[0]
    assert top.bed_type == "adult_female" and top.beds == 1
    assert top.score == sum(v for _, v in top.score_parts)
    assert dict(top.score_parts)["travel"] == -top.travel_minutes
    assert r.eligible_shelters == 3 and r.shelters_considered == 3


def test_language_bonus_can_beat_a_bit_more_travel():
    shelters = [sh("near", 40.1), sh("spanish", 40.3, languages=frozenset({"es"}))]
    r = rank_for_household(hh(languages=("es",)), shelters)
    assert r.options[0].shelter_id == "spanish" and r.options[0].language_match


def test_excluded_counted_by_reason_not_dropped():
    men_only = sh("men", 40.1, populations=frozenset({"adult_men"}), available={"adult_male": 9})
    r = rank_for_household(
        hh(members=(Member(35, "male"), Member(5, "male"))),
        [men_only, sh("women", 40.2, genders=frozenset({"female"})), sh("away", 49.0)],
    )
    assert r.options == ()
    reasons = {e.code: e.count for e in r.excluded}
    assert reasons["population_not_served"] == 1
    assert reasons["gender_not_accepted"] == 1
    assert reasons["beyond_max_travel"] == 1
    assert all(e.sentence for e in r.excluded)


def test_confidential_flag_passes_through_and_exclusion_zone_respected():
    shelters = [sh("secret", 40.1, confidential=True), sh("known", 40.2)]
    r = rank_for_household(hh(exclusions=ExclusionZones(shelter_ids=("known",))), shelters)
    assert [o.shelter_id for o in r.options] == ["secret"] and r.options[0].confidential


def test_index_reuse_and_bad_input():
    index = ShelterIndex([sh("a", 40.1)])
    assert rank_for_household(hh(), index).options[0].shelter_id == "a"
    with pytest.raises(UnknownShelterError) as e:
        rank_for_household(hh(exclusions=ExclusionZones(shelter_ids=("zzz",))), index)
    assert e.value.field == "exclusions.shelter_ids[0]"
    with pytest.raises(InvalidHouseholdError) as e2:
        hh(members=())
    assert e2.value.field == "members"
    with pytest.raises(InvalidHouseholdError) as e3:
        hh(members=(Member(130, "female"),))
    assert e3.value.field == "members[0].age"
    with pytest.raises(InvalidShelterError):
        ShelterIndex([sh("a", 40.1), sh("a", 40.2)])
    with pytest.raises(InvalidShelterError):
        sh("b", 40.0, available={"bunk": 1})


def test_weights_change_ranking():
    shelters = [sh("near", 40.1), sh("spanish", 40.3, languages=frozenset({"es"}))]
    r = rank_for_household(hh(languages=("es",)), shelters, MatchWeights(rank_language_minutes=0))
    assert r.options[0].shelter_id == "near"
