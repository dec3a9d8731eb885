"""What every web page shares: templates, language, the signed-in identity, CSRF, headers.

Pages are server-rendered Jinja2 with htmx for partial updates; there is no front-end build.
A request is signed in by the `hw_session` cookie (see `core/web_auth.py`); every POST must
carry the session's CSRF token as the `csrf_token` form field or the `X-CSRF-Token` header
(htmx sends the header from the page's `hx-headers`). Language comes from the `hw_lang`
cookie, else Accept-Language; strings are English msgids looked up in a Babel catalogue
(`api/web/locale/<lang>/LC_MESSAGES/web.po`), as `safety_plans/i18n.py` does for plans.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from api.config import Settings
from api.deps import ServicesDep
from api.web import wording
from core import web_auth
from core.errors import Unauthenticated
from core.models import Role
from core.principal import Principal
from core.web_auth import SessionLimits, WebIdentity

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
LANGUAGES = ("en", "es")
SESSION_COOKIE = "hw_session"
LANG_COOKIE = "hw_lang"
PRE_COOKIE = "hw_signin"  # the sign-in form's own CSRF token, before any session exists

ENV = Environment(loader=FileSystemLoader(HERE / "templates"),
                  autoescape=select_autoescape(default=True), undefined=StrictUndefined,
                  trim_blocks=True, lstrip_blocks=True)

Translate = Callable[..., str]


class SignInRequired(Exception):
    """The request has no live session: send the browser to the sign-in page."""


class WebForbidden(Exception):
    """Signed in, but this page or action is not for this role, or the CSRF token is wrong."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def po_path(language: str) -> str:
    return str(LOCALE_DIR / language / "LC_MESSAGES" / "web.po")


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """The page strings' translations (entries without a context; see `wording` for those)."""
    return {msgid: text for (context, msgid), text in
            wording.table(language, po_path(language)).items() if not context}


def _said(value: object, say: wording.Say) -> object:
    if isinstance(value, wording.Phrase):
        return say(value)
    if isinstance(value, list):  # [(field, Phrase)]: a form's errors in one notice
        return Markup("; ").join(Markup("{}: {}").format(field, say(message))
                                 for field, message in value)
    return value


def translator(language: str) -> Translate:
    table = catalogue(language)
    say = sayer(language)

    def gettext(message: str, **params: object) -> str:
        text = table.get(message, message)
        if any(isinstance(v, wording.Phrase | list) for v in params.values()):
            return escape(text).format(**{k: _said(v, say) for k, v in params.items()})
        return text.format(**params) if params else text

    return gettext


def sayer(language: str) -> wording.Say:
    """Renders an error `Phrase` in the language (English, marked so, when untranslated)."""
    return wording.sayer(wording.table(language, po_path(language)), language)


def pick_language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    ranked: list[tuple[float, str]] = []
    for part in request.headers.get("accept-language", "").split(",")[:20]:
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        ranked.append((weight, tag.split("-")[0].strip().lower()))
    for _weight, tag in sorted(ranked, key=lambda item: -item[0]):
        if tag in LANGUAGES:
            return tag
    return LANGUAGES[0]


def limits(settings: Settings) -> SessionLimits:
    return SessionLimits(idle=timedelta(minutes=settings.web_idle_minutes),
                         absolute=timedelta(hours=settings.web_session_hours))


def get_identity(request: Request, services: ServicesDep) -> WebIdentity:
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret or len(secret) > 200:
        raise SignInRequired
    request_id = getattr(request.state, "request_id", None)
    try:
        with services.db.read_session() as session:
            identity = web_auth.resolve(session, secret=secret,
                                        limits=limits(services.settings),
                                        request_id=request_id)
    except Unauthenticated:
        raise SignInRequired from None
    if identity.needs_touch:
        with services.db.write_session() as session:
            web_auth.touch(session, session_id=identity.session_id)
    return identity


IdentityDep = Annotated[WebIdentity, Depends(get_identity)]




def check_csrf(identity: IdentityDep,
               csrf_token: Annotated[str | None, Form(max_length=200)] = None,
               x_csrf_token: Annotated[str | None, Header(max_length=200)] = None,
               ) -> WebIdentity:
    if not web_auth.csrf_ok(identity, csrf_token or x_csrf_token):
        raise WebForbidden("csrf")
    return identity


PostDep = Annotated[WebIdentity, Depends(check_csrf)]


def require(identity: WebIdentity, *roles: Role) -> Principal:
    """The principal, if it holds one of the roles (admins of either kind pass); else a 403 page.

    An agency admin passes like its agency's staff; the services keep it to its own agency.
    """
    principal = identity.principal
    if not (principal.is_platform_admin or principal.is_agency_admin or principal.role in roles):
        raise WebForbidden("role")
    return principal


def nav_for(principal: Principal) -> list[tuple[str, str]]:
    """(path, label msgid) of the pages this role may use, in menu order."""
    items: list[tuple[str, str]] = []
    role = principal.role
    admin = principal.is_platform_admin or principal.is_agency_admin
    if admin or role is Role.SHELTER_COORDINATOR:
        items.append(("/web/board", "Bed board"))
    if admin or role in (Role.ADVOCATE, Role.CASE_MANAGER):
        items += [("/web/cases", "Cases and safety plans"), ("/web/rescue", "Mass rescue")]
    if admin or role is Role.CASE_MANAGER:
        items.append(("/web/travel", "Travel home"))
        items.append(("/web/return-plans", "Return home together"))
    if admin or role is Role.SHELTER_COORDINATOR:
        items.append(("/web/holds/shelters", "Holds on my beds"))
    if admin or role in (Role.ADVOCATE, Role.CASE_MANAGER):
        items.append(("/web/holds/mine", "My holds"))
        items.append(("/web/messages", "Messages"))
    return items


def security_headers(response: Response, settings: Settings, *, inline_styles: bool = False
                     ) -> Response:
    tiles = settings.web_map_tiles_url
    tile_origin = "/".join(tiles.split("/")[:3]).replace("{s}.", "*.") if tiles else ""
    styles = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; "
        f"style-src {styles}; img-src 'self' data: {tile_origin}".rstrip() + "; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
        "object-src 'none'")
    # Pages hold survivor data: never cached, so going back after a quick exit shows nothing.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


def render(request: Request, settings: Settings, template: str, *,
           identity: WebIdentity | None = None, status: int = 200,
           **context: Any) -> HTMLResponse:
    language = pick_language(request)
    principal = identity.principal if identity else None
    html = ENV.get_template(template).render(
        _=translator(language), say=sayer(language), lang=language, languages=LANGUAGES,
        path=request.url.path,
        user=principal, csrf=identity.csrf_token if identity else "",
        nav=nav_for(principal) if principal else [],
        quick_exit_url=settings.web_quick_exit_url,
        is_htmx=request.headers.get("hx-request") == "true", **context)
    return security_headers(HTMLResponse(html, status_code=status), settings)  # type: ignore[return-value]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *,
               max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                        secure=is_https(request), samesite="strict")


def safe_next(target: str | None) -> str:
    """Only our own pages as redirect targets (no open redirect to another site)."""
    if target and target.startswith("/web/") and "//" not in target and "\\" not in target:
        return target
    return "/web/"
