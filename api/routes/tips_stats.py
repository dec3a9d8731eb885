"""Tips and published statistics over HTTP (see docs/tips_and_stats.md).

`POST /v1/tips` takes a tip and routes it at once; `GET /v1/tips/{id}` reads it with its
latest routing decision; `POST /v1/tips/{id}/route` routes it again. `GET /v1/stats`,
`GET /v1/stats.csv` and `GET /v1/stats/charts/{name}` publish suppressed national figures to
any account.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import PrincipalDep, ServicesDep, SessionDep
from network.stats import service as stats_service
from network.stats.models import Measure, StatsPublic
from network.tips import service as tips_service
from network.tips.models import TipCreate, TipPublic

router = APIRouter(prefix="/v1", tags=["tips and statistics"])

GroupBy = Annotated[str, Query(description="comma-separated: month, state, trafficking_type, "
                                           "venue (rows: the first; columns: the rest)")]
From = Annotated[date | None, Query(alias="from", description="first day (inclusive)")]
To = Annotated[date | None, Query(alias="to", description="last day (inclusive)")]


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


@router.get("/stats", response_model=StatsPublic)
def get_stats(session: SessionDep, principal: PrincipalDep, date_from: From = None,
              date_to: To = None, group_by: GroupBy = "month") -> object:
    return stats_service.get_stats(session, actor=principal, group_by=group_by,
                                   date_from=date_from, date_to=date_to)


@router.get("/stats.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def get_stats_csv(session: SessionDep, principal: PrincipalDep, date_from: From = None,
                  date_to: To = None, group_by: GroupBy = "month") -> Response:
    stats = stats_service.get_stats(session, actor=principal, group_by=group_by,
                                    date_from=date_from, date_to=date_to)
    return Response(stats_service.to_csv(stats), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="stats.csv"'})


@router.get("/stats/charts/{name}", response_class=Response,
            responses={200: {"content": {"image/png": {}, "image/svg+xml": {}}}})
def get_chart(name: str, session: SessionDep, principal: PrincipalDep,
              date_from: From = None, date_to: To = None,
              format: Annotated[str, Query(description="png or svg")] = "svg",
              measure: Annotated[list[Measure] | None, Query(
                  description="measures to draw (states_ranked: one)")] = None) -> Response:
    body, media = stats_service.get_chart(session, actor=principal, name=name, fmt=format,
                                          measures=measure or [], date_from=date_from,
                                          date_to=date_to)
    return Response(body, media_type=media)
