"""The OpenAPI document tells the truth about errors: every operation documents the
problem+json responses the service can give, so clients (and schema-driven tests) can rely on
it.

FastAPI documents only the success response and its own 422 shape; Homeward answers errors with
RFC 9457 problem details instead, so this rewrites each operation's error responses once, when
the document is first built.
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
    "429": "Too many attempts or active holds; see `Retry-After`",
}


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
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
