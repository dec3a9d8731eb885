"""Shelter matching through HTTP: ranking with reasons, safe houses kept hidden, minors only to
youth shelters, exclusion zones, batches checked by the independent validator, holds all or
nothing, infeasible as a 200, bad input as 422 naming the field, and roles."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from api.app import create_app
from api.deps import Services
from core.models import AuditEntry, Role
from core.principal import SYSTEM
from logistics.beds import inventory as bed_service
from logistics.beds.models import BedHold
from logistics.matching import service as matching_service
from logistics.matching.models import MatchCase
from logistics.matching.solver_pool import SolverPool
from logistics.shelters.visibility import rounded_distance_m
from logistics.vocabulary import BedType
from solvers.geo import haversine_m, travel_minutes
from solvers.matching import Assignment, MatchWeights, Objective, Unplaced
from solvers.matching.validation import validate_plan
from tests.support import Account, AccountFactory, coordinator

HOUSTON = {"lat": 29.76, "lon": -95.37}
SECRET_ADDRESS = "1 Hidden Lane"


def _shelter(agency: int, name: str, lat: float, lon: float, populations: list[str],
             beds: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "agency_id": agency, "lat": lat, "lon": lon,
            "street_address": f"{len(name)} Main St", "city": extra.pop("city", "Houston"),
            "state": extra.pop("state", "TX"), "timezone": "America/Chicago",
            "populations": populations, "beds": beds, **extra}


@pytest.fixture
def shelters(client: TestClient, admin: Account, make: AccountFactory) -> dict[str, int]:
    agency = make.agency("Gulf Coast Shelters")
    bodies = {
        "women": _shelter(agency, "Casa Esperanza", 29.77, -95.38, ["adult_women"],
                          [{"bed_type": "adult_female", "total": 3}],
                          languages=["en", "es"], specialisation="labor"),
        "men": _shelter(agency, "Harbor Men", 29.70, -95.40, ["adult_men"],
                        [{"bed_type": "adult_male", "total": 3}]),
        "family": _shelter(agency, "Family Place", 29.80, -95.30, ["families_with_children"],
                           [{"bed_type": "family_unit", "total": 2, "max_household": 4}],
                           children_max_age=17, accessible=True),
        "youth": _shelter(agency, "Youth Haven", 29.74, -95.36, ["youth_12_17"],
                          [{"bed_type": "youth", "total": 4}]),
        "safe": _shelter(agency, "Safe House", 29.9013, -95.5071,
                         ["adult_women", "families_with_children"],
                         [{"bed_type": "adult_female", "total": 2},
                          {"bed_type": "family_unit", "total": 1, "max_household": 5}],
                         children_max_age=17, confidential_location=True,
                         street_address=SECRET_ADDRESS),
        "austin": _shelter(agency, "Austin Women", 30.27, -97.74, ["adult_women"],
                           [{"bed_type": "adult_female", "total": 5}], city="Austin"),
    }
    ids = {}
    for key, body in bodies.items():
        created = client.post("/v1/shelters", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        ids[key] = int(created.json()["id"])
    return ids


@pytest.fixture
def advocate(make: AccountFactory) -> Account:
    return make.account(Role.ADVOCATE)


def case(ref: str = "C-1042", members: list[tuple[int, str]] | None = None,
         **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "case_ref": ref,
        "household": [{"age": a, "gender": g}
                      for a, g in ([(34, "female")] if members is None else members)],
        "languages": ["es"], "trafficking_type": "labor", "location": HOUSTON,
        "urgency": 3, "max_travel_km": 800,
    }
    body.update(extra)
    return body


def match(client: TestClient, who: Account, body: dict[str, Any]) -> Any:
    return client.post("/v1/matches", json=body, headers=who.headers)


def by_reason(result: dict[str, Any]) -> dict[str, int]:
    return {e["reason"]: e["count"] for e in result["excluded"]}


def test_one_household_ranked_with_reasons(client: TestClient, shelters: dict[str, int],
                                           advocate: Account) -> None:
    response = match(client, advocate, {"case": case(), "limit": 5})
    assert response.status_code == 200, response.text
    result = response.json()
    assert response.headers["cache-control"] == "no-store"
    ids = [o["shelter_id"] for o in result["options"]]
    assert ids[0] == shelters["women"]  # nearest, Spanish-speaking, labour specialisation
    assert set(ids) == {shelters["women"], shelters["safe"], shelters["austin"]}
    best = result["options"][0]
    assert best["bed_type"] == "adult_female" and best["beds"] == 1
    assert best["language_match"] and best["specialisation_match"]
    assert best["street_address"] == "14 Main St" and not best["stale"]
    assert best["score"] == sum(best["score_parts"].values())
    assert best["travel_minutes"] >= 10 and 0 < best["distance_km"] < 5
    counts = by_reason(result)
    assert counts["population_not_served"] == 3  # men, family-only, youth
    assert result["shelters_considered"] == 6 and result["eligible_shelters"] == 3
    sentences = {e["reason"]: e["sentence"] for e in result["excluded"]}
    assert sentences["population_not_served"].endswith(".")
    scores = [o["score"] for o in result["options"]]
    assert scores == sorted(scores, reverse=True)


def test_confidential_shelter_without_address_or_exact_place(
        client: TestClient, shelters: dict[str, int], advocate: Account,
        admin: Account) -> None:
    answers = []
    for who in (advocate, admin):
        response = match(client, who, {"case": case(), "limit": 10})
        assert SECRET_ADDRESS not in response.text
        assert "29.9013" not in response.text and "-95.5071" not in response.text
        safe = next(o for o in response.json()["options"]
                    if o["shelter_id"] == shelters["safe"])
        assert safe["confidential"] and safe["street_address"] is None
        # Matching sees a safe house only at its public cell, whoever asks: rounded for all.
        assert safe["distance_rounded"] and safe["distance_km"] % 5 == 0
        assert safe["score_parts"]["travel"] == -safe["travel_minutes"]
        answers.append({k: v for k, v in response.json().items() if k != "computed_at"})
    assert answers[0] == answers[1]


def test_minors_only_to_youth_shelters_and_families_to_family_units(
        client: TestClient, shelters: dict[str, int], advocate: Account) -> None:
    minors = match(client, advocate,
                   {"case": case(members=[(14, "female"), (15, "male")])}).json()
    assert [(o["shelter_id"], o["bed_type"], o["beds"]) for o in minors["options"]] == [
        (shelters["youth"], "youth", 2)]
    family = match(client, advocate,
                   {"case": case(members=[(34, "female"), (6, "male")])}).json()
    assert {o["shelter_id"] for o in family["options"]} == {shelters["family"], shelters["safe"]}
    assert all(o["bed_type"] == "family_unit" and o["beds"] == 1 for o in family["options"])


def test_exclusion_zones_are_respected(client: TestClient, shelters: dict[str, int],
                                       advocate: Account) -> None:
    exclusions = {"points": [{"lat": 29.77, "lon": -95.38, "radius_km": 3}],
                  "cities": ["Austin"], "states": [], "shelter_ids": [shelters["safe"]]}
    result = match(client, advocate, {"case": case(exclusions=exclusions)}).json()
    assert result["options"] == []
    counts = by_reason(result)
    assert counts["inside_exclusion_radius"] == 1
    assert counts["excluded_city"] == 1 and counts["excluded_shelter"] == 1
    # Out of reach is counted too, not dropped.
    near = match(client, advocate, {"case": case(max_travel_km=50)}).json()
    assert by_reason(near)["beyond_max_travel"] == 1
    assert shelters["austin"] not in {o["shelter_id"] for o in near["options"]}


def test_stored_case_match_is_audited_and_private_to_its_agency(
        client: TestClient, shelters: dict[str, int], advocate: Account, admin: Account,
        make: AccountFactory) -> None:
    created = client.post("/v1/cases", json=case("C-7"), headers=advocate.headers)
    assert created.status_code == 201, created.text
    case_id = created.json()["id"]
    response = match(client, advocate, {"case_id": case_id, "limit": 3})
    assert response.status_code == 200, response.text
    assert response.json()["case_id"] == case_id and response.json()["options"]
    trail = client.get(f"/v1/audit?object_type=case&object_id={case_id}",
                       headers=admin.headers).json()
    actions = {(e["action"], e["purpose"]) for e in trail}
    assert ("case.read", "matching") in actions and ("case.match", "matching") in actions
    other = make.account(Role.ADVOCATE, agency="Another Hotline")
    assert match(client, other, {"case_id": case_id}).status_code == 404


def _batch_cases() -> list[dict[str, Any]]:
    return [
        case("B-1"), case("B-2", languages=["en"]), case("B-3", urgency=5),
        case("B-4", members=[(40, "male")]),
        case("B-5", members=[(30, "female"), (4, "female"), (7, "male")]),
        case("B-6", members=[(16, "female")]),
        case("B-7", members=[(29, "female")], urgency=1),
    ]


def _validate(services: Services, bodies: list[dict[str, Any]], result: dict[str, Any]) -> None:
    """Run the independent validator on what the API answered, against the registry now."""
    with services.db.read_session() as session:
        snapshot = matching_service.load_snapshot(session)
        households = [matching_service.to_household(session, MatchCase.model_validate(b))
                      for b in bodies]
    where = {s.shelter_id: s for s in snapshot.options}
    home = {h.case_ref: h for h in households}
    assignments = []
    for a in result["assignments"]:
        distance, minutes = a["distance_m"], a["travel_minutes"]
        if a["distance_rounded"]:
            # A safe house's distance is shown rounded (from its public cell point); check
            # the rounding here and give the validator the distance the solver worked with.
            s, h = where[str(a["shelter_id"])], home[a["case_ref"]]
            distance = haversine_m(h.lat, h.lon, s.lat, s.lon)
            assert a["distance_m"] == rounded_distance_m(distance)
            minutes = travel_minutes(distance)
        assignments.append(Assignment(a["case_ref"], str(a["shelter_id"]), a["bed_type"],
                                      a["beds"], distance, minutes))
    unplaced = [Unplaced(u["case_ref"], tuple(u["reasons"])) for u in result["unplaced"]]
    objective = result["objective"] | {"travel_m": sum(a.distance_m for a in assignments)}
    assert validate_plan(households, snapshot.options, assignments, unplaced, MatchWeights(),
                         Objective(**objective)) == []


def batch(client: TestClient, who: Account, bodies: list[dict[str, Any]],
          **options: Any) -> Any:
    opts = {"time_limit_s": 2, **options}
    return client.post("/v1/matches/batch", json={"cases": bodies, "options": opts},
                       headers=who.headers)


def test_batch_plan_passes_the_validator(client: TestClient, services: Services,
                                         shelters: dict[str, int], admin: Account) -> None:
    bodies = _batch_cases()
    response = batch(client, admin, bodies)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] in ("optimal", "feasible")
    assert set(result) >= {"status", "assignments", "unplaced", "objective", "bound", "gap"}
    placed = {a["case_ref"]: a for a in result["assignments"]}
    assert len(placed) + len(result["unplaced"]) == len(bodies)
    assert placed["B-6"]["shelter_id"] == shelters["youth"]
    assert placed["B-5"]["bed_type"] == "family_unit"
    assert not result["held"] and result["holds"] == []
    _validate(services, bodies, result)


def _held(client: TestClient, shelter_id: int, who: Account) -> dict[str, int]:
    rows = client.get(f"/v1/shelters/{shelter_id}/beds", headers=who.headers).json()
    return {r["bed_type"]: r["held"] for r in rows}


def test_batch_hold_places_every_hold_in_one_go(client: TestClient, shelters: dict[str, int],
                                                admin: Account, advocate: Account,
                                                services: Services) -> None:
    bodies = _batch_cases()[:4]
    response = batch(client, advocate, bodies, hold=True, hold_ttl_minutes=60)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["held"] and result["solves"] == 1
    assert len(result["holds"]) == len(result["assignments"]) == 4
    holds = {h["id"]: h for h in result["holds"]}
    expected: dict[tuple[int, str], int] = {}
    for a in result["assignments"]:
        hold = holds[a["hold_id"]]
        assert (hold["shelter_id"], hold["bed_type"], hold["beds"], hold["case_ref"]) == (
            a["shelter_id"], a["bed_type"], a["beds"], a["case_ref"])
        key = (a["shelter_id"], a["bed_type"])
        expected[key] = expected.get(key, 0) + a["beds"]
    for (sid, bed_type), beds in expected.items():
        assert _held(client, sid, admin)[bed_type] == beds
    # The held beds are gone for the next match.
    again = batch(client, advocate, [case("B-9"), case("B-10"), case("B-11")]).json()
    women = [a for a in again["assignments"] if a["shelter_id"] == shelters["women"]]
    assert len(women) <= 3 - expected.get((shelters["women"], "adult_female"), 0)


def _steal_beds_after_solving(monkeypatch: pytest.MonkeyPatch, services: Services,
                              times: int) -> list[int]:
    """After each of the first `times` solves, admit people into the beds the plan chose."""
    real: Callable[..., Any] = SolverPool.solve_batch
    calls: list[int] = []

    def racing(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        calls.append(1)
        if len(calls) <= times and result.assignments:
            a = result.assignments[0]
            with services.db.write_session() as session:
                free = next(c.available for c in bed_service.list_beds(
                    session, actor=SYSTEM, shelter_id=int(a.shelter_id))
                    if c.bed_type == a.bed_type)
                bed_service.move_beds(session, actor=SYSTEM, shelter_id=int(a.shelter_id),
                                      bed_type=BedType(a.bed_type), beds=free, admit=True)
        return result

    monkeypatch.setattr(SolverPool, "solve_batch", racing)
    return calls


def _active_holds(services: Services) -> list[BedHold]:
    with services.db.read_session() as session:
        return list(session.exec(select(BedHold).where(BedHold.status == "active")).all())


def test_batch_hold_resolves_on_fresh_counts_when_beds_go_meanwhile(
        client: TestClient, shelters: dict[str, int], advocate: Account, services: Services,
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _steal_beds_after_solving(monkeypatch, services, times=1)
    bodies = _batch_cases()[:4]
    response = batch(client, advocate, bodies, hold=True)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["solves"] == 2 == len(calls) and result["held"]
    assert len(_active_holds(services)) == len(result["assignments"])
    taken = {(a["shelter_id"], a["bed_type"]) for a in result["assignments"]}
    assert len(taken) >= 1


def test_batch_hold_is_all_or_nothing(client: TestClient, shelters: dict[str, int],
                                      advocate: Account, services: Services,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    _steal_beds_after_solving(monkeypatch, services, times=100)
    response = batch(client, advocate, _batch_cases()[:4], hold=True)
    assert response.status_code == 409, response.text
    assert _active_holds(services) == []
    for sid in shelters.values():
        with services.db.read_session() as session:
            assert all(c.held == 0 for c in bed_service.list_beds(session, actor=SYSTEM,
                                                                  shelter_id=sid))


def test_nothing_placeable_is_a_200_with_reasons(client: TestClient, shelters: dict[str, int],
                                                 advocate: Account) -> None:
    bodies = [case("X-1", members=[(40, "male")], needs=["medical"]),
              case("X-2", members=[(8, "female")])]
    response = batch(client, advocate, bodies)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == "infeasible" and result["assignments"] == []
    reasons = {u["case_ref"]: u["reasons"] for u in result["unplaced"]}
    assert reasons["X-1"][0] == "no_eligible_shelter" and "no_medical_support" in reasons["X-1"]
    assert "unaccompanied_child_under_12" in reasons["X-2"]
    assert all(len(u["sentences"]) == len(u["reasons"]) for u in result["unplaced"])
    single = match(client, advocate, {"case": bodies[0]}).json()
    assert single["options"] == [] and by_reason(single)["no_medical_support"] == 6


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    return [e["field"] for e in response.json()["errors"]]


def test_bad_input_is_422_naming_the_field(client: TestClient, shelters: dict[str, int],
                                           advocate: Account) -> None:
    assert any(f.endswith("case.household") for f in _fields(
        match(client, advocate, {"case": case(members=[])})))
    assert any(f.endswith("case.household.0.age") for f in _fields(
        match(client, advocate, {"case": case(members=[(130, "female")])})))
    assert any(f.endswith("cases.0.household.0.age") for f in _fields(
        batch(client, advocate, [case(members=[(-1, "female")])])))
    unknown = {"points": [], "cities": [], "states": [], "shelter_ids": [999_999]}
    assert _fields(match(client, advocate, {"case": case(exclusions=unknown)})) == [
        "case.exclusions.shelter_ids[0]"]
    assert _fields(batch(client, advocate, [case(exclusions=unknown)])) == [
        "cases[0].exclusions.shelter_ids[0]"]
    assert _fields(batch(client, advocate, [case()], time_limit_s=10_000)) == [
        "options.time_limit_s"]
    assert _fields(batch(client, advocate, [case("D"), case("D")])) == ["cases[1].case_ref"]
    assert _fields(match(client, advocate, {"case": case(), "case_id": 1})) == ["case"]
    assert _fields(batch(client, advocate, [])) == ["cases"]


def test_roles(client: TestClient, shelters: dict[str, int], make: AccountFactory,
               admin: Account) -> None:
    coord = coordinator(make, [shelters["women"]], agency="Gulf Coast Shelters")
    assert match(client, coord, {"case": case()}).status_code == 403
    assert batch(client, coord, [case()]).status_code == 403
    manager = make.account(Role.CASE_MANAGER)
    assert match(client, manager, {"case": case()}).status_code == 200
    assert batch(client, manager, [case()]).status_code == 200
    assert match(client, admin, {"case": case()}).status_code == 200
    assert client.post("/v1/matches", json={"case": case()}).status_code == 401


def test_a_crashed_solver_is_503_and_the_api_keeps_serving(
        client: TestClient, services: Services, shelters: dict[str, int],
        advocate: Account) -> None:
    starved = Services(settings=services.settings.model_copy(update={"solver_memory_mb": 64}),
                       db=services.db, cipher=services.cipher,
        itinerary_ids=services.itinerary_ids,
        timetables=services.timetables)
    with TestClient(create_app(services=starved)) as weak:
        response = batch(weak, advocate, [case()])
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        assert response.json()["type"].endswith("solver-unavailable")
        assert match(weak, advocate, {"case": case()}).status_code == 200
    assert batch(client, advocate, [case()]).status_code == 200
    with services.db.read_session() as session:
        assert session.exec(select(AuditEntry).where(
            AuditEntry.action == "match.batch")).first() is not None


@pytest.mark.parametrize("limit", [5e-324, 1e-9, 0.001])
def test_a_vanishing_time_limit_still_answers(client: TestClient, shelters: dict[str, int],
                                              advocate: Account, limit: float) -> None:
    """Issue 17: `time_limit_s` 5e-324 with one household answered 503 after the 5 s wall
    limit. However short the search, the answer is the best plan found (the flow bound's
    starting plan at worst) or a plain 422, never a 5xx."""
    response = batch(client, advocate, [case("T-1")], time_limit_s=limit)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["status"] in ("optimal", "feasible", "infeasible", "unknown")
