"""The one-household column index ranks exactly as the solver's own index over the snapshot.

`matching_index.load_index` fills `ShelterArrays` from SQL columns instead of building a
`ShelterOption` per shelter; these tests hold it to `ShelterIndex(load_snapshot(...))` on a
random registry (ids past 9, so string order differs from number order; safe houses; holds;
languages; requirements; closed intake), column by column and ranking by ranking.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.deps import Services
from core.models import Role
from logistics.matching import service as matching_service
from logistics.matching.index import load_index
from logistics.matching.models import MatchCase
from logistics.matching.snapshot import BOX_MARGIN_M, load_snapshot
from solvers.matching import ShelterIndex, rank_for_household
from tests.support import Account, AccountFactory

POPULATIONS = ["adult_women", "adult_men", "transgender_nonbinary_adults",
               "families_with_children", "youth_12_17", "young_adults_18_24"]
BEDS = ["adult_female", "adult_male", "adult_any", "youth", "family_unit"]


def _random_shelter(rng: random.Random, agency: int, n: int) -> dict[str, Any]:
    beds = []
    for bed_type in rng.sample(BEDS, rng.randint(1, 3)):
        total = rng.randint(0, 6)
        bed: dict[str, Any] = {"bed_type": bed_type, "total": total,
                               "occupied": rng.randint(0, total)}
        if bed_type == "family_unit" and rng.random() < 0.7:
            bed["max_household"] = rng.randint(2, 6)
        beds.append(bed)
    body: dict[str, Any] = {
        "name": f"Shelter {n}", "agency_id": agency,
        "lat": 29.76 + rng.uniform(-1.5, 1.5), "lon": -95.37 + rng.uniform(-1.5, 1.5),
        "street_address": f"{n} Main St", "city": rng.choice(["Houston", "Katy", "Conroe"]),
        "state": "TX", "timezone": "America/Chicago",
        "populations": rng.sample(POPULATIONS, rng.randint(1, 3)),
        "specialisation": rng.choice(["sex", "labor", "both", "none"]),
        "languages": rng.sample(["en", "es", "vi", "zh"], rng.randint(1, 3)),
        "accessible": rng.random() < 0.5, "pets": rng.random() < 0.3,
        "children_max_age": rng.choice([None, 12, 17]),
        "requires_photo_id": rng.random() < 0.2, "requires_sobriety": rng.random() < 0.2,
        "confidential_location": rng.random() < 0.25, "beds": beds,
    }
    if rng.random() < 0.2:  # intake closed all week
        body["intake_hours"] = {"windows": {"mon": [["03:00", "03:01"]]}}
    return body


def _random_case(rng: random.Random, n: int) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.4:
        members = [{"age": rng.randint(18, 60), "gender": rng.choice(["female", "male"])}]
    elif kind < 0.55:
        members = [{"age": 30, "gender": "nonbinary"}]
    elif kind < 0.8:
        members = [{"age": 35, "gender": "female"}, {"age": rng.randint(1, 16),
                                                     "gender": "male"}]
    else:
        members = [{"age": rng.randint(12, 17), "gender": "female"}]
    body: dict[str, Any] = {
        "case_ref": f"R-{n}", "household": members,
        "languages": rng.sample(["en", "es", "vi", "fr"], rng.randint(1, 2)),
        "trafficking_type": rng.choice(["sex", "labor", "both"]),
        "needs": rng.sample(["wheelchair", "pets", "children"], rng.randint(0, 1)),
        "location": {"lat": 29.76 + rng.uniform(-1, 1), "lon": -95.37 + rng.uniform(-1, 1)},
        "has_photo_id": rng.random() < 0.5, "max_travel_km": rng.choice([20, 60, 150, 800]),
        "exclusions": {"points": [{"lat": 29.76, "lon": -95.37, "radius_km": 15}]
                       if rng.random() < 0.4 else [],
                       "cities": ["Katy"] if rng.random() < 0.2 else []},
    }
    return body


@pytest.fixture
def registry(client: TestClient, admin: Account, make: AccountFactory) -> list[int]:
    rng = random.Random(11)
    agency = make.agency("Random Shelters")
    ids = []
    for n in range(36):
        made = client.post("/v1/shelters", json=_random_shelter(rng, agency, n),
                           headers=admin.headers)
        assert made.status_code == 201, made.text
        ids.append(int(made.json()["id"]))
    return ids


def test_column_index_equals_the_solver_index(client: TestClient, services: Services,
                                             make: AccountFactory,
                                             registry: list[int]) -> None:
    # A few holds, so that availability is net of them in both readers.
    advocate = make.account(Role.ADVOCATE)
    for sid in registry[:6]:
        beds = client.get(f"/v1/shelters/{sid}/beds", headers=advocate.headers).json()
        free = [b for b in beds if b["available"] > 0]
        if free:
            held = client.post(f"/v1/shelters/{sid}/holds", headers=advocate.headers, json={
                "bed_type": free[0]["bed_type"], "beds": 1, "case_ref": f"H-{sid}"})
            assert held.status_code == 201, held.text
    rng = random.Random(5)
    found = confidential = 0
    with services.db.read_session() as session:
        for n in range(40):
            household = matching_service.to_household(
                session, MatchCase.model_validate(_random_case(rng, n)))
            fast = load_index(session, household=household)
            snapshot = load_snapshot(session, now=fast.at, near=(
                household.lat, household.lon, household.max_travel_km * 1000))
            slow = ShelterIndex(snapshot.options)
            assert fast.loaded == len(slow) and fast.total == snapshot.total
            a, b = fast.index.arr, slow.arr
            for name in ("ids", "lat", "lon", "state", "city_name", "city_key", "pop_bits",
                         "gender_bits", "children_max_age", "family_max", "capacity",
                         "count_age", "specialisation"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name
            assert a.flags.keys() == b.flags.keys()
            for flag in a.flags:
                assert np.array_equal(a.flags[flag], b.flags[flag]), flag
            for lang in household.languages:
                want = b.languages.get(lang, np.zeros(len(b), np.bool_))
                got = a.languages.get(lang, np.zeros(len(a), np.bool_))
                assert np.array_equal(got, want), lang
            ranked = rank_for_household(household, fast.index, limit=50,
                                        strict_exclusion_ids=False)
            assert ranked == rank_for_household(household, slow, limit=50,
                                                strict_exclusion_ids=False)
            found += len(ranked.options)
            confidential += sum(o.confidential for o in ranked.options)
    assert found > 20 and confidential > 0  # the comparison saw real rankings


def test_safe_houses_out_of_reach_are_never_decrypted(services: Services,
                                                      registry: list[int]) -> None:
    opened: list[str] = []
    cipher = services.cipher
    real_open = cipher.open

    def spy(token: bytes, *, field: str) -> str:
        opened.append(field)
        return real_open(token, field=field)

    household = None
    with services.db.read_session() as session:
        household = matching_service.to_household(session, MatchCase.model_validate({
            "case_ref": "R-far", "household": [{"age": 30, "gender": "female"}],
            "location": {"lat": 40.71, "lon": -74.01}, "max_travel_km": 50,
            "trafficking_type": "sex"}))
        cipher.open = spy  # type: ignore[method-assign]
        try:
            far = load_index(session, household=household)
        finally:
            del cipher.open
    assert far.loaded == 0 and opened == []
    assert BOX_MARGIN_M >= 5_000
