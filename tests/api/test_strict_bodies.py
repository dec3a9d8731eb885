"""JSON request bodies are strictly typed (issue 17): no number from a string, no int from a bool.

FastAPI validates a JSON body in pydantic's python mode on the parsed JSON, where lax types
turned `"age": true` into 1, `"urgency": "5"` into 5, `"lat": "38.9"` into 38.9 and
`"has_photo_id": "false"` into False. A caller that sends the wrong type has a bug, and guessing
what it meant can misplace a survivor, so each such value is a 422 naming the field (never the
value). JSON has no other way to send a time or an enum, so ISO datetimes and enum values as
strings are still taken, and a number field still takes an integer (`"lat": 38`). An integer
field refuses every float, 2.0 included (pydantic's strict integers): a count computed in
floating point is a bug even when it happens to be whole.

Every case here is posted to the real endpoint. Body validation runs before the route looks
anything up, so ids in paths need not exist except where a later step validates (plan shelter
options, screening answers, HSDS records).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.app import create_app
from api.deps import Services
from core.clock import utcnow
from core.models import AgencyKind, Role
from safety_plans.planning import PlanInputs
from safety_plans.screening import AnswersModel
from tests.api.test_cases import case_body
from tests.api.test_directory import org_body
from tests.support import Account, AccountFactory, coordinator, shelter_body


@dataclass(frozen=True)
class World:
    client: TestClient
    admin: Account
    advocate: Account
    coordinator: Account
    shelter: int
    case: int


@pytest.fixture
def world(client: TestClient, admin: Account, make: AccountFactory) -> World:
    advocate = make.account(Role.ADVOCATE)
    made = client.post("/v1/shelters", headers=admin.headers,
                       json=shelter_body(make.agency("Capital Shelter Network",
                                                    AgencyKind.SHELTER_ORGANISATION)))
    assert made.status_code == 201, made.text
    shelter = int(made.json()["id"])
    case = client.post("/v1/cases", headers=advocate.headers, json=case_body())
    assert case.status_code == 201, case.text
    return World(client, admin, advocate, coordinator(make, [shelter]), shelter,
                 int(case.json()["id"]))


def _surge() -> dict[str, Any]:
    now = utcnow()
    return {"beds": 2, "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=8)).isoformat(), "reason": "white flag"}


def _match_case() -> dict[str, Any]:
    return {"case_ref": "M-1", "household": [{"age": 34, "gender": "female"}],
            "languages": ["es"], "trafficking_type": "labor",
            "location": {"city": "Houston", "state": "TX"}, "urgency": 3, "max_travel_km": 800}


def _search() -> dict[str, Any]:
    return {"from": {"lat": 41.8789, "lon": -87.6397}, "to": {"city": "Denver", "state": "CO"},
            "depart_after": "2023-04-12T08:00:00-04:00", "travellers": [{"age": 30}],
            "has_id": True, "budget_cents": 100_000, "max_transfers": 3,
            "avoid": {"cities": [], "states": [], "points": []}}


def _allocation(case_id: int) -> dict[str, Any]:
    return {"cases": [{"case_id": case_id, "priority": 2,
                       "candidates": [{"itinerary_id": "a", "cost_cents": 12_000}]}],
            "funding_source_ids": None}


def _tip() -> dict[str, Any]:
    return {"trafficking_type": "sex", "locations": [{"lat": 29.76, "lon": -95.37}],
            "venue": "illicit_massage", "minors_involved": False, "harm_imminent": False,
            "consent": {"share_with_law_enforcement": True, "fields": ["trafficking_type"]}}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {shelter}, {case}, {account} filled from the world
    body: Callable[[World], dict[str, Any]]
    who: str = "admin"
    if_match: bool = False


ENDPOINTS: dict[str, Endpoint] = {
    "agency": Endpoint("POST", "/v1/agencies", lambda w: {"name": "A", "kind": "hotline"}),
    "account": Endpoint("POST", "/v1/accounts", lambda w: {
        "name": "strict.one", "role": "advocate", "agency_id": w.advocate.agency_id}),
    "account_patch": Endpoint("PATCH", "/v1/accounts/{account}", lambda w: {"disabled": False},
                              if_match=True),
    "token": Endpoint("POST", "/v1/accounts/{account}/tokens", lambda w: {"ttl_days": 30}),
    "shelter": Endpoint("POST", "/v1/shelters",
                        lambda w: shelter_body(w.admin.agency_id, children_max_age=12)),
    "staff": Endpoint("POST", "/v1/shelters/{shelter}/staff", lambda w: {"account_id": 1}),
    "beds": Endpoint("PUT", "/v1/shelters/{shelter}/beds/adult_female",
                     lambda w: {"total": 20, "occupied": 1}, if_match=True),
    "admit": Endpoint("POST", "/v1/shelters/{shelter}/beds/adult_female/admit",
                      lambda w: {"beds": 1}),
    "discharge": Endpoint("POST", "/v1/shelters/{shelter}/beds/adult_female/discharge",
                          lambda w: {"beds": 1}),
    "surge": Endpoint("POST", "/v1/shelters/{shelter}/beds/adult_female/surge",
                      lambda w: _surge()),
    "hold": Endpoint("POST", "/v1/shelters/{shelter}/holds", lambda w: {
        "bed_type": "adult_female", "beds": 1, "case_ref": "C-1", "ttl_minutes": 90},
        who="advocate"),
    "budget": Endpoint("PUT", "/v1/agencies/{agency}/mass-rescue-budget",
                       lambda w: {"budget": 40}),
    "case": Endpoint("POST", "/v1/cases", lambda w: case_body(case_ref="C-2"), who="advocate"),
    "case_patch": Endpoint("PATCH", "/v1/cases/{case}", lambda w: {"urgency": 2},
                           who="advocate", if_match=True),
    "screening": Endpoint("POST", "/v1/cases/{case}/screenings",
                          lambda w: {"answers": {"weapon_threat": True, "age": 30}},
                          who="advocate"),
    "plan": Endpoint("POST", "/v1/safety-plans", lambda w: {
        "case_id": w.case, "screening_id": 1, "allow_language_fallback": False,
        "shelter_limit": 3}, who="advocate"),
    "step_edit": Endpoint("PATCH", "/v1/safety-plans/1/steps/some.step",
                          lambda w: {"priority": 2}, who="advocate", if_match=True),
    "step_add": Endpoint("POST", "/v1/safety-plans/1/steps", lambda w: {
        "section": "documents", "text": "Keep a copy", "priority": 2}, who="advocate",
        if_match=True),
    "inputs": Endpoint("POST", "/v1/safety-plans/1/inputs", lambda w: {
        "refresh_shelters": False, "clear_code_word": False, "shelter_limit": 3},
        who="advocate"),
    "proposal": Endpoint("POST", "/v1/safety-plans/1/proposals",
                         lambda w: {"screening_id": 1}, who="advocate"),
    "apply": Endpoint("POST", "/v1/safety-plans/1/proposals/1/apply",
                      lambda w: {"accept_header": True}, who="advocate", if_match=True),
    "match": Endpoint("POST", "/v1/matches", lambda w: {"case": _match_case(), "limit": 5},
                      who="advocate"),
    "batch": Endpoint("POST", "/v1/matches/batch", lambda w: {
        "cases": [_match_case()], "case_ids": [],
        "options": {"hold": False, "hold_ttl_minutes": 90, "time_limit_s": 5, "seed": 1,
                    "weights": {"language": 10}}}, who="advocate"),
    "search": Endpoint("POST", "/v1/itineraries/search", lambda w: _search(), who="advocate"),
    "travel_plan": Endpoint("POST", "/v1/travel-plans", lambda w: {
        "case_id": w.case, "itinerary_id": "from-a-search", "beds": 1}, who="advocate"),
    "check_in": Endpoint("POST", "/v1/travel-plans/1/check-ins/1", lambda w: {"safe": True},
                         who="advocate"),
    "allocate": Endpoint("POST", "/v1/travel/allocate", lambda w: _allocation(w.case)),
    "organization": Endpoint("POST", "/v1/directory/organizations", lambda w: org_body(
        areas=[{"kind": "radius", "state": "TX", "lat": 29.76, "lon": -95.37,
                "radius_km": 50}])),
    "release": Endpoint("POST", "/v1/cases/{case}/releases", lambda w: {
        "recipient_id": 1, "fields": ["household"], "purpose": "legal aid"}, who="advocate"),
    "referral": Endpoint("POST", "/v1/referrals", lambda w: {
        "case_id": w.case, "recipient_id": 1, "service_type": "legal"}, who="advocate"),
    "tip": Endpoint("POST", "/v1/tips", lambda w: _tip(), who="advocate"),
}


def _put(body: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A copy of `body` with the value at a dotted path ("household.0.age") replaced."""
    out = copy.deepcopy(body)
    node: Any = out
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


def _send(world: World, name: str, body: dict[str, Any]) -> Any:
    endpoint = ENDPOINTS[name]
    who = world.admin if endpoint.who == "admin" else world.advocate
    headers = {**who.headers, **({"If-Match": '"1"'} if endpoint.if_match else {})}
    path = endpoint.path.format(shelter=world.shelter, case=world.case,
                                account=world.advocate.id, agency=world.admin.agency_id)
    return world.client.request(endpoint.method, path, json=body, headers=headers)


# (endpoint, dotted path in the body, the wrong-typed value). The field named in the answer is
# "body." + the path, as for every other invalid body.
CONFUSED: list[tuple[str, str, object]] = [
    # The four values of the report.
    ("case", "household.0.age", True),
    ("search", "travellers.0.age", True),
    ("case", "urgency", "5"),
    ("shelter", "lat", "38.9"),
    ("hold", "beds", "1"),
    # An integer refuses a bool, a string and any float.
    ("hold", "beds", 2.5),
    ("hold", "beds", 2.0),
    ("hold", "ttl_minutes", 90.0),
    ("admit", "beds", True),
    ("discharge", "beds", 1.5),
    ("beds", "occupied", "1"),
    ("surge", "beds", "2"),
    ("budget", "budget", "40"),
    ("account", "agency_id", "1"),
    ("token", "ttl_days", 30.0),
    ("staff", "account_id", True),
    ("shelter", "beds.0.total", "20"),
    ("shelter", "children_max_age", 12.5),
    ("case", "max_travel_km", 800.5),
    ("case", "exclusions.shelter_ids", ["1"]),
    ("case_patch", "urgency", "2"),
    ("plan", "case_id", "1"),
    ("plan", "shelter_limit", True),
    ("step_edit", "priority", "2"),
    ("step_add", "priority", 2.0),
    ("inputs", "shelter_limit", "3"),
    ("proposal", "screening_id", True),
    ("match", "limit", "5"),
    ("match", "case.urgency", "5"),
    ("batch", "options.seed", "1"),
    ("batch", "options.weights.language", True),
    ("search", "max_transfers", "3"),
    ("search", "budget_cents", 100.5),
    ("travel_plan", "beds", "1"),
    ("travel_plan", "hold_buffer_minutes", "60"),
    ("allocate", "cases.0.case_id", "1"),
    ("allocate", "cases.0.candidates.0.cost_cents", True),
    ("release", "recipient_id", "1"),
    ("referral", "case_id", "1"),
    # A number refuses a string, a bool and what JSON cannot hold (NaN, infinity).
    ("case", "location.lat", "29.76"),
    ("case", "exclusions.points.0.radius_km", "60"),
    ("shelter", "lon", True),
    ("search", "from.lat", "41.8789"),
    ("batch", "options.time_limit_s", "5"),
    ("organization", "lat", "29.7633"),
    ("organization", "areas.0.radius_km", "50"),
    ("tip", "locations.0.lat", "29.76"),
    # A boolean refuses strings and numbers.
    ("case", "has_photo_id", "false"),
    ("case", "has_photo_id", 0),
    ("shelter", "confidential_location", "true"),
    ("shelter", "pets", 1),
    ("account_patch", "disabled", "false"),
    ("plan", "allow_language_fallback", "true"),
    ("inputs", "refresh_shelters", 1),
    ("apply", "accept_header", "yes"),
    ("batch", "options.hold", 1),
    ("search", "has_id", "no"),
    ("travel_plan", "case_id", True),
    ("check_in", "safe", "yes"),
    ("tip", "minors_involved", "true"),
    ("tip", "consent.share_with_law_enforcement", 1),
    # A string refuses a number.
    ("case", "case_ref", 1042),
    ("hold", "case_ref", 7),
    ("agency", "name", 12),
    ("organization", "city", 1),
    ("travel_plan", "itinerary_id", 7),
]


def _field_of(path: str, value: object) -> str:
    # A list value's first element is the wrong one: its field is the list's path plus ".0".
    return "body." + path + (".0" if isinstance(value, list) else "")


@pytest.mark.parametrize(("endpoint", "path", "value"), CONFUSED,
                         ids=[f"{e}-{p}-{v!r}" for e, p, v in CONFUSED])
def test_a_wrong_typed_value_is_422_naming_the_field(world: World, endpoint: str, path: str,
                                                     value: object) -> None:
    valid = ENDPOINTS[endpoint].body(world)
    response = _send(world, endpoint, _put(valid, path, value))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:homeward:problem:invalid-input"
    assert [e["field"] for e in problem["errors"]] == [_field_of(path, value)]
    # The value sent is never echoed (a string of a few characters could be anything).
    if isinstance(value, str) and len(value) > 2:
        assert value not in response.text
    assert "input" not in problem["errors"][0]


def test_nan_and_infinity_are_not_numbers(world: World) -> None:
    """Python's JSON parser takes NaN and Infinity, which JSON has not: a number refuses them."""
    for raw in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"cases": [], "case_ids": [1], "options": {"time_limit_s": ' + raw + b"}}"
        response = world.client.post("/v1/matches/batch", content=body, headers={
            **world.advocate.headers, "content-type": "application/json"})
        assert response.status_code == 422, response.text
        assert [e["field"] for e in response.json()["errors"]] == ["body.options.time_limit_s"]


def test_values_validated_after_the_body_are_strict_too(world: World) -> None:
    """Screening answers and a plan's shelter options arrive as free JSON in the body and are
    validated by the engine; a string for a number there is refused as well."""
    client, who = world.client, world.advocate.headers
    answers = client.post(f"/v1/cases/{world.case}/screenings", headers=who,
                          json={"answers": {"weapon_threat": "yes"}})
    assert answers.status_code == 422, answers.text
    assert [e["field"] for e in answers.json()["errors"]] == ["answers.weapon_threat"]
    screening = client.post(f"/v1/cases/{world.case}/screenings", headers=who,
                            json={"answers": {"weapon_threat": True}})
    assert screening.status_code == 201, screening.text
    option = {"id": "harbor", "name": "Harbor House", "address": "425 2nd St NW",
              "phone": "202-555-0100", "open_beds": 3, "distance_km": 2}
    base = {"case_id": world.case, "screening_id": screening.json()["id"]}
    for name, value in (("open_beds", "3"), ("open_beds", True), ("open_beds", 3.0),
                         ("distance_km", "2.5"), ("distance_km", False)):
        refused = client.post("/v1/safety-plans", headers=who,
                              json={**base, "shelters": [{**option, name: value}]})
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in refused.json()["errors"]] == [f"shelters.0.{name}"]
    made = client.post("/v1/safety-plans", headers=who, json={**base, "shelters": [option]})
    assert made.status_code == 201, made.text


def _hsds_service(**location: object) -> dict[str, Any]:
    return {"name": "Harbor House", "organization": {"name": "Harbor Org"},
            "service_at_locations": [{"location": {
                "latitude": 40.7128, "longitude": -74.006, **location,
                "addresses": [{"address_1": "1 Main St", "city": "New York",
                               "state_province": "NY", "postal_code": "10007",
                               "country": "US", "address_type": "physical"}]}}],
            "capacities": [{"id": "c1", "unit": {"id": "u1", "name": "beds"},
                            "maximum": 12, "available": 5}]}


def test_hsds_numbers_are_json_numbers(world: World) -> None:
    """An HSDS record is JSON as well: a latitude sent as a string is refused, by its path."""
    url = "/v1/interop/hsds/services?dry_run=true"
    fine = world.client.post(url, headers=world.admin.headers, json=[_hsds_service()])
    assert fine.status_code == 200, fine.text
    for value in ("40.7128", True):
        refused = world.client.post(url, headers=world.admin.headers,
                                    json=[_hsds_service(latitude=value)])
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == [
            "[0].service_at_locations[0].location.latitude"]


def test_iso_times_enum_strings_and_whole_numbers_for_floats_are_still_taken(
        world: World) -> None:
    """What JSON can only send as a string (times, enum values) is accepted as before, and a
    number field takes an integer."""
    client = world.client
    case = client.post("/v1/cases", headers=world.advocate.headers, json=case_body(
        case_ref="C-3", trafficking_type="sex",
        household=[{"age": 30, "gender": "female"}, {"age": 4, "gender": "male"}],
        location={"lat": 29, "lon": -95}, exclusions={
            "points": [{"lat": 30, "lon": -95, "radius_km": 10}], "cities": [], "states": [],
            "shelter_ids": [world.shelter]}))
    assert case.status_code == 201, case.text
    assert case.json()["location"]["lat"] == 29.0
    shelter = client.post("/v1/shelters", headers=world.admin.headers,
                          json=shelter_body(world.admin.agency_id, lat=38, lon=-77,
                                            populations=["adult_women", "youth_12_17"]))
    assert shelter.status_code == 201, shelter.text
    surge = client.post(f"/v1/shelters/{world.shelter}/beds/adult_female/surge",
                        headers=world.coordinator.headers, json=_surge())
    assert surge.status_code == 201, surge.text
    hold = client.post(f"/v1/shelters/{world.shelter}/holds", headers=world.advocate.headers,
                       json={"bed_type": "adult_female", "beds": 1, "case_ref": "C-3"})
    assert hold.status_code == 201, hold.text
    tip = client.post("/v1/tips", headers=world.advocate.headers,
                      json={**_tip(), "received_at": "2024-05-01T12:00:00Z"})
    assert tip.status_code == 201, tip.text
    org = client.post("/v1/directory/organizations", headers=world.admin.headers,
                      json=ENDPOINTS["organization"].body(world))
    assert org.status_code == 201, org.text
    referral = client.post("/v1/referrals", headers=world.advocate.headers, json={
        "case_id": world.case, "recipient_id": org.json()["id"], "service_type": "legal",
        "follow_up_at": "2030-01-02T09:00:00-05:00"})
    assert referral.status_code == 201, referral.text
    allocated = client.post("/v1/travel/allocate", headers=world.admin.headers,
                            json=_allocation(world.case))
    assert allocated.status_code == 201, allocated.text


# Parts of bodies that are free JSON on purpose, each validated by its own strict model after
# the body is read (the walk below checks those models too).
FREE_JSON = {
    ("/v1/interop/hsds/services", "document"): "HSDS services, mapped to ShelterCreate",
    ("/v1/directory/hsds", "document"): "HSDS organizations, mapped to OrganizationCreate",
    ("/v1/cases/{case_id}/screenings", "answers"): "screening.AnswersModel",
    ("/v1/safety-plans", "shelters"): "planning.PlanInputs",
}
SECOND_STAGE = (AnswersModel, PlanInputs)


@dataclass
class Walk:
    lax: list[str] = field(default_factory=list)  # where a lax int, float or bool validates
    free: set[str] = field(default_factory=set)  # where free JSON is taken
    strict: int = 0  # strict scalars seen


def _walk(node: object, where: tuple[str, ...], strict: bool, found: Walk) -> None:
    """Visit a pydantic core schema: every int, float and bool validator must be strict (by
    itself or by its model's config), and no config may turn numbers into strings."""
    if isinstance(node, list):
        for item in node:
            _walk(item, where, strict, found)
        return
    if not isinstance(node, dict):
        return
    config = node.get("config")
    if isinstance(config, dict):
        assert not config.get("coerce_numbers_to_str"), where
        strict = bool(config.get("strict", strict))
    if "JsonValue" in str(node.get("ref", "")):
        return  # its definition; each use is met as a reference below
    if "JsonValue" in str(node.get("schema_ref", "")) or node.get("type") == "any":
        # Free JSON keeps each value's own type (no coercion); listed in FREE_JSON.
        found.free.add(".".join(where))
        return
    if node.get("type") in ("int", "float", "bool"):
        if node.get("strict", strict):
            found.strict += 1
        else:
            found.lax.append(".".join(where) or "(body)")
    for key, value in node.items():
        if key in ("fields", "arguments_schema") and isinstance(value, dict):
            for name, schema in value.items():
                _walk(schema, (*where, name), strict, found)
        elif key not in ("config", "serialization", "metadata"):
            _walk(value, where, strict, found)


def test_every_json_body_field_is_strictly_typed(services: Services) -> None:
    """Walks the schema FastAPI validates each route's JSON body with (nested models, lists,
    unions), so a new body model with a lax int, float or bool fails here by name."""
    app = create_app(services=services)
    lax: list[str] = []
    free: set[tuple[str, str]] = set()
    strict = bodies = 0
    for ctx in iter_route_contexts(app.routes):
        route, path = ctx.original_route, ctx.path or ""
        if not isinstance(route, APIRoute) or not path.startswith("/v1/"):
            continue  # the web pages take forms, which are strings by nature
        for param in route.dependant.body_params:
            bodies += 1
            annotation = param.field_info.annotation
            assert annotation is not None
            found = Walk()
            _walk(TypeAdapter(annotation).core_schema, (), False, found)
            lax += [f"{path} {param.name}.{where}" for where in found.lax]
            free |= {(path, where.split(".")[0] or param.name) for where in found.free}
            strict += found.strict
    for model in SECOND_STAGE:
        found = Walk()
        _walk(model.__pydantic_core_schema__, (), False, found)
        lax += [f"{model.__name__}.{where}" for where in found.lax]
        strict += found.strict
    assert lax == [], "lax in JSON bodies (use core.types.StrictInt/Float/Bool): " + ", ".join(lax)
    assert free == set(FREE_JSON), "free JSON in a body must be validated strictly later"
    # The walk found what it should (a broken walk would pass vacuously).
    assert bodies >= 35 and strict >= 160, (bodies, strict)
