"""The OpenAPI document tells the truth about errors: every operation documents the
problem+json responses the service can give, so clients (and schema-driven tests) can rely on
it. It also says how resources chain: OpenAPI links from each create to its read, update and
close or delete.

FastAPI documents only the success response and its own 422 shape; Homeward answers errors with
RFC 9457 problem details instead, so this rewrites each operation's error responses once, when
the document is first built. Links name their target by `operationId` (looked up from the
method and path, so renaming a handler cannot break them); clients and the stateful schema
tests (`tests/api/test_schemathesis_stateful.py`) follow them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.errors import PROBLEM_JSON

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {
            "type": "object", "required": ["field", "message"],
            "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}},
    },
    "additionalProperties": True,
}

_ALWAYS = {
    "413": "Request body too large",
    "422": "Invalid input: `errors` names each bad field",
    "503": "Database busy or unreachable; retry after `Retry-After` seconds",
}
_AUTHENTICATED = {
    "401": "Missing, unknown, expired or revoked token",
    "403": "The caller's role may not do this",
    "404": "Not found, or not the caller's to see",
    "409": "Conflicts with the current state",
    "412": "Stale If-Match version",
    "428": "If-Match required",
    "429": "Too many attempts, active holds or probing circles; see `Retry-After`",
}


# (source method, source path, status) -> {link name: (target method, target path, parameters,
# request body)}. Values are OpenAPI runtime expressions or constants; `if-match` takes the
# version just returned (the ETag header, or the body's version quoted as an ETag, a string).
_Link = tuple[str, str, dict[str, Any], dict[str, Any] | None]
_ACCOUNT = "/v1/accounts/{account_id}"
_CASE = "/v1/cases/{case_id}"
_SHELTER = "/v1/shelters/{shelter_id}"
_BEDS = "/v1/shelters/{shelter_id}/beds/{bed_type}"
_HOLD = "/v1/holds/{hold_id}"
_PLAN = "/v1/safety-plans/{plan_id}"
_TRIP = "/v1/travel-plans/{plan_id}"
_ID = "$response.body#/id"
_ETAG = "$response.header.ETag"
LINKS: dict[tuple[str, str, str], dict[str, _Link]] = {
    ("post", "/v1/accounts", "201"): {
        "GetAccount": ("get", _ACCOUNT, {"path.account_id": "$response.body#/account/id"}, None),
        "UpdateAccount": ("patch", _ACCOUNT, {"path.account_id": "$response.body#/account/id",
                                              "header.if-match":
                                                  '"{$response.body#/account/version}"'},
                          None),
        "ListTokens": ("get", _ACCOUNT + "/tokens",
                       {"path.account_id": "$response.body#/account/id"}, None),
        "IssueToken": ("post", _ACCOUNT + "/tokens",
                       {"path.account_id": "$response.body#/account/id"}, None),
        "RevokeToken": ("delete", "/v1/tokens/{token_id}",
                        {"path.token_id": "$response.body#/token/id"}, None),
    },
    ("get", _ACCOUNT, "200"): {
        "UpdateAccount": ("patch", _ACCOUNT, {"path.account_id": _ID, "header.if-match": _ETAG},
                          None),
    },
    ("post", _ACCOUNT + "/tokens", "201"): {
        "RevokeToken": ("delete", "/v1/tokens/{token_id}", {"path.token_id": _ID}, None),
    },
    ("post", "/v1/cases", "201"): {
        "GetCase": ("get", _CASE, {"path.case_id": _ID}, None),
        "UpdateCase": ("patch", _CASE, {"path.case_id": _ID, "header.if-match": _ETAG}, None),
        "CloseCase": ("post", _CASE + "/close", {"path.case_id": _ID}, None),
        "PurgeCase": ("post", _CASE + "/purge", {"path.case_id": _ID}, None),
        "ScreenCase": ("post", _CASE + "/screenings", {"path.case_id": _ID}, None),
        "ListScreenings": ("get", _CASE + "/screenings", {"path.case_id": _ID}, None),
        "ListSafetyPlans": ("get", _CASE + "/safety-plans", {"path.case_id": _ID}, None),
        "CreateTravelPlan": ("post", "/v1/travel-plans", {}, {"case_id": _ID}),
        "ListTravelPlans": ("get", "/v1/travel-plans", {"query.case_id": _ID}, None),
    },
    ("get", _CASE, "200"): {
        "UpdateCase": ("patch", _CASE, {"path.case_id": _ID, "header.if-match": _ETAG}, None),
    },
    ("post", _CASE + "/screenings", "201"): {
        "GetScreening": ("get", "/v1/screenings/{screening_id}", {"path.screening_id": _ID},
                         None),
        "CreateSafetyPlan": ("post", "/v1/safety-plans", {},
                             {"case_id": "$response.body#/case_id", "screening_id": _ID}),
    },
    ("post", "/v1/shelters", "201"): {
        "GetShelter": ("get", _SHELTER, {"path.shelter_id": _ID}, None),
        "ListBeds": ("get", _SHELTER + "/beds", {"path.shelter_id": _ID}, None),
        "GetBeds": ("get", _BEDS, {"path.shelter_id": _ID,
                                   "path.bed_type": "$response.body#/beds/0/bed_type"}, None),
        "PlaceHold": ("post", _SHELTER + "/holds", {"path.shelter_id": _ID}, None),
        "ListHolds": ("get", _SHELTER + "/holds", {"path.shelter_id": _ID}, None),
        "ListSurge": ("get", _SHELTER + "/surge", {"path.shelter_id": _ID}, None),
    },
    ("get", _BEDS, "200"): {
        "SetBeds": ("put", _BEDS, {"path.shelter_id": "$request.path.shelter_id",
                                   "path.bed_type": "$request.path.bed_type",
                                   "header.if-match": _ETAG}, None),
        "Admit": ("post", _BEDS + "/admit", {"path.shelter_id": "$request.path.shelter_id",
                                             "path.bed_type": "$request.path.bed_type"}, None),
        "Discharge": ("post", _BEDS + "/discharge",
                      {"path.shelter_id": "$request.path.shelter_id",
                       "path.bed_type": "$request.path.bed_type"}, None),
    },
    ("post", _SHELTER + "/holds", "201"): {
        "GetHold": ("get", _HOLD, {"path.hold_id": _ID}, None),
        "ConfirmHold": ("post", _HOLD + "/confirm", {"path.hold_id": _ID}, None),
        "ReleaseHold": ("delete", _HOLD, {"path.hold_id": _ID}, None),
    },
    ("post", "/v1/safety-plans", "201"): {
        "GetSafetyPlan": ("get", _PLAN, {"path.plan_id": _ID}, None),
        "RenderSafetyPlan": ("get", _PLAN + "/render", {"path.plan_id": _ID}, None),
        "AddStep": ("post", _PLAN + "/steps", {"path.plan_id": _ID, "header.if-match": _ETAG},
                    None),
        "EditStep": ("patch", _PLAN + "/steps/{step_id}", {
            "path.plan_id": _ID, "path.step_id": "$response.body#/plan/sections/0/steps/0/id",
            "header.if-match": _ETAG}, None),
        "RemoveStep": ("delete", _PLAN + "/steps/{step_id}", {
            "path.plan_id": _ID, "path.step_id": "$response.body#/plan/sections/0/steps/1/id",
            "header.if-match": _ETAG}, None),
        "ListRevisions": ("get", _PLAN + "/revisions", {"path.plan_id": _ID}, None),
    },
    ("post", "/v1/travel-plans", "201"): {
        "GetTravelPlan": ("get", _TRIP, {"path.plan_id": _ID}, None),
        "ChangeStatus": ("post", _TRIP + "/status", {"path.plan_id": _ID}, None),
        "CheckIn": ("post", _TRIP + "/check-ins/{check_in_id}", {
            "path.plan_id": _ID, "path.check_in_id": "$response.body#/check_ins/0/id"}, None),
    },
}


def _add_links(document: dict[str, Any]) -> None:
    paths = document.get("paths", {})
    for (method, path, status), links in LINKS.items():
        response = paths[path][method]["responses"][status]
        out = response.setdefault("links", {})
        for name, (target_method, target_path, parameters, body) in links.items():
            link: dict[str, Any] = {
                "operationId": paths[target_path][target_method]["operationId"],
                "parameters": parameters}
            if body is not None:
                link["requestBody"] = body
            out[name] = link


def _problem(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(title=app.title, version=app.version,
                               description=app.description, routes=app.routes)
        components = document.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = PROBLEM_SCHEMA
        for path, operations in document.get("paths", {}).items():
            public = path in ("/healthz", "/readyz")
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                errors = dict(_ALWAYS)
                if not public:
                    errors |= _AUTHENTICATED
                for status, description in errors.items():
                    responses[status] = _problem(description)
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        _add_links(document)
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
