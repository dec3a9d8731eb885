"""The shelter and bed registry through HTTP: views, counts, admit/discharge, holds, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text, update

from api.deps import Services
from core.clock import utcnow
from core.models import Role
from logistics.beds.models import BedHold
from tests.support import Account, AccountFactory, coordinator, shelter_body


@pytest.fixture
def shelter_id(client: TestClient, admin: Account, make: AccountFactory) -> int:
    agency = make.agency("Capital Shelter Network")
    created = client.post("/v1/shelters", json=shelter_body(agency, confidential_location=True),
                          headers=admin.headers)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture
def coord(make: AccountFactory, shelter_id: int) -> Account:
    return coordinator(make, [shelter_id])


@pytest.fixture
def advocate(make: AccountFactory) -> Account:
    return make.account(Role.ADVOCATE)


def beds(client: TestClient, shelter_id: int, who: Account) -> dict[str, object]:
    rows = client.get(f"/v1/shelters/{shelter_id}/beds", headers=who.headers).json()
    return {k: rows[0][k] for k in ("total", "occupied", "held", "available", "version")}


def test_confidential_location_only_for_staff_and_admins(
    client: TestClient, shelter_id: int, coord: Account, advocate: Account, admin: Account
) -> None:
    for who in (coord, admin):
        view = client.get(f"/v1/shelters/{shelter_id}", headers=who.headers).json()
        assert view["street_address"] == "425 2nd St NW" and view["lat"] == 38.9007
    outsider = client.get(f"/v1/shelters/{shelter_id}", headers=advocate.headers).json()
    assert outsider["street_address"] is None and outsider["lat"] is None
    assert outsider["zip_code"] is None and outsider["city"] == "Washington"
    assert "425 2nd" not in client.get(f"/v1/shelters/{shelter_id}",
                                       headers=advocate.headers).text


def test_public_shelter_shows_its_address(client: TestClient, admin: Account,
                                          make: AccountFactory, advocate: Account) -> None:
    agency = make.agency("Open Doors")
    created = client.post("/v1/shelters", json=shelter_body(agency), headers=admin.headers)
    view = client.get(f"/v1/shelters/{created.json()['id']}", headers=advocate.headers).json()
    assert view["street_address"] == "425 2nd St NW" and view["lat"] == 38.9007


def test_bed_counts_with_etag_and_if_match(client: TestClient, shelter_id: int,
                                           coord: Account) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    first = client.get(url, headers=coord.headers)
    assert first.headers["etag"] == '"1"'
    assert first.json()["available"] == 20 and first.json()["stale"] is False
    assert client.put(url, json={"total": 25, "occupied": 5},
                      headers=coord.headers).status_code == 428
    ok = client.put(url, json={"total": 25, "occupied": 5},
                    headers={**coord.headers, "If-Match": '"1"'})
    assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
    assert ok.json()["available"] == 20
    stale = client.put(url, json={"total": 30, "occupied": 5},
                       headers={**coord.headers, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert beds(client, shelter_id, coord)["total"] == 25


def test_two_coordinators_same_version_one_wins(client: TestClient, shelter_id: int,
                                                coord: Account, make: AccountFactory) -> None:
    other = coordinator(make, [shelter_id])
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    a = client.put(url, json={"total": 21, "occupied": 1}, headers={**coord.headers,
                                                                    "If-Match": '"1"'})
    b = client.put(url, json={"total": 22, "occupied": 2}, headers={**other.headers,
                                                                    "If-Match": '"1"'})
    assert sorted([a.status_code, b.status_code]) == [200, 412]


def test_new_bed_type_is_created_with_version_zero(client: TestClient, shelter_id: int,
                                                   coord: Account) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/family_unit"
    assert client.put(url, json={"total": 4, "occupied": 0, "max_household": 5},
                      headers={**coord.headers, "If-Match": '"3"'}).status_code == 412
    made = client.put(url, json={"total": 4, "occupied": 0, "max_household": 5},
                      headers={**coord.headers, "If-Match": '"0"'})
    assert made.status_code == 200 and made.json()["max_household"] == 5


def test_only_staff_and_admins_write(client: TestClient, shelter_id: int, advocate: Account,
                                     make: AccountFactory, admin: Account) -> None:
    other_shelter = client.post("/v1/shelters", json=shelter_body(
        make.agency("Capital Shelter Network"), name="Other"), headers=admin.headers).json()
    stranger = coordinator(make, [other_shelter["id"]])
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    for who in (advocate, stranger):
        assert client.post(f"{url}/admit", json={"beds": 1},
                           headers=who.headers).status_code == 403
        assert client.put(url, json={"total": 1, "occupied": 0},
                          headers={**who.headers, "If-Match": '"1"'}).status_code == 403
    assert client.post(f"{url}/admit", json={"beds": 1}, headers=admin.headers).status_code == 200


def test_admit_discharge_and_invariant(client: TestClient, shelter_id: int,
                                       coord: Account) -> None:
    url = f"/v1/shelters/{shelter_id}/beds/adult_female"
    admitted = client.post(f"{url}/admit", json={"beds": 2}, headers=coord.headers)
    assert admitted.status_code == 200 and admitted.json()["occupied"] == 2
    full = client.post(f"{url}/admit", json={"beds": 19}, headers=coord.headers)
    assert full.status_code == 409 and full.json()["available"] == 18
    assert client.post(f"{url}/discharge", json={"beds": 3},
                       headers=coord.headers).status_code == 409
    assert client.post(f"{url}/discharge", json={"beds": 2},
                       headers=coord.headers).json()["occupied"] == 0


@pytest.mark.parametrize(("path", "method", "body", "field"), [
    ("/beds/adult_female", "put", {"total": -1, "occupied": 0}, "body.total"),
    ("/beds/adult_female", "put", {"total": 1, "occupied": 2}, "body"),
    ("/beds/dragon_bed", "put", {"total": 1, "occupied": 0}, "path.bed_type"),
    ("/beds/adult_female/admit", "post", {"beds": -3}, "body.beds"),
    ("/holds", "post", {"bed_type": "adult_female", "beds": 0, "case_ref": "C-1"},
     "body.beds"),
])
def test_bad_input_is_422_and_writes_nothing(client: TestClient, shelter_id: int,
                                            coord: Account, path: str, method: str,
                                            body: dict[str, object], field: str) -> None:
    before = beds(client, shelter_id, coord)
    response = client.request(method.upper(), f"/v1/shelters/{shelter_id}{path}", json=body,
                              headers={**coord.headers, "If-Match": '"1"'})
    assert response.status_code == 422
    assert any(e["field"].startswith(field) for e in response.json()["errors"])
    assert beds(client, shelter_id, coord) == before


def test_unknown_shelter_is_404(client: TestClient, coord: Account) -> None:
    assert client.get("/v1/shelters/999999/beds", headers=coord.headers).status_code == 404
    assert client.post("/v1/shelters/999999/holds", headers=coord.headers, json={
        "bed_type": "adult_female", "case_ref": "C-1"}).status_code == 404


def test_hold_confirm_release_and_counts(client: TestClient, shelter_id: int, coord: Account,
                                         advocate: Account) -> None:
    body = {"bed_type": "adult_female", "beds": 2, "case_ref": "C-1042", "ttl_minutes": 90}
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", json=body, headers=advocate.headers)
    assert hold.status_code == 201
    assert hold.json()["status"] == "active" and hold.json()["expires_at"]
    assert beds(client, shelter_id, coord) | {"version": 0} == {
        "total": 20, "occupied": 0, "held": 2, "available": 18, "version": 0}
    confirmed = client.post(f"/v1/holds/{hold.json()['id']}/confirm", headers=advocate.headers)
    assert confirmed.json()["status"] == "confirmed"
    assert beds(client, shelter_id, coord)["occupied"] == 2
    assert beds(client, shelter_id, coord)["held"] == 0
    again = client.post(f"/v1/holds/{hold.json()['id']}/confirm", headers=advocate.headers)
    assert again.status_code == 409
    second = client.post(f"/v1/shelters/{shelter_id}/holds", json=body,
                         headers=advocate.headers).json()
    released = client.delete(f"/v1/holds/{second['id']}", headers=advocate.headers)
    assert released.json()["status"] == "released"
    assert beds(client, shelter_id, coord)["available"] == 18
    held_list = client.get(f"/v1/shelters/{shelter_id}/holds", headers=coord.headers).json()
    assert held_list == []


def test_hold_beyond_capacity_is_409_and_recorded(client: TestClient, shelter_id: int,
                                                  advocate: Account, admin: Account) -> None:
    response = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                           json={"bed_type": "adult_female", "beds": 21, "case_ref": "C-9"})
    assert response.status_code == 409 and response.json()["available"] == 20
    no_type = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                          json={"bed_type": "adult_male", "beds": 1, "case_ref": "C-9"})
    assert no_type.status_code == 409 and no_type.json()["available"] == 0
    ledger = client.get("/v1/unmet-need", headers=admin.headers).json()
    assert [(e["state"], e["bed_type"], e["source"]) for e in ledger][:2] == [
        ("DC", "adult_male", "hold"), ("DC", "adult_female", "hold")]
    assert "C-9" not in str(ledger)


def _lapsed_hold(client: TestClient, shelter_id: int, advocate: Account,
                 services: Services) -> dict[str, object]:
    """A hold of 5 adult_female beds whose time ran out a second ago (not yet tidied)."""
    hold: dict[str, object] = client.post(
        f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
        json={"bed_type": "adult_female", "beds": 5, "case_ref": "C-7"}).json()
    with services.db.write_session() as session:
        session.execute(update(BedHold).where(BedHold.id == hold["id"])  # type: ignore[arg-type]
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    return hold


def test_expired_hold_stops_counting_at_once(client: TestClient, shelter_id: int,
                                             coord: Account, advocate: Account,
                                             services: Services) -> None:
    hold = _lapsed_hold(client, shelter_id, advocate, services)
    assert beds(client, shelter_id, coord)["available"] == 20
    assert client.get(f"/v1/holds/{hold['id']}", headers=advocate.headers).json()[
        "status"] == "expired"
    late = client.post(f"/v1/holds/{hold['id']}/confirm", headers=advocate.headers)
    assert late.status_code == 409
    assert beds(client, shelter_id, coord)["held"] == 0


@pytest.mark.parametrize(("wanted", "status", "held", "available"), [
    (20, 201, 20, 0),  # the new hold takes the lapsed hold's beds too
    (21, 409, 0, 20),  # refused: the lapsed hold is tidied all the same and its beds come free
])
def test_a_new_hold_settles_lapsed_holds_whether_or_not_it_is_placed(
        client: TestClient, shelter_id: int, coord: Account, advocate: Account,
        services: Services, wanted: int, status: int, held: int, available: int) -> None:
    lapsed = _lapsed_hold(client, shelter_id, advocate, services)
    response = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                           json={"bed_type": "adult_female", "beds": wanted, "case_ref": "C-8"})
    assert response.status_code == status
    if status == 409:
        assert response.json()["available"] == 20
    assert client.get(f"/v1/holds/{lapsed['id']}", headers=advocate.headers).json()[
        "status"] == "expired"
    counts = beds(client, shelter_id, coord)
    assert (counts["held"], counts["available"]) == (held, available)
    with services.db.read_session() as session:
        raw = session.execute(text("SELECT held FROM bed_inventory WHERE shelter_id = :s "
                                   "AND bed_type = 'adult_female'"), {"s": shelter_id})
        assert raw.scalar_one() == held


def test_idempotency_key_replays_and_rejects_other_body(client: TestClient, shelter_id: int,
                                                        advocate: Account,
                                                        coord: Account) -> None:
    body = {"bed_type": "adult_female", "beds": 1, "case_ref": "C-1"}
    headers = {**advocate.headers, "Idempotency-Key": "call-7781"}
    first = client.post(f"/v1/shelters/{shelter_id}/holds", json=body, headers=headers)
    second = client.post(f"/v1/shelters/{shelter_id}/holds", json=body, headers=headers)
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert beds(client, shelter_id, coord)["held"] == 1
    other = client.post(f"/v1/shelters/{shelter_id}/holds", headers=headers,
                        json={**body, "beds": 2})
    assert other.status_code == 422


def test_active_holds_per_account_are_capped(client: TestClient, shelter_id: int,
                                             advocate: Account) -> None:
    body = {"bed_type": "adult_female", "beds": 1, "case_ref": "C-1"}
    codes = [client.post(f"/v1/shelters/{shelter_id}/holds", json=body,
                         headers=advocate.headers).status_code for _ in range(11)]
    assert codes == [201] * 10 + [429]


def test_ttl_over_shelter_maximum_is_422(client: TestClient, shelter_id: int,
                                         advocate: Account) -> None:
    response = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "case_ref": "C-1", "ttl_minutes": 600})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "ttl_minutes"


def test_other_agency_cannot_see_or_release_a_hold(client: TestClient, shelter_id: int,
                                                   advocate: Account,
                                                   make: AccountFactory) -> None:
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "case_ref": "C-1"}).json()
    outsider = make.account(Role.CASE_MANAGER, agency="Elsewhere Services")
    assert client.get(f"/v1/holds/{hold['id']}", headers=outsider.headers).status_code == 404
    assert client.delete(f"/v1/holds/{hold['id']}", headers=outsider.headers).status_code == 404


def test_changes_are_audited_with_before_and_after(client: TestClient, shelter_id: int,
                                                   coord: Account, admin: Account) -> None:
    client.post(f"/v1/shelters/{shelter_id}/beds/adult_female/admit", json={"beds": 3},
                headers=coord.headers)
    client.post(f"/v1/shelters/{shelter_id}/beds/adult_female/verify", headers=coord.headers)
    rows = client.get("/v1/audit?object_type=bed_inventory", headers=admin.headers).json()
    admit = next(r for r in rows if r["action"] == "beds.admit")
    assert admit["details"]["before"]["occupied"] == 0
    assert admit["details"]["after"]["occupied"] == 3
    assert admit["actor_account_id"] == coord.id
    assert any(r["action"] == "beds.verify" for r in rows)


def test_still_accurate_check_in_keeps_counts(client: TestClient, shelter_id: int,
                                              coord: Account) -> None:
    before = client.get(f"/v1/shelters/{shelter_id}/beds/adult_female", headers=coord.headers)
    after = client.post(f"/v1/shelters/{shelter_id}/beds/adult_female/verify",
                        headers=coord.headers)
    assert after.json()["version"] == before.json()["version"]
    assert after.json()["updated_at"] > before.json()["updated_at"]
    assert after.json()["total"] == before.json()["total"]


def test_sweeper_tidies_lapsed_holds(client: TestClient, shelter_id: int, advocate: Account,
                                     services: Services, settings: object) -> None:
    from typer.testing import CliRunner

    from api.cli import app as cli
    from api.config import Settings
    from tests.conftest import TEST_KEY

    assert isinstance(settings, Settings)
    hold = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers, json={
        "bed_type": "adult_female", "beds": 3, "case_ref": "C-3"}).json()
    with services.db.write_session() as session:
        session.execute(update(BedHold).where(BedHold.id == hold["id"])  # type: ignore[arg-type]
                        .values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    result = CliRunner().invoke(cli, ["holds", "sweep"], env={
        "HOMEWARD_DATABASE_URL": settings.database_url, "HOMEWARD_SECRET_KEY": TEST_KEY})
    assert result.exit_code == 0 and "1 lapsed holds tidied" in result.output
    with services.db.read_session() as session:
        row = session.get(BedHold, hold["id"])
        assert row is not None and row.status == "expired"
        from logistics.shelters.models import BedInventory
        inv = session.get(BedInventory, row.inventory_id)
        assert inv is not None and inv.held == 0


def test_refused_holds_for_one_case_record_one_need(client: TestClient, shelter_id: int,
                                                    advocate: Account, admin: Account) -> None:
    for _ in range(4):
        response = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                               json={"bed_type": "adult_male", "beds": 1, "case_ref": "C-7"})
        assert response.status_code == 409
    other = client.post(f"/v1/shelters/{shelter_id}/holds", headers=advocate.headers,
                        json={"bed_type": "adult_male", "beds": 1, "case_ref": "C-8"})
    assert other.status_code == 409
    ledger = client.get("/v1/unmet-need?limit=100", headers=admin.headers).json()
    assert [(e["bed_type"], e["source"]) for e in ledger] == [("adult_male", "hold")] * 2
