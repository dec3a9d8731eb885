"""Sign-in, sign-out, quick exit, the language switch and the home redirect.

The sign-in form has no session yet, so it guards itself with a double-submit token: a
random value in an HttpOnly SameSite=Strict cookie that the form must echo. Failed sign-ins
count toward the same per-address throttle as bad API tokens.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep
from api.web.common import (
    LANG_COOKIE,
    LANGUAGES,
    PRE_COOKIE,
    SESSION_COOKIE,
    IdentityDep,
    PostDep,
    limits,
    nav_for,
    redirect,
    render,
    safe_next,
    set_cookie,
)
from core import service as accounts
from core import web_auth
from core.errors import Unauthenticated

router = APIRouter(prefix="/web", include_in_schema=False)


@router.get("/")
def home(identity: IdentityDep) -> Response:
    items = nav_for(identity.principal)
    return redirect(items[0][0] if items else "/web/sign-in")


@router.get("/sign-in")
def sign_in_form(request: Request, services: ServicesDep,
                 next: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    return _form(request, services, next_page=safe_next(next), error=None, status=200)


def _form(request: Request, services: ServicesDep, *, next_page: str, error: str | None,
          status: int) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, services.settings, "sign_in.html", status=status,
                      pre_token=token, next_page=next_page, error=error)
    set_cookie(response, request, PRE_COOKIE, token, max_age=3600)
    return response


@router.post("/sign-in")
def sign_in(request: Request, services: ServicesDep,
            name: Annotated[str, Form(max_length=100)],
            password: Annotated[str, Form(max_length=web_auth.MAX_PASSWORD)],
            csrf_token: Annotated[str, Form(max_length=200)] = "",
            next: Annotated[str, Form(max_length=200)] = "/web/") -> Response:
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        return _form(request, services, next_page=safe_next(next), error="expired", status=403)
    settings = services.settings
    throttle = accounts.Throttle(limit=settings.auth_failure_limit,
                                 window=timedelta(seconds=settings.auth_failure_window_s))
    client = request.client.host if request.client else "unknown"
    attempt = accounts.auth_attempt(services.cipher, client=client,
                                    presented=name.strip().casefold())
    # Only reads: a write session would queue behind every writer for nothing.
    with services.db.read_session() as session:
        if accounts.auth_retry_after(session, attempt=attempt, throttle=throttle) is not None:
            return _form(request, services, next_page=safe_next(next), error="throttled",
                         status=429)
    try:
        # A plain `def` route, so the Argon2 check runs in a worker thread, off the event loop.
        signed = web_auth.sign_in(services.db, name=name, password=password,
                                  limits=limits(settings),
                                  request_id=getattr(request.state, "request_id", None))
    except Unauthenticated:
        with services.db.write_session() as session:
            accounts.record_auth_failure(session, attempt=attempt, throttle=throttle)
        return _form(request, services, next_page=safe_next(next), error="wrong", status=401)
    response = redirect(safe_next(next))
    set_cookie(response, request, SESSION_COOKIE, signed.secret)
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


def _end(request: Request, services: ServicesDep, response: Response) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        with services.db.write_session() as session:
            web_auth.sign_out(session, secret=secret)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.post("/sign-out")
def sign_out(request: Request, services: ServicesDep, _identity: PostDep) -> Response:
    return _end(request, services, redirect("/web/sign-in"))


@router.post("/quick-exit")
def quick_exit(request: Request, services: ServicesDep, _identity: PostDep) -> Response:
    """Sent by the quick-exit button as it leaves: the session ends, so Back shows nothing."""
    return _end(request, services, Response(status_code=204))


@router.get("/language")
def language(request: Request, to: Annotated[str, Query(max_length=5)],
             next: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    response = redirect(safe_next(next))
    if to in LANGUAGES:
        set_cookie(response, request, LANG_COOKIE, to, max_age=365 * 86400)
    return response
