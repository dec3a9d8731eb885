"""The shelter and bed registry over HTTP: shelters, bed counts, admit/discharge, holds."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, Field

from api.deps import IfMatchDep, PageDep, PrincipalDep, ServicesDep, SessionDep, etag
from logistics import bed_service, service
from logistics.bed_models import BedCountPublic, BedCountUpdate, BedMove, HoldCreate, HoldPublic
from logistics.bed_service import HoldLimits
from logistics.models import ShelterCreate, ShelterPublic
from logistics.vocabulary import BedType

router = APIRouter(prefix="/v1", tags=["shelters"])

IdempotencyKey = Annotated[str | None, Header(
    max_length=128, pattern=r"^[\x21-\x7e]+$",
    description="repeat a request safely: the same key and body give the same response")]


class StaffAssign(BaseModel):
    account_id: int = Field(ge=1)


@router.post("/shelters", response_model=ShelterPublic, status_code=201)
def create_shelter(body: ShelterCreate, session: SessionDep, principal: PrincipalDep,
                   services: ServicesDep) -> object:
    return service.create_shelter(session, actor=principal, cipher=services.cipher, data=body)


@router.get("/shelters/{shelter_id}", response_model=ShelterPublic)
def get_shelter(shelter_id: int, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep) -> object:
    return service.get_shelter(session, actor=principal, cipher=services.cipher,
                               shelter_id=shelter_id)


@router.post("/shelters/{shelter_id}/staff", status_code=204)
def assign_staff(shelter_id: int, body: StaffAssign, session: SessionDep,
                 principal: PrincipalDep) -> Response:
    service.assign_staff(session, actor=principal, shelter_id=shelter_id,
                         account_id=body.account_id)
    return Response(status_code=204)


@router.get("/shelters/{shelter_id}/beds", response_model=list[BedCountPublic])
def list_beds(shelter_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return bed_service.list_beds(session, actor=principal, shelter_id=shelter_id)


@router.get("/shelters/{shelter_id}/beds/{bed_type}", response_model=BedCountPublic)
def get_beds(shelter_id: int, bed_type: BedType, session: SessionDep, principal: PrincipalDep,
             response: Response) -> object:
    count = bed_service.get_bed_count(session, actor=principal, shelter_id=shelter_id,
                                      bed_type=bed_type)
    response.headers["ETag"] = etag(count.version)
    return count


@router.put("/shelters/{shelter_id}/beds/{bed_type}", response_model=BedCountPublic)
def set_beds(shelter_id: int, bed_type: BedType, body: BedCountUpdate, version: IfMatchDep,
             session: SessionDep, principal: PrincipalDep, response: Response) -> object:
    count = bed_service.set_counts(session, actor=principal, shelter_id=shelter_id,
                                   bed_type=bed_type, expected_version=version, data=body)
    response.headers["ETag"] = etag(count.version)
    return count


@router.post("/shelters/{shelter_id}/beds/{bed_type}/admit", response_model=BedCountPublic)
def admit(shelter_id: int, bed_type: BedType, body: BedMove, session: SessionDep,
          principal: PrincipalDep) -> object:
    return bed_service.move_beds(session, actor=principal, shelter_id=shelter_id,
                                 bed_type=bed_type, beds=body.beds, admit=True)


@router.post("/shelters/{shelter_id}/beds/{bed_type}/discharge", response_model=BedCountPublic)
def discharge(shelter_id: int, bed_type: BedType, body: BedMove, session: SessionDep,
              principal: PrincipalDep) -> object:
    return bed_service.move_beds(session, actor=principal, shelter_id=shelter_id,
                                 bed_type=bed_type, beds=body.beds, admit=False)


@router.post("/shelters/{shelter_id}/beds/{bed_type}/verify", response_model=BedCountPublic)
def verify(shelter_id: int, bed_type: BedType, session: SessionDep,
           principal: PrincipalDep) -> object:
    return bed_service.verify_counts(session, actor=principal, shelter_id=shelter_id,
                                     bed_type=bed_type)


@router.post("/shelters/{shelter_id}/holds", response_model=HoldPublic, status_code=201)
def place_hold(shelter_id: int, body: HoldCreate, session: SessionDep, principal: PrincipalDep,
               services: ServicesDep, idempotency_key: IdempotencyKey = None) -> object:
    digest = hashlib.sha256(json.dumps(
        {"shelter_id": shelter_id, **body.model_dump(mode="json")}, sort_keys=True
    ).encode()).hexdigest()
    hold, _replayed = bed_service.place_hold(
        session, actor=principal, shelter_id=shelter_id, data=body,
        limits=HoldLimits(max_active_per_account=services.settings.max_active_holds),
        idempotency_key=idempotency_key, request_hash=digest)
    return hold


@router.get("/shelters/{shelter_id}/holds", response_model=list[HoldPublic])
def list_holds(shelter_id: int, session: SessionDep, principal: PrincipalDep,
               page: PageDep) -> object:
    return bed_service.list_shelter_holds(session, actor=principal, shelter_id=shelter_id,
                                          limit=page.limit, offset=page.offset)


@router.get("/holds/{hold_id}", response_model=HoldPublic)
def get_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return bed_service.get_hold(session, actor=principal, hold_id=hold_id)


@router.post("/holds/{hold_id}/confirm", response_model=HoldPublic)
def confirm_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return bed_service.close_hold(session, actor=principal, hold_id=hold_id, confirm=True)


@router.delete("/holds/{hold_id}", response_model=HoldPublic)
def release_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return bed_service.close_hold(session, actor=principal, hold_id=hold_id, confirm=False)
