"""Web pages for coordinators, advocates and case managers, served by the API's own app.

`install(app)` adds the page routers under `/web`, the vendored static files under
`/web/static`, the `/` redirect to sign-in, and the handlers that turn a missing session into
the sign-in page and a wrong role or CSRF token into a plain 403 page. Pages call the same use
cases as the JSON API; nothing here holds domain rules.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from api.deps import services_of
from api.web import (
    advocate,
    auth_pages,
    case_actions,
    cases,
    coordinator,
    messages,
    rescue,
    return_plans,
    travel,
)
from api.web.common import HERE, SESSION_COOKIE, SignInRequired, WebForbidden, redirect, render


def install(app: FastAPI) -> None:
    for module in (auth_pages, coordinator, cases, case_actions, advocate, rescue, travel,
                   return_plans, messages):
        app.include_router(module.router)
    app.include_router(coordinator.holds_router)  # "My holds", "Holds on my beds"
    app.mount("/web/static", StaticFiles(directory=HERE / "static"), name="web-static")

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> Response:
        """A newcomer opening the bare address lands on the sign-in page (or the pages)."""
        return redirect("/web/" if request.cookies.get(SESSION_COOKIE) else "/web/sign-in")

    async def sign_in_required(request: Request, _exc: Exception) -> Response:
        target = "/web/sign-in"
        if request.headers.get("hx-request") == "true":
            # htmx follows this header with a full page load instead of swapping a fragment.
            return Response(status_code=200, headers={"HX-Redirect": target})
        if request.method == "GET" and request.url.path.startswith("/web/"):
            target += f"?next={request.url.path}"
        return redirect(target)

    async def forbidden(request: Request, exc: Exception) -> Response:
        reason = exc.reason if isinstance(exc, WebForbidden) else "role"
        return render(request, services_of(request).settings, "forbidden.html", status=403,
                      reason=reason)

    app.add_exception_handler(SignInRequired, sign_in_required)
    app.add_exception_handler(WebForbidden, forbidden)
