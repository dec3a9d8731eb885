"""Request dependencies: the database session, the authenticated principal, paging, If-Match.

GET and HEAD requests get a read session; every other method gets a write session, whose
transaction on SQLite begins IMMEDIATE so a read-then-write cannot interleave with another
writer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel
from sqlmodel import Session

from api.services import Services as Services  # re-exported: routes and tests name it here
from core import service as accounts
from core.errors import (
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
    TooManyAttempts,
    Unauthenticated,
)
from core.principal import Principal

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_IF_MATCH = re.compile(r'^\s*"?(\d{1,18})"?\s*$')
_WEAK = re.compile(r'^\s*W/', re.IGNORECASE)


def services_of(request: Request) -> Services:
    services = request.app.state.services
    assert isinstance(services, Services)
    return services


async def get_services(request: Request) -> Services:
    # async: no I/O here, and a sync dependency would cost a thread-pool hop on every request.
    return services_of(request)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(request: Request, services: ServicesDep) -> AsyncIterator[Session]:
    # async: creating a Session does no I/O (it connects on first use, in the handler's
    # thread), so this costs no thread-pool hop. Closing one that still has a transaction
    # open (reads never commit) does I/O and goes to the pool; a committed one does not.
    session = services.db.new_session(write=request.method not in _READ_METHODS)
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SessionDep = Annotated[Session, Depends(get_session)]


async def get_bearer(
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str:
    """The bearer token's secret; 401 when there is none (no I/O, so no thread-pool hop)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthenticated("a bearer API token is required")
    return authorization[7:].strip()


BearerDep = Annotated[str, Depends(get_bearer)]


def authenticate_request(request: Request, services: Services, session: Session,
                         secret: str) -> Principal:
    """The principal behind the request's token; failed attempts are counted and throttled."""
    request_id = getattr(request.state, "request_id", None)
    try:
        if services.db.dialect == "sqlite" and request.method not in _READ_METHODS:
            # A SQLite write session's first statement takes the write lock: read the token
            # in a session of its own rather than hold the lock while authenticating.
            with services.db.read_session() as own:
                return accounts.authenticate(own, secret=secret, request_id=request_id)
        # Otherwise the request's own session and transaction: no second connection.
        return accounts.authenticate(session, secret=secret, request_id=request_id)
    except Unauthenticated:
        # Only failures pay for throttling: a valid token never waits on this bookkeeping.
        settings = services.settings
        throttle = accounts.Throttle(limit=settings.auth_failure_limit,
                                     window=timedelta(seconds=settings.auth_failure_window_s))
        client = request.client.host if request.client else "unknown"
        # A token's first characters name it without revealing it (12 of its 46).
        attempt = accounts.auth_attempt(services.cipher, client=client, presented=secret[:12])
        with services.db.write_session() as books:
            wait = accounts.auth_retry_after(books, attempt=attempt, throttle=throttle)
            if wait is not None:
                raise TooManyAttempts("too many failed authentications from this address; "
                                      "wait before trying again", retry_after=wait) from None
            accounts.record_auth_failure(books, attempt=attempt, throttle=throttle)
        raise


def get_principal(request: Request, services: ServicesDep, session: SessionDep,
                  secret: BearerDep) -> Principal:
    return authenticate_request(request, services, session, secret)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


async def get_page(
    limit: Annotated[int, Query(ge=1, le=100, description="page size, at most 100")] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page:
    return Page(limit=limit, offset=offset)


PageDep = Annotated[Page, Depends(get_page)]


async def if_match_version(
    if_match: Annotated[str | None, Header(description="the version you read, as an ETag")] = None,
) -> int:
    if if_match is None:
        raise PreconditionRequired("send If-Match with the version you last read")
    if _WEAK.match(if_match):
        # If-Match compares strongly (RFC 9110, 13.1.1): a weak tag never matches.
        raise PreconditionFailed("a weak ETag (W/...) never matches If-Match; send the ETag "
                                 "as read, e.g. \"3\"")
    found = _IF_MATCH.match(if_match)
    if found is None:
        raise InvalidInput("If-Match", 'If-Match must be a version such as "3"')
    return int(found.group(1))


IfMatchDep = Annotated[int, Depends(if_match_version)]


IdempotencyKey = Annotated[str | None, Header(
    max_length=128, pattern=r"^[\x21-\x7e]+$",
    description="repeat a request safely: the same key and body give the same response")]


def request_digest(body: BaseModel, **context: object) -> str:
    """A fingerprint of a request, to tell a retry from a different request with the same key."""
    payload = {**context, **body.model_dump(mode="json")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def etag(version: int) -> str:
    return f'"{version}"'


def parse_near(near: str, example: str = "38.8973,-77.0063") -> tuple[float, float]:
    """`near=lat,lon` as a point; 422 naming `near` when it is not one."""
    try:
        lat_text, lon_text = near.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError as exc:
        raise InvalidInput("near", f"near must be 'lat,lon', e.g. {example}") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput("near", "latitude must be within ±90 and longitude within ±180")
    return lat, lon
