"""Every error leaves the service as RFC 9457 problem+json, from this one place.

Domain errors carry a kind that maps to a status; validation errors name each bad field but
never echo the submitted value (it may be personal data); a busy or unreachable database is a
503 with Retry-After; anything unexpected is a bare 500 with no stack trace.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import DomainError, ErrorKind

log = logging.getLogger("homeward.errors")

PROBLEM_JSON = "application/problem+json"
# PostgreSQL's SQLSTATE for a number too large for its column, read off the driver's error
# rather than by importing the driver's error classes (which would load psycopg into every
# process, SQLite ones included, at start-up).
_NUMERIC_VALUE_OUT_OF_RANGE = "22003"

STATUS_BY_KIND: dict[ErrorKind, int] = {
    "invalid": 422,
    "not_found": 404,
    "forbidden": 403,
    "conflict": 409,
    "precondition_failed": 412,
    "precondition_required": 428,
    "unauthenticated": 401,
    "too_many": 429,
    "unavailable": 503,
}


def problem(
    status: int, code: str, title: str, detail: str, *, headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = {"type": f"urn:homeward:problem:{code}", "title": title, "status": status,
            "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI, *, retry_after_s: int) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_request: Request, exc: DomainError) -> JSONResponse:
        status = STATUS_BY_KIND[exc.kind]
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if status in (429, 503):
            wait = getattr(exc, "retry_after", None) or retry_after_s
            headers = {"Retry-After": str(wait)}
        return problem(status, exc.code, exc.title, exc.detail, headers=headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": _field_name(err.get("loc", ())), "message": str(err.get("msg", "invalid"))}
            for err in exc.errors()
        ]
        fields = ", ".join(e["field"] for e in errors)
        return problem(422, "invalid-input", "Invalid input", f"invalid fields: {fields}",
                       errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}.get(
            exc.status_code, "http-error")
        return problem(exc.status_code, code, str(exc.detail), str(exc.detail),
                       headers=getattr(exc, "headers", None))

    async def _unavailable(_request: Request, exc: Exception) -> JSONResponse:
        # Only the class name is logged: driver messages can quote SQL parameters.
        log.warning("database unavailable", extra={"error": type(exc).__name__})
        return problem(503, "database-unavailable", "Service temporarily unavailable",
                       "the database is busy or unreachable; retry shortly",
                       headers={"Retry-After": str(retry_after_s)})

    async def _out_of_range(_request: Request, _exc: Exception) -> JSONResponse:
        # A number no database column can hold (an id of 2**70, say) is bad input, not a bug.
        return problem(422, "invalid-input", "Invalid input",
                       "a number in the request is out of range",
                       errors=[{"field": "request", "message": "number out of range"}])

    async def _dbapi(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DBAPIError)
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            return await _unavailable(request, exc)
        if isinstance(exc, DataError) and _sqlstate(exc.orig) == _NUMERIC_VALUE_OUT_OF_RANGE:
            return await _out_of_range(request, exc)
        return await _unexpected(request, exc)

    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", extra={"error": type(exc).__name__})
        return problem(500, "internal-error", "Internal error",
                       "an unexpected error occurred; it has been logged without request data")

    app.add_exception_handler(PoolTimeout, _unavailable)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DBAPIError, _dbapi)
    app.add_exception_handler(Exception, _unexpected)


def _sqlstate(error: BaseException | None) -> str | None:
    state = getattr(error, "sqlstate", None)
    return state if isinstance(state, str) else None
