"""Shelter search through HTTP: radius, filters, ranking, confidentiality, unmet need."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.deps import Services
from core.clock import utcnow
from core.models import Role
from logistics.shelters.models import BedInventory
from tests.support import Account, AccountFactory, shelter_body

UNION_STATION = "38.8973,-77.0063"


@pytest.fixture
def ids(client: TestClient, admin: Account, make: AccountFactory) -> dict[str, int]:
    agency = make.agency("Search Network")
    made: dict[str, int] = {}

    def add(key: str, **overrides: object) -> None:
        response = client.post("/v1/shelters", headers=admin.headers,
                               json=shelter_body(agency, name=key, **overrides))
        assert response.status_code == 201, response.text
        made[key] = response.json()["id"]

    add("women-near", lat=38.9007, lon=-77.0090)  # ~0.5 km
    add("men-mid", lat=38.93, lon=-77.03, populations=["adult_men"], languages=["en"],
        beds=[{"bed_type": "adult_male", "total": 10, "occupied": 10}])
    add("youth-far", lat=39.05, lon=-76.9, populations=["youth_12_17"], accessible=True,
        beds=[{"bed_type": "youth", "total": 6, "occupied": 0}])
    add("safe-house", lat=38.95, lon=-77.08, confidential_location=True,
        populations=["adult_women", "families_with_children"], languages=["en", "fr"])
    add("baltimore", lat=39.29, lon=-76.61)  # ~55 km
    add("night-only", lat=38.91, lon=-77.0, intake_hours={"windows": {
        d: [["00:00", "00:01"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    return made


@pytest.fixture
def advocate(make: AccountFactory) -> Account:
    return make.account(Role.ADVOCATE)


def names(client: TestClient, who: Account, query: str) -> list[str]:
    response = client.get(f"/v1/shelters?near={UNION_STATION}&{query}", headers=who.headers)
    assert response.status_code == 200, response.text
    return [item["shelter"]["name"] for item in response.json()["items"]]


def test_sorted_by_distance_within_radius(client: TestClient, ids: dict[str, int],
                                          advocate: Account) -> None:
    found = names(client, advocate, "radius_km=30&min_available=0")
    assert found[0] == "women-near" and "baltimore" not in found
    assert "baltimore" in names(client, advocate, "radius_km=80&min_available=0")


def test_filters(client: TestClient, ids: dict[str, int], advocate: Account) -> None:
    assert names(client, advocate, "radius_km=40&population=youth_12_17") == ["youth-far"]
    assert names(client, advocate, "radius_km=40&population=adult_men&min_available=0") == [
        "men-mid"]
    assert names(client, advocate, "radius_km=40&population=adult_men") == []  # full
    assert names(client, advocate, "radius_km=40&language=fr") == ["safe-house"]
    assert names(client, advocate, "radius_km=40&accessible=true") == ["youth-far"]
    assert names(client, advocate, "radius_km=40&bed_type=youth&min_available=6") == [
        "youth-far"]
    assert names(client, advocate, "radius_km=40&bed_type=youth&min_available=7") == []
    assert "night-only" not in names(client, advocate, "radius_km=40&open_now=true")
    assert "night-only" in names(client, advocate, "radius_km=40")


def test_confidential_shelter_shows_rounded_distance_only(client: TestClient,
                                                          ids: dict[str, int],
                                                          advocate: Account) -> None:
    page = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=40&language=fr",
                      headers=advocate.headers).json()
    hit = page["items"][0]
    assert hit["distance_rounded"] is True and hit["distance_km"] % 5 == 0
    assert hit["shelter"]["lat"] is None and hit["shelter"]["street_address"] is None


def test_stale_counts_rank_lower(client: TestClient, ids: dict[str, int], advocate: Account,
                                 services: Services) -> None:
    with services.db.write_session() as session:
        session.execute(update(BedInventory)
                        .where(BedInventory.shelter_id == ids["women-near"])  # type: ignore[arg-type]
                        .values(updated_at=utcnow() - timedelta(hours=13)))
        session.commit()
    page = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=30",
                      headers=advocate.headers).json()
    order = [item["shelter"]["name"] for item in page["items"]]
    assert order.index("women-near") > order.index("night-only")
    stale = next(i for i in page["items"] if i["shelter"]["name"] == "women-near")
    assert stale["stale"] is True and stale["beds"][0]["stale"] is True


def test_paging(client: TestClient, ids: dict[str, int], advocate: Account) -> None:
    first = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=80&min_available=0"
                       "&limit=2", headers=advocate.headers).json()
    second = client.get(f"/v1/shelters?near={UNION_STATION}&radius_km=80&min_available=0"
                        "&limit=2&offset=2", headers=advocate.headers).json()
    assert first["total"] == 6 and len(first["items"]) == 2
    assert not {i["shelter"]["id"] for i in first["items"]} & {
        i["shelter"]["id"] for i in second["items"]}
    assert client.get(f"/v1/shelters?near={UNION_STATION}&limit=101",
                      headers=advocate.headers).status_code == 422


@pytest.mark.parametrize(("query", "field"), [
    ("near=91,0", "near"), ("near=abc", "near"), ("near=1,2&radius_km=5001", "query.radius_km"),
    ("near=1,2&population=aliens", "query.population"), ("near=1,2&language=zzz", "language"),
])
def test_bad_search_input_is_422(client: TestClient, advocate: Account, query: str,
                                 field: str) -> None:
    response = client.get(f"/v1/shelters?{query}", headers=advocate.headers)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field


def test_empty_search_is_recorded_without_personal_data(client: TestClient,
                                                        ids: dict[str, int],
                                                        advocate: Account,
                                                        admin: Account) -> None:
    assert names(client, advocate, "radius_km=5&population=youth_12_17&state=DC") == []
    ledger = client.get("/v1/unmet-need", headers=admin.headers).json()
    assert ledger[0] | {"at": None} == {"at": None, "state": "DC",
                                        "population": "youth_12_17", "bed_type": None,
                                        "reason": "no_shelter_found", "source": "search"}
    assert client.get("/v1/unmet-need", headers=advocate.headers).status_code == 403
    assert client.get(f"/v1/shelters?near={UNION_STATION}").status_code == 401


def test_repeating_an_empty_search_records_one_need(client: TestClient, ids: dict[str, int],
                                                    advocate: Account, admin: Account) -> None:
    before = len(client.get("/v1/unmet-need?limit=100", headers=admin.headers).json())
    for _ in range(5):
        assert names(client, advocate, "radius_km=5&population=youth_12_17&state=WY") == []
    assert names(client, advocate, "radius_km=5&population=families_with_children&state=WY") == []
    assert names(client, admin, "radius_km=5&population=youth_12_17&state=WY") == []
    ledger = client.get("/v1/unmet-need?limit=100", headers=admin.headers).json()
    # One a day for each account, area, population and reason: repeating adds nothing.
    assert len(ledger) - before == 3


def test_call_references_count_callers_without_naming_them(
        client: TestClient, ids: dict[str, int], advocate: Account, admin: Account) -> None:
    """Two callers with the same need are two needs; the same call asking again is one; made-up
    references cannot add more than `unmet.CALL_SLOTS` a day; no reference is stored."""
    from logistics.beds import unmet

    def ledger() -> list[dict[str, object]]:
        rows = client.get("/v1/unmet-need?limit=100", headers=admin.headers).json()
        return [r for r in rows if r["state"] == "WY"]

    query = "radius_km=5&population=youth_12_17&state=WY"
    refs = ["CALL-A", "CALL-B"]
    assert unmet.call_subject(1, refs[0]) != unmet.call_subject(1, refs[1])
    for ref in [*refs, *refs]:
        assert names(client, advocate, f"{query}&call_ref={ref}") == []
    assert len(ledger()) == 2
    for i in range(40):  # an account making references up
        assert names(client, advocate, f"{query}&call_ref=made-up-{i}") == []
    assert len(ledger()) <= unmet.CALL_SLOTS
    assert "CALL-A" not in client.get("/v1/unmet-need?limit=100", headers=admin.headers).text
    bad = client.get("/v1/shelters?near=38.9,-77.0&call_ref=a%20b", headers=advocate.headers)
    assert bad.status_code == 422
