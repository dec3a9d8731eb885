"""Batch holds through HTTP (issue 13, part 6): the agency's mass-rescue budget, not the
account cap; one hold per case across re-runs; `GET /v1/holds?mine=true`; the budget set by an
admin; the web "Place all holds"; two held batches at once against one budget, in two workers.

Before the fix, a held batch of 25 households held 25 beds for one advocate (the report: 73)
and a re-run held every household again; `test_a_held_batch_cannot_pass_the_agency_budget`
and `test_rerunning_a_held_batch_holds_each_case_once` reproduce both.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.deps import Services
from core.models import Role
from logistics.matching.solver_pool import SolverPool
from tests.api.web_support import sign_in
from tests.conftest import TEST_KEY
from tests.support import SAFETY_CAP_S, Account, AccountFactory, served, shelter_body

HOUSTON = {"lat": 29.76, "lon": -95.37}
BUDGET_PROBLEM = "urn:homeward:problem:mass-rescue-budget-exceeded"


def _shelter(http: TestClient | httpx.Client, admin: Account, agency: int,
             beds: int = 100) -> int:
    created = http.post("/v1/shelters", headers=admin.headers, json=shelter_body(
        agency, name=f"Gulf House {beds}", lat=29.77, lon=-95.38, city="Houston", state="TX",
        timezone="America/Chicago",
        beds=[{"bed_type": "adult_female", "total": beds, "occupied": 0}]))
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
def shelter(client: TestClient, admin: Account, make: AccountFactory) -> int:
    return _shelter(client, admin, make.agency("Gulf Coast Shelters"))


def _cases(prefix: str, n: int) -> list[dict[str, Any]]:
    return [{"case_ref": f"{prefix}-{i:03}", "household": [{"age": 30, "gender": "female"}],
             "languages": ["en"], "trafficking_type": "labor", "location": HOUSTON,
             "max_travel_km": 200} for i in range(n)]


def _batch(http: TestClient | httpx.Client, who: Account, cases: list[dict[str, Any]],
           time_limit_s: float = 2) -> Any:
    return http.post("/v1/matches/batch", headers=who.headers, json={
        "cases": cases, "options": {"hold": True, "time_limit_s": time_limit_s}})


def _held(http: TestClient | httpx.Client, admin: Account, shelter_id: int) -> int:
    return int(http.get(f"/v1/shelters/{shelter_id}/beds", headers=admin.headers)
               .json()[0]["held"])


def _single(client: TestClient, who: Account, shelter_id: int, ref: str) -> Any:
    return client.post(f"/v1/shelters/{shelter_id}/holds", headers=who.headers,
                       json={"bed_type": "adult_female", "beds": 1, "case_ref": ref})


def _budget_url(agency_id: int) -> str:
    return f"/v1/agencies/{agency_id}/mass-rescue-budget"


def test_a_held_batch_cannot_pass_the_agency_budget(client: TestClient, shelter: int,
                                                    admin: Account,
                                                    make: AccountFactory) -> None:
    """The report: one account held 73 beds in one batch. Now the agency's budget (20 by
    default) refuses the whole batch, plainly, and holds nothing."""
    advocate = make.account(Role.ADVOCATE)
    refused = _batch(client, advocate, _cases("R", 25))
    assert refused.status_code == 409, refused.text
    problem = refused.json()
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == BUDGET_PROBLEM
    assert (problem["budget"], problem["in_use"], problem["requested"]) == (20, 0, 25)
    assert "nothing was held" in problem["detail"]
    assert _held(client, admin, shelter) == 0
    assert client.get("/v1/holds?mine=true", headers=advocate.headers).json() == []
    # Within the budget the batch holds, and the advocate's own cap is untouched by it.
    held = _batch(client, advocate, _cases("R", 20))
    assert held.status_code == 200, held.text
    assert len(held.json()["holds"]) == 20 and _held(client, admin, shelter) == 20
    assert _single(client, advocate, shelter, "S-1").status_code == 201


def test_batch_and_single_holds_count_against_different_limits(
        client: TestClient, shelter: int, admin: Account, make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    for i in range(10):
        assert _single(client, advocate, shelter, f"S-{i}").status_code == 201
    assert _single(client, advocate, shelter, "S-10").status_code == 429  # the personal cap
    budget = client.get(_budget_url(advocate.agency_id), headers=advocate.headers).json()
    assert budget == {"agency_id": advocate.agency_id, "budget": 20, "in_use": 0,
                      "available": 20}  # single holds are not batch holds
    held = _batch(client, advocate, _cases("B", 5))
    assert held.status_code == 200, held.text
    assert {h["source"] for h in held.json()["holds"]} == {"batch"}
    assert client.get(_budget_url(advocate.agency_id),
                      headers=advocate.headers).json()["in_use"] == 5
    assert _single(client, advocate, shelter, "S-10").status_code == 429  # still 10 singles
    assert _held(client, admin, shelter) == 15


def test_rerunning_a_held_batch_holds_each_case_once(client: TestClient, shelter: int,
                                                     admin: Account,
                                                     make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    colleague = make.account(Role.CASE_MANAGER)  # same agency: the cases are the agency's
    first = _batch(client, advocate, _cases("C", 4)).json()
    ids = sorted(h["id"] for h in first["holds"])
    assert len(ids) == 4 and first["already_held"] == []
    again = _batch(client, colleague, _cases("C", 4))
    assert again.status_code == 200, again.text
    second = again.json()
    assert sorted(h["id"] for h in second["holds"]) == ids
    assert second["already_held"] == [f"C-{i:03}" for i in range(4)]
    assert second["assignments"] == [] and second["unplaced"] == [] and second["held"]
    assert _held(client, admin, shelter) == 4
    # Two new cases beside the four: only they are solved and held.
    third = _batch(client, advocate, _cases("C", 6)).json()
    assert sorted(a["case_ref"] for a in third["assignments"]) == ["C-004", "C-005"]
    assert all(a["hold_id"] for a in third["assignments"])
    assert len(third["holds"]) == 6 and set(ids) <= {h["id"] for h in third["holds"]}
    assert _held(client, admin, shelter) == 6
    # Another agency's case with the same ref is another case.
    other = make.account(Role.ADVOCATE, agency="Another Hotline")
    theirs = _batch(client, other, _cases("C", 1)).json()
    assert theirs["already_held"] == [] and theirs["holds"][0]["id"] not in ids
    # A released hold is not kept: the case is held anew.
    released = client.delete(f"/v1/holds/{ids[0]}", headers=advocate.headers)
    assert released.status_code == 200, released.text
    fourth = _batch(client, advocate, _cases("C", 6)).json()
    assert len(fourth["already_held"]) == 5 and len(fourth["assignments"]) == 1
    assert ids[0] not in {h["id"] for h in fourth["holds"]}


def test_admin_sets_the_budget_and_it_is_enforced(client: TestClient, shelter: int,
                                                  admin: Account,
                                                  make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    url = _budget_url(advocate.agency_id)
    assert client.put(url, json={"budget": 50}, headers=advocate.headers).status_code == 403
    assert client.put(url, json={"budget": -1}, headers=admin.headers).status_code == 422
    assert client.put("/v1/agencies/999999/mass-rescue-budget", json={"budget": 1},
                      headers=admin.headers).status_code == 404
    other = make.account(Role.ADVOCATE, agency="Another Hotline")
    assert client.get(url, headers=other.headers).status_code == 404
    set_to = client.put(url, json={"budget": 3}, headers=admin.headers)
    assert set_to.status_code == 200, set_to.text
    assert set_to.json() == {"agency_id": advocate.agency_id, "budget": 3, "in_use": 0,
                             "available": 3}
    audit = client.get(f"/v1/audit?object_type=agency&object_id={advocate.agency_id}",
                       headers=admin.headers).json()
    assert audit[0]["action"] == "agency.mass_rescue_budget"
    assert audit[0]["details"] == {"before": 20, "after": 3}

    refused = _batch(client, advocate, _cases("A", 4)).json()
    assert (refused["budget"], refused["in_use"], refused["requested"]) == (3, 0, 4)
    held = _batch(client, advocate, _cases("A", 3)).json()
    assert len(held["holds"]) == 3
    more = _batch(client, advocate, _cases("M", 1)).json()
    assert (more["type"], more["in_use"], more["requested"]) == (BUDGET_PROBLEM, 3, 1)
    # A confirmed hold no longer counts: the budget is of active holds.
    confirmed = client.post(f"/v1/holds/{held['holds'][0]['id']}/confirm",
                            headers=advocate.headers)
    assert confirmed.status_code == 200, confirmed.text
    assert len(_batch(client, advocate, _cases("M", 1)).json()["holds"]) == 1
    # Lowering the budget below what is in use releases nothing and refuses new batches.
    lowered = client.put(url, json={"budget": 1}, headers=admin.headers).json()
    assert (lowered["in_use"], lowered["available"]) == (3, 0)
    assert _batch(client, advocate, _cases("N", 1)).status_code == 409
    assert _held(client, admin, shelter) == 3


def test_mine_lists_the_callers_active_holds(client: TestClient, shelter: int,
                                             make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    colleague = make.account(Role.ADVOCATE)
    single = _single(client, advocate, shelter, "S-1").json()
    batch = _batch(client, advocate, _cases("B", 2)).json()
    _single(client, colleague, shelter, "S-2")
    released = _single(client, advocate, shelter, "S-3").json()
    client.delete(f"/v1/holds/{released['id']}", headers=advocate.headers)
    mine = client.get("/v1/holds?mine=true", headers=advocate.headers)
    assert mine.status_code == 200, mine.text
    expected = {single["id"], *(h["id"] for h in batch["holds"])}
    assert {h["id"] for h in mine.json()} == expected
    assert {h["source"] for h in mine.json()} == {"single", "batch"}
    pages = [client.get(f"/v1/holds?mine=true&limit=1&offset={i}",
                        headers=advocate.headers).json() for i in range(4)]
    assert [len(p) for p in pages] == [1, 1, 1, 0]
    assert {p[0]["id"] for p in pages[:3]} == expected
    assert client.get("/v1/holds?mine=true&limit=101",
                      headers=advocate.headers).status_code == 422
    without = client.get("/v1/holds", headers=advocate.headers)
    assert without.status_code == 422 and without.json()["errors"][0]["field"] == "mine"
    assert client.get("/v1/holds?mine=true").status_code == 401


def test_web_place_all_holds_shows_the_budget_refusal(client: TestClient, services: Services,
                                                      shelter: int, admin: Account,
                                                      make: AccountFactory) -> None:
    advocate = make.account(Role.ADVOCATE)
    client.put(_budget_url(advocate.agency_id), json={"budget": 2}, headers=admin.headers)
    token = sign_in(client, services, advocate.name, next_page="/web/rescue")
    csv = "case_ref,members,lat,lon,city,state,languages,has_photo_id,needs\n" + "".join(
        f"W-{i},30F,29.76,-95.37,,,en,no,\n" for i in range(3))
    refused = client.post("/web/rescue", data={"csrf_token": token, "households": csv,
                                               "action": "hold"})
    assert refused.status_code == 409
    assert "mass-rescue budget is 2 active batch holds" in refused.text
    assert "nothing was held" in refused.text
    assert _held(client, admin, shelter) == 0
    two = csv.rsplit("W-2", 1)[0]
    held = client.post("/web/rescue", data={"csrf_token": token, "households": two,
                                            "action": "hold"})
    assert held.status_code == 200 and "Held beds for 2 of 2 households." in held.text
    again = client.post("/web/rescue", data={"csrf_token": token, "households": two,
                                             "action": "hold"})
    assert again.status_code == 200 and "Held beds for 2 of 2 households." in again.text
    assert _held(client, admin, shelter) == 2


def _another_batch_while_solving(monkeypatch: pytest.MonkeyPatch, client: TestClient,
                                 who: Account, cases: list[dict[str, Any]]) -> list[Any]:
    """After the next solve and before its holds are staged, run another whole held batch:
    the interleaving two workers may produce, made certain. Returns its response, once run."""
    real: Callable[..., Any] = SolverPool.solve_batch
    other: list[Any] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        if not other:
            other.append(None)  # the other batch's own solve goes straight through
            other[0] = _batch(client, who, cases)
        return result

    monkeypatch.setattr(SolverPool, "solve_batch", racing)
    return other


def test_staging_counts_what_a_batch_held_meanwhile(client: TestClient, shelter: int,
                                                   admin: Account, make: AccountFactory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = make.account(Role.ADVOCATE), make.account(Role.CASE_MANAGER)
    client.put(_budget_url(one.agency_id), json={"budget": 6}, headers=admin.headers)
    other = _another_batch_while_solving(monkeypatch, client, two, _cases("Y", 4))
    refused = _batch(client, one, _cases("X", 4))
    assert other[0].status_code == 200 and len(other[0].json()["holds"]) == 4
    assert refused.status_code == 409, refused.text
    assert (refused.json()["in_use"], refused.json()["requested"]) == (4, 4)
    assert _held(client, admin, shelter) == 4


def test_a_case_held_meanwhile_is_kept_not_held_twice(client: TestClient, shelter: int,
                                                      admin: Account, make: AccountFactory,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = make.account(Role.ADVOCATE), make.account(Role.CASE_MANAGER)
    other = _another_batch_while_solving(monkeypatch, client, two, _cases("Z", 2))
    mine = _batch(client, one, _cases("Z", 3))
    assert mine.status_code == 200, mine.text
    theirs = {h["id"] for h in other[0].json()["holds"]}
    result = mine.json()
    assert result["already_held"] == ["Z-000", "Z-001"]
    assert [a["case_ref"] for a in result["assignments"]] == ["Z-002"]
    assert theirs < {h["id"] for h in result["holds"]} and len(result["holds"]) == 3
    assert _held(client, admin, shelter) == 3


@pytest.fixture
def server(settings: Settings, tmp_path: Path) -> object:
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2) as base:
        yield base


def _together(http: httpx.Client, calls: list[tuple[Account, list[dict[str, Any]]]]
              ) -> list[httpx.Response]:
    """Send the batches at once: each thread waits at a barrier, then posts."""
    start = threading.Barrier(len(calls))

    def send(call: tuple[Account, list[dict[str, Any]]]) -> httpx.Response:
        start.wait(timeout=SAFETY_CAP_S)  # a hang guard, not a deadline
        # A roomy solver limit: a shared, loaded machine must not turn this into a 503 (the
        # solves are tiny and end as soon as they are optimal).
        return _batch(http, *call, time_limit_s=20)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(send, calls))


@pytest.mark.servers
def test_two_held_batches_at_once_stay_within_the_budget(server: str, admin: Account,
                                                         make: AccountFactory) -> None:
    """Two workers, two advocates of one agency, budget 6, two batches of 4 at once: exactly
    one holds, the other is refused whole; then two identical batches at once hold once."""
    with httpx.Client(base_url=server, timeout=120) as http:
        shelter_id = _shelter(http, admin, make.agency("Race Shelters"), beds=200)
        for round_ in range(2):
            agency = f"Race Hotline {round_}"
            one, two = (make.account(Role.ADVOCATE, agency=agency) for _ in range(2))
            assert http.put(_budget_url(one.agency_id), json={"budget": 6},
                            headers=admin.headers).status_code == 200
            responses = _together(http, [(one, _cases(f"X{round_}", 4)),
                                         (two, _cases(f"Y{round_}", 4))])
            codes = Counter(r.status_code for r in responses)
            assert codes == Counter({200: 1, 409: 1}), [r.text for r in responses]
            refused = next(r.json() for r in responses if r.status_code == 409)
            assert (refused["in_use"], refused["requested"]) == (4, 4)
            budget = http.get(_budget_url(one.agency_id), headers=one.headers).json()
            assert budget["in_use"] == 4
            # The same batch twice at once: one holds it, the other reports those holds.
            same = _cases(f"Z{round_}", 2)
            both = _together(http, [(one, same), (two, same)])
            assert [r.status_code for r in both] == [200, 200], [r.text for r in both]
            ids = [sorted(h["id"] for h in r.json()["holds"]) for r in both]
            assert ids[0] == ids[1] and len(ids[0]) == 2
            assert http.get(_budget_url(one.agency_id),
                            headers=one.headers).json()["in_use"] == 6
        assert _held(http, admin, shelter_id) == 2 * 6
