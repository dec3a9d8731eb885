"""The national directory fixture: size, determinism, jurisdictions, fictional contacts."""

from __future__ import annotations

import re
from collections import Counter

from fixtures.national import places_by_state
from fixtures.network import counties_by_state, generate_directory
from network.directory.models import AreaKind, LawBody, OrganizationKind


def test_about_three_thousand_entries_the_same_for_a_seed() -> None:
    first = generate_directory(0)
    assert 2_800 <= len(first) <= 3_200
    assert [o.model_dump() for o in first[:200]] == [o.model_dump()
                                                     for o in generate_directory(0)[:200]]
    other = generate_directory(1)
    assert [o.name for o in other[-1500:]] != [o.name for o in first[-1500:]]
    assert len({o.external_id for o in first}) == len(first)


def test_every_state_has_state_and_federal_contacts_serving_it() -> None:
    directory = generate_directory(0)
    by_state: dict[str, set[LawBody]] = {}
    for org in directory:
        if org.law_body in (LawBody.FBI_FIELD_OFFICE, LawBody.HSI_OFFICE,
                            LawBody.ATTORNEY_GENERAL, LawBody.STATE_POLICE_TASK_FORCE):
            assert [a.kind for a in org.areas] == [AreaKind.STATE]
            by_state.setdefault(org.state, set()).add(org.law_body)
    assert set(by_state) == set(places_by_state())
    assert all(len(bodies) == 4 for bodies in by_state.values())
    local = Counter(o.law_body for o in directory if o.law_body in (LawBody.POLICE,
                                                                    LawBody.SHERIFF))
    assert local[LawBody.POLICE] == 700 and local[LawBody.SHERIFF] == 500


def test_places_and_counties_are_real_and_contacts_fictional() -> None:
    places = {(p.state, p.name) for ps in places_by_state().values() for p in ps}
    counties = {(c.state, c.name) for cs in counties_by_state().values() for c in cs}
    for org in generate_directory(0):
        assert org.phone is not None and re.fullmatch(r"\(\d{3}\) 555-01\d\d", org.phone)
        assert org.email is not None and org.email.endswith(".example.org")
        for area in org.areas:
            if area.kind is AreaKind.CITY:
                assert (area.state, area.city) in places
            if area.kind is AreaKind.COUNTY:
                assert (area.state, area.county) in counties
        if org.kind is OrganizationKind.SERVICE_PROVIDER:
            assert org.services and org.law_body is None


def test_services_cover_every_type_and_some_are_specialised() -> None:
    providers = [o for o in generate_directory(0) if o.kind is OrganizationKind.SERVICE_PROVIDER]
    types = Counter(s.service_type for o in providers for s in o.services)
    assert len(types) == 9 and min(types.values()) >= 50
    specialised = sum(o.specialisation.value != "none" for o in providers)
    assert 0.2 < specialised / len(providers) < 0.45
    assert sum(a.kind is AreaKind.NATIONAL for o in providers for a in o.areas) == 12
