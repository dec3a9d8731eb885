"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: database and schema)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import migrate
from api.deps import ServicesDep
from api.errors import problem

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(services: ServicesDep) -> dict[str, str] | JSONResponse:
    engine = services.db.engine
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    current = migrate.current_revision(engine)
    head = migrate.head_revision()
    if current != head:
        return problem(503, "schema-not-current", "Schema not current",
                       f"database schema is at {current}, the code expects {head}; "
                       "run `homeward db upgrade`",
                       headers={"Retry-After": str(services.settings.retry_after_s)})
    return {"status": "ready", "database": services.db.dialect, "schema": str(head)}
