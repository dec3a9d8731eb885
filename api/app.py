"""The application factory: builds the service from settings, with no hidden global state.

Each worker process calls `create_app()`; everything it shares with other workers (accounts,
holds, counts) lives in the database, so any number of workers and machines can serve at once.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from api import errors, web
from api.config import Settings
from api.observability import RequestBodyGuardMiddleware, RequestContextMiddleware
from api.openapi import install as install_openapi
from api.routes import (
    accounts,
    cases,
    health,
    holds,
    interop,
    matching,
    messages,
    network,
    probes,
    return_plans,
    safety_plans,
    shelters,
    tips_stats,
    travel,
)
from api.services import Services, build_services

DOCS_ASSETS = "/docs/assets"


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    settings = settings or (services.settings if services else Settings.from_env())
    services = services or build_services(settings)
    # /docs (Swagger UI) and /redoc load their scripts and styles from the app itself (the
    # fastapi-offline package ships them), not from a CDN: they work with no network.
    app = FastAPIOffline(
        title="Homeward",
        version="0.1.0",
        description="Shelter beds, safety plans and travel home for an anti-trafficking hotline.",
        static_url=DOCS_ASSETS,
        favicon_url=f"{DOCS_ASSETS}/favicon.png",
    )
    app.state.services = services
    errors.install(app, retry_after_s=settings.retry_after_s)
    install_openapi(app)
    app.include_router(health.router)
    app.include_router(accounts.router)
    app.include_router(shelters.router)
    app.include_router(holds.router)
    app.include_router(interop.router)
    app.include_router(cases.router)
    app.include_router(safety_plans.router)
    app.include_router(matching.router)
    app.include_router(probes.router)
    app.include_router(travel.router)
    app.include_router(return_plans.router)
    app.include_router(network.router)
    app.include_router(tips_stats.router)
    app.include_router(messages.router)
    app.include_router(messages.callbacks)
    web.install(app)  # the browser pages under /web (api/web/)
    app.add_middleware(RequestBodyGuardMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    return app


def app_factory() -> FastAPI:
    """Entry point for `uvicorn --factory` in each worker process."""
    from api.observability import configure_logging
    from logistics.travel.search import warm_in_background

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    # Only served workers warm up: tests build many apps and search few timetables.
    warm_in_background(app.state.services.db, app.state.services.timetables)
    return app
