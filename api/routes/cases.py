"""Cases over HTTP: open, read, list, update (with If-Match) and close a survivor's case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from api.deps import IfMatchDep, PageDep, PrincipalDep, ServicesDep, SessionDep, etag
from logistics.cases import purge as case_purge
from logistics.cases import service as case_service
from logistics.cases.models import CaseCreate, CasePublic, CaseStatus, CaseUpdate

router = APIRouter(prefix="/v1", tags=["cases"])


def _versioned(response: Response, version: int) -> None:
    response.headers["ETag"] = etag(version)


@router.post("/cases", response_model=CasePublic, status_code=201)
def create_case(body: CaseCreate, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep, response: Response) -> object:
    case = case_service.create_case(session, actor=principal, cipher=services.cipher, data=body)
    _versioned(response, case.version)
    return case


@router.get("/cases", response_model=list[CasePublic])
def list_cases(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
               page: PageDep,
               status: Annotated[CaseStatus | None, Query()] = None) -> object:
    return case_service.list_cases(session, actor=principal, cipher=services.cipher,
                                   status=status, limit=page.limit, offset=page.offset)


@router.get("/cases/{case_id}", response_model=CasePublic)
def get_case(case_id: int, session: SessionDep, principal: PrincipalDep, services: ServicesDep,
             response: Response) -> object:
    case = case_service.get_case(session, actor=principal, cipher=services.cipher,
                                 case_id=case_id)
    _versioned(response, case.version)
    return case


@router.patch("/cases/{case_id}", response_model=CasePublic)
def update_case(case_id: int, body: CaseUpdate, version: IfMatchDep, session: SessionDep,
                principal: PrincipalDep, services: ServicesDep, response: Response) -> object:
    case = case_service.update_case(session, actor=principal, cipher=services.cipher,
                                    case_id=case_id, expected_version=version, data=body)
    _versioned(response, case.version)
    return case


@router.post("/cases/{case_id}/close", response_model=CasePublic)
def close_case(case_id: int, session: SessionDep, principal: PrincipalDep,
               services: ServicesDep, response: Response) -> object:
    case = case_service.close_case(session, actor=principal, cipher=services.cipher,
                                   case_id=case_id)
    _versioned(response, case.version)
    return case


class PurgeReportPublic(BaseModel):
    case_id: int
    removed: dict[str, int]


@router.post("/cases/{case_id}/purge", response_model=PurgeReportPublic)
def purge(case_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    """Remove the case and all its personal data on the survivor's request (irreversible)."""
    report = case_purge.purge_case(session, actor=principal, case_id=case_id)
    return PurgeReportPublic(case_id=report.case_id, removed=report.removed)
