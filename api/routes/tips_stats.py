"""Tips and published statistics over HTTP (see docs/tips_and_stats.md).

`POST /v1/tips` takes a tip and routes it at once; `GET /v1/tips/{id}` reads it with its
latest routing decision; `POST /v1/tips/{id}/route` routes it again. Statistics are
releases of closed periods: `POST /v1/stats/releases` (platform admins) publishes one;
`GET /v1/stats/releases[/{period}[/csv|/charts/{name}]]` reads them, exactly as stored, for
any account.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, ServicesDep, SessionDep
from network.stats import service as stats_service
from network.stats.models import Measure, ReleaseRequest, ReleaseSummary, StatsReleasePublic
from network.tips import service as tips_service
from network.tips.models import TipCreate, TipPublic

router = APIRouter(prefix="/v1", tags=["tips and statistics"])



@router.post("/tips", response_model=TipPublic, status_code=201)
def create_tip(body: TipCreate, session: SessionDep, principal: PrincipalDep,
               services: ServicesDep) -> object:
    return tips_service.create_tip(session, actor=principal, cipher=services.cipher,
                                   data=body)


@router.get("/tips/{tip_id}", response_model=TipPublic)
def get_tip(tip_id: int, session: SessionDep, principal: PrincipalDep,
            services: ServicesDep) -> object:
    return tips_service.get_tip(session, actor=principal, cipher=services.cipher,
                                tip_id=tip_id)


@router.post("/tips/{tip_id}/route", response_model=TipPublic)
def route_tip(tip_id: int, session: SessionDep, principal: PrincipalDep,
              services: ServicesDep) -> object:
    return tips_service.route_tip(session, actor=principal, cipher=services.cipher,
                                  tip_id=tip_id)


@router.get("/stats/releases", response_model=list[ReleaseSummary])
def list_releases(session: SessionDep, principal: PrincipalDep) -> object:
    return stats_service.list_releases(session, actor=principal)


@router.post("/stats/releases", response_model=StatsReleasePublic, status_code=201)
def publish_release(body: ReleaseRequest, session: SessionDep, principal: PrincipalDep,
                    services: ServicesDep) -> object:
    return stats_service.publish_release(
        session, actor=principal, data=body,
        epsilon_budget=services.settings.stats_epsilon_per_month)


@router.get("/stats/releases/{period}", response_model=StatsReleasePublic)
def get_release(period: str, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep) -> object:
    return stats_service.get_release(session, actor=principal, period=period,
                                     epsilon_budget=services.settings.stats_epsilon_per_month)


@router.get("/stats/releases/{period}/csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def get_release_csv(period: str, session: SessionDep, principal: PrincipalDep,
                    services: ServicesDep) -> Response:
    release = stats_service.get_release(
        session, actor=principal, period=period,
        epsilon_budget=services.settings.stats_epsilon_per_month)
    name = f"stats-{release.period}.csv"
    return Response(stats_service.to_csv(release), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/stats/releases/{period}/charts/{name}", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}})
def get_chart(period: str, name: str, session: SessionDep, principal: PrincipalDep,
              services: ServicesDep,
              format: Annotated[str, Query(description="png or svg")] = "svg",
              measure: Annotated[list[Measure] | None, Query(
                  description="measures to draw (states_ranked: one)")] = None) -> Response:
    body, media = stats_service.get_chart(
        session, actor=principal, period=period, name=name, fmt=format,
        measures=measure or [], epsilon_budget=services.settings.stats_epsilon_per_month)
    return Response(body, media_type=media)
