"""Suspected geometry probing over HTTP: which accounts went over the limit, where and when.

The counting itself happens in the search and matching use cases (`logistics.probes.service`);
this route only shows administrators the episodes, beside the `probe.suspected` audit rows.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PageDep, PrincipalDep, SessionDep
from logistics.probes import service as probe_service
from logistics.probes.models import ProbeSuspicionPublic

router = APIRouter(prefix="/v1", tags=["probing"])


@router.get("/probes", response_model=list[ProbeSuspicionPublic])
def list_probes(session: SessionDep, principal: PrincipalDep, page: PageDep) -> object:
    return probe_service.list_suspicions(session, actor=principal, limit=page.limit,
                                         offset=page.offset)
