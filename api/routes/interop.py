"""Interoperability over HTTP: Open Referral HSDS import and export, and the HIC-style CSV.

`POST /v1/interop/hsds/services` (admins) imports HSDS 3.0 services all or nothing;
`GET /v1/interop/hsds/services` pages the registry out as HSDS, in the HSDA list envelope;
`GET /v1/exports/hic.csv` is the suppressed inventory CSV. See docs/interop.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from api.deps import PrincipalDep, ServicesDep, SessionDep
from logistics.interop import service as interop_service
from logistics.interop.service import ImportReport

router = APIRouter(prefix="/v1", tags=["interoperability"])

HsdsDocument = Annotated[
    dict[str, Any] | list[Any],
    Body(description="an HSDS 3.0 service, a list of services, or an HSDA page (`contents`)"),
]


@router.post("/interop/hsds/services", response_model=ImportReport)
def import_hsds(document: HsdsDocument, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep,
                dry_run: Annotated[bool, Query(description="validate only")] = False) -> object:
    return interop_service.import_hsds(session, actor=principal, cipher=services.cipher,
                                       document=document, dry_run=dry_run)


@router.get("/interop/hsds/services")
def export_hsds(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                per_page: Annotated[int, Query(ge=1, le=100)] = 50) -> dict[str, Any]:
    return interop_service.export_hsds(session, actor=principal, cipher=services.cipher,
                                       page=page, per_page=per_page)


@router.get("/exports/hic.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}}})
def export_hic(session: SessionDep, principal: PrincipalDep) -> Response:
    text = interop_service.export_hic_csv(session, actor=principal)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="hic.csv"'})
