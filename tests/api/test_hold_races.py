"""Holds under real concurrency: a served app with two worker processes, many client threads.

These are correctness tests, not timings: whatever the interleaving, exactly as many holds
succeed as there are beds, the rest get 409, nothing gets a 5xx, and the counts end true.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.config import Settings
from core.models import Role
from tests.conftest import TEST_KEY
from tests.support import (
    SAFETY_CAP_S,
    Account,
    AccountFactory,
    coordinator,
    served,
    shelter_body,
)

pytestmark = pytest.mark.servers  # the multi-process tier

ROUNDS = 20
REQUESTS = 200
BEDS = 20


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> object:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2,
                env={"HOMEWARD_MAX_ACTIVE_HOLDS": "100000"}) as base:
        yield base


def _new_shelter(http: httpx.Client, admin: Account, agency_id: int, beds: int) -> int:
    response = http.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        agency_id, beds=[{"bed_type": "adult_female", "total": beds, "occupied": 0}]))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _held(http: httpx.Client, who: Account, shelter_id: int) -> dict[str, int]:
    row = http.get(f"/v1/shelters/{shelter_id}/beds", headers=who.headers).json()[0]
    return {k: row[k] for k in ("total", "occupied", "held", "available")}


def test_200_concurrent_holds_on_20_beds(server: str, admin: Account,
                                         make: AccountFactory) -> None:
    agency = make.agency("Race Shelters")
    advocates = [make.account(Role.ADVOCATE) for _ in range(4)]
    with httpx.Client(base_url=server, timeout=SAFETY_CAP_S) as http, \
            ThreadPoolExecutor(max_workers=32) as pool:
        for _ in range(ROUNDS):
            shelter_id = _new_shelter(http, admin, agency, BEDS)

            def hold(i: int, shelter_id: int = shelter_id) -> int:
                who = advocates[i % len(advocates)]
                return http.post(f"/v1/shelters/{shelter_id}/holds", headers=who.headers,
                                 json={"bed_type": "adult_female", "beds": 1,
                                       "case_ref": f"C-{i}"}).status_code

            codes = Counter(pool.map(hold, range(REQUESTS)))
            assert codes == Counter({201: BEDS, 409: REQUESTS - BEDS}), codes
            assert _held(http, admin, shelter_id) == {"total": BEDS, "occupied": 0,
                                                      "held": BEDS, "available": 0}


def test_50_concurrent_requests_with_one_idempotency_key(server: str, admin: Account,
                                                         make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    with httpx.Client(base_url=server, timeout=SAFETY_CAP_S) as http, \
            ThreadPoolExecutor(max_workers=25) as pool:
        shelter_id = _new_shelter(http, admin, make.agency("Race Shelters"), BEDS)
        headers = {**advocate.headers, "Idempotency-Key": "one-call-only"}

        def hold(_: int) -> httpx.Response:
            return http.post(f"/v1/shelters/{shelter_id}/holds", headers=headers,
                             json={"bed_type": "adult_female", "beds": 1, "case_ref": "C-1"})

        responses = list(pool.map(hold, range(50)))
        assert {r.status_code for r in responses} == {201}
        assert len({r.json()["id"] for r in responses}) == 1
        assert _held(http, admin, shelter_id)["held"] == 1


def test_concurrent_puts_with_the_same_version(server: str, admin: Account,
                                               make: AccountFactory) -> None:
    with httpx.Client(base_url=server, timeout=SAFETY_CAP_S) as http, \
            ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(5):
            shelter_id = _new_shelter(http, admin, make.agency("Race Shelters"), BEDS)
            coords = [coordinator(make, [shelter_id], agency="Race Shelters") for _ in range(2)]

            def put(i: int, shelter_id: int = shelter_id,
                    coords: list[Account] = coords) -> int:
                return http.put(f"/v1/shelters/{shelter_id}/beds/adult_female",
                                headers={**coords[i].headers, "If-Match": '"1"'},
                                json={"total": 30 + i, "occupied": i}).status_code

            assert sorted(pool.map(put, range(2))) == [200, 412]


def test_a_burst_from_one_account_cannot_pass_its_cap(settings: Settings, tmp_path: Path,
                                                      admin: Account,
                                                      make: AccountFactory) -> None:
    """The account cap (default 10) holds across two workers however the requests interleave."""
    advocate = make.account(Role.ADVOCATE)
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base, \
            httpx.Client(base_url=base, timeout=SAFETY_CAP_S) as http, \
            ThreadPoolExecutor(max_workers=20) as pool:
        shelter_id = _new_shelter(http, admin, make.agency("Race Shelters"), 100)

        def hold(i: int) -> int:
            return http.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                             json={"bed_type": "adult_female", "beds": 1,
                                   "case_ref": f"C-{i}"}).status_code

        codes = Counter(pool.map(hold, range(40)))
        assert codes == Counter({201: 10, 429: 30}), codes
        assert _held(http, admin, shelter_id)["held"] == 10
