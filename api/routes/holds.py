"""The caller's own holds and an agency's mass-rescue hold budget over HTTP.

`GET /v1/holds?mine=true` lists the calling account's active holds; `GET/PUT
/v1/agencies/{id}/mass-rescue-budget` read (the agency's members, admins) and set (admins)
how many batch holds the agency's mass rescues may keep at once (`logistics.beds.batch_holds`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PageDep, PrincipalDep, SessionDep
from core.errors import InvalidInput
from logistics.beds import batch_holds
from logistics.beds import holds as hold_service
from logistics.beds.models import HoldPublic, MassRescueBudgetPublic, MassRescueBudgetUpdate

router = APIRouter(prefix="/v1", tags=["holds"])


@router.get("/holds", response_model=list[HoldPublic])
def list_my_holds(session: SessionDep, principal: PrincipalDep, page: PageDep,
                  mine: Annotated[bool, Query()] = False) -> object:
    # Only the caller's own list exists for now: an agency-wide or shelter-wide list has its
    # own route or none, so anything else is refused rather than guessed.
    if not mine:
        raise InvalidInput("mine", "only mine=true is supported: the caller's active holds")
    return hold_service.list_my_holds(session, actor=principal, limit=page.limit,
                                      offset=page.offset)


@router.get("/agencies/{agency_id}/mass-rescue-budget", response_model=MassRescueBudgetPublic)
def get_budget(agency_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return batch_holds.get_budget(session, actor=principal, agency_id=agency_id)


@router.put("/agencies/{agency_id}/mass-rescue-budget", response_model=MassRescueBudgetPublic)
def set_budget(agency_id: int, body: MassRescueBudgetUpdate, session: SessionDep,
               principal: PrincipalDep) -> object:
    return batch_holds.set_budget(session, actor=principal, agency_id=agency_id, data=body)
