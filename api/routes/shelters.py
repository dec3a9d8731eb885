"""The shelter and bed registry over HTTP: shelters, bed counts, admit/discharge, holds."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import (
    BearerDep,
    IdempotencyKey,
    IfMatchDep,
    PageDep,
    PrincipalDep,
    ServicesDep,
    SessionDep,
    authenticate_request,
    etag,
    parse_near,
    request_digest,
)
from core.errors import InvalidInput
from core.languages import normalise_language
from core.types import StrictInt
from logistics.beds import holds as hold_service
from logistics.beds import inventory as bed_service
from logistics.beds import surge as surge_service
from logistics.beds import unmet
from logistics.beds.holds import HoldLimits
from logistics.beds.models import (
    BedCountPublic,
    BedCountUpdate,
    BedMove,
    HoldCreate,
    HoldPublic,
    SurgeCreate,
    SurgePublic,
    UnmetNeedPublic,
)
from logistics.beds.search import (
    MAX_RADIUS_KM,
    SearchPage,
    SearchQuery,
    list_unmet_need,
    search_shelters,
)
from logistics.probes import service as probe_service
from logistics.probes.rules import Probe
from logistics.shelters import service
from logistics.shelters.models import ShelterCreate, ShelterPublic
from logistics.vocabulary import BedType, Population

router = APIRouter(prefix="/v1", tags=["shelters"])

class StaffAssign(BaseModel):
    account_id: StrictInt = Field(ge=1)


@router.get("/shelters", response_model=SearchPage)
def search(
    session: SessionDep, principal: PrincipalDep, services: ServicesDep,
    near: Annotated[str, Query(description="lat,lon of the search centre")],
    radius_km: Annotated[float, Query(gt=0, le=MAX_RADIUS_KM)] = 50,
    population: Population | None = None,
    bed_type: BedType | None = None,
    min_available: Annotated[int, Query(ge=0, le=1000)] = 1,
    language: Annotated[str | None, Query(max_length=12)] = None,
    accessible: bool | None = None,
    pets: bool | None = None,
    open_now: bool = False,
    state: Annotated[str | None, Query(pattern="^[A-Z]{2}$")] = None,
    call_ref: Annotated[str | None, Query(
        pattern="^[A-Za-z0-9_-]{1,64}$",
        description="anonymous reference of the call (the hotline's call id), so searches "
                    "for different callers count as different unmet needs; never stored")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> object:
    lat, lon = parse_near(near)
    if language is not None:
        try:
            language = normalise_language(language)
        except ValueError as exc:
            raise InvalidInput("language", str(exc)) from exc

    def record(entry: dict[str, Any]) -> None:
        with services.db.write_session() as ledger:
            unmet.record(ledger.connection(), entry)
            ledger.commit()

    def count_probes(probes: list[Probe]) -> None:
        # Hand back the connection authentication used before the count takes one of its
        # own: requests each holding one while waiting for a second could drain the pool.
        session.close()
        probe_service.guard(services.db, actor=principal, cipher=services.cipher, probes=probes,
                            limits=services.probe_limits, source="search",
                            purpose="shelter search")

    query = SearchQuery(lat=lat, lon=lon, radius_km=radius_km, population=population,
                        bed_type=bed_type, min_available=min_available, language=language,
                        accessible=accessible, pets=pets, open_now=open_now, state=state,
                        call_ref=call_ref, limit=limit, offset=offset)
    return search_shelters(session, actor=principal, cipher=services.cipher, query=query,
                           record_unmet=record, check_probes=count_probes)


@router.get("/unmet-need", response_model=list[UnmetNeedPublic])
def unmet_need(session: SessionDep, principal: PrincipalDep, page: PageDep) -> object:
    return list_unmet_need(session, actor=principal, limit=page.limit, offset=page.offset)


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


@router.post("/shelters/{shelter_id}/beds/{bed_type}/surge", response_model=SurgePublic,
             status_code=201)
def open_surge(shelter_id: int, bed_type: BedType, body: SurgeCreate, session: SessionDep,
               principal: PrincipalDep) -> object:
    return surge_service.open_surge(session, actor=principal, shelter_id=shelter_id,
                                    bed_type=bed_type, data=body)


@router.get("/shelters/{shelter_id}/surge", response_model=list[SurgePublic])
def list_surge(shelter_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return surge_service.list_surge(session, actor=principal, shelter_id=shelter_id)


@router.delete("/surge/{window_id}", response_model=SurgePublic)
def end_surge(window_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return surge_service.end_surge(session, actor=principal, window_id=window_id)


@router.post("/shelters/{shelter_id}/holds", response_model=HoldPublic, status_code=201)
async def place_hold(shelter_id: int, body: HoldCreate, request: Request, session: SessionDep,
                     services: ServicesDep, secret: BearerDep,
                     idempotency_key: IdempotencyKey = None) -> Response:
    # The busiest write authenticates and holds in one worker thread, one thread-pool hop
    # per request instead of two (a fifth of its cost under load), and the model serialises
    # itself (the JSON FastAPI would produce) instead of being dumped, validated again and
    # dumped once more on the event loop.
    def hold() -> Response:
        principal = authenticate_request(request, services, session, secret)
        digest = request_digest(body, shelter_id=shelter_id) if idempotency_key else ""
        placed, _replayed = hold_service.place_hold(
            session, actor=principal, shelter_id=shelter_id, data=body,
            limits=HoldLimits(max_active_per_account=services.settings.max_active_holds),
            idempotency_key=idempotency_key, request_hash=digest)
        return Response(placed.model_dump_json(), status_code=201, media_type="application/json")

    return await run_in_threadpool(hold)


@router.get("/shelters/{shelter_id}/holds", response_model=list[HoldPublic])
def list_holds(shelter_id: int, session: SessionDep, principal: PrincipalDep,
               page: PageDep) -> object:
    return hold_service.list_shelter_holds(session, actor=principal, shelter_id=shelter_id,
                                          limit=page.limit, offset=page.offset)


@router.get("/holds/{hold_id}", response_model=HoldPublic)
def get_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return hold_service.get_hold(session, actor=principal, hold_id=hold_id)


@router.post("/holds/{hold_id}/confirm", response_model=HoldPublic)
def confirm_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return hold_service.close_hold(session, actor=principal, hold_id=hold_id, confirm=True)


@router.delete("/holds/{hold_id}", response_model=HoldPublic)
def release_hold(hold_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return hold_service.close_hold(session, actor=principal, hold_id=hold_id, confirm=False)
