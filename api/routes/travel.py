"""Travel home over HTTP: feeds, itinerary search, travel plans with check-ins, budget allocation.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import (
    IdempotencyKey,
    PageDep,
    PrincipalDep,
    ServicesDep,
    SessionDep,
    request_digest,
)
from logistics.travel import feeds as transport_service
from logistics.travel import plans as travel_plan_service
from logistics.travel import search as transport_search
from logistics.travel.budget import AllocateIn, AllocationOut, allocate_budget
from logistics.travel.feed_models import FeedPublic, ItinerarySearch, SearchOut
from logistics.travel.plan_models import (
    CheckInRecord,
    OverdueCheckIn,
    PlanCreated,
    PlanPublic,
    PlanTransition,
    TravelPlanCreate,
)

router = APIRouter(prefix="/v1", tags=["travel"])


@router.get("/transport/feeds", response_model=list[FeedPublic])
def list_feeds(session: SessionDep, principal: PrincipalDep) -> object:
    return transport_service.list_feeds(session, actor=principal)


@router.post("/itineraries/search", response_model=SearchOut)
def search_itineraries(body: ItinerarySearch, session: SessionDep,
                       principal: PrincipalDep, services: ServicesDep) -> object:
    result = transport_search.search(session, actor=principal, body=body,
                                     timetables=services.timetables)
    return result.model_dump(mode="json", by_alias=True)


@router.post("/travel-plans", response_model=PlanCreated, status_code=201,
             response_model_by_alias=True)
def create_plan(body: TravelPlanCreate, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep,
                idempotency_key: IdempotencyKey = None) -> object:
    return travel_plan_service.create_plan(
        session, actor=principal, cipher=services.cipher, data=body,
        idempotency_key=idempotency_key, request_hash=request_digest(body),
    ).model_dump(mode="json", by_alias=True)


@router.get("/travel-plans/overdue-check-ins", response_model=list[OverdueCheckIn])
def overdue(session: SessionDep, principal: PrincipalDep, page: PageDep) -> object:
    return travel_plan_service.overdue_check_ins(session, actor=principal, limit=page.limit,
                                                 offset=page.offset)


@router.get("/travel-plans", response_model=list[PlanPublic])
def list_plans(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
               page: PageDep,
               case_id: Annotated[int, Query(ge=1)]) -> object:
    plans = travel_plan_service.list_plans(session, actor=principal, cipher=services.cipher,
                                           case_id=case_id, limit=page.limit,
                                           offset=page.offset)
    return [p.model_dump(mode="json", by_alias=True) for p in plans]


@router.get("/travel-plans/{plan_id}", response_model=PlanPublic)
def get_plan(plan_id: int, session: SessionDep, principal: PrincipalDep,
             services: ServicesDep) -> object:
    return travel_plan_service.get_plan(session, actor=principal, cipher=services.cipher,
                                        plan_id=plan_id).model_dump(mode="json", by_alias=True)


@router.post("/travel-plans/{plan_id}/status", response_model=PlanPublic)
def change_status(plan_id: int, body: PlanTransition, session: SessionDep,
                  principal: PrincipalDep, services: ServicesDep) -> object:
    return travel_plan_service.transition(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        data=body).model_dump(mode="json", by_alias=True)


@router.post("/travel-plans/{plan_id}/check-ins/{check_in_id}", response_model=PlanPublic)
def check_in(plan_id: int, check_in_id: int, body: CheckInRecord, session: SessionDep,
             principal: PrincipalDep, services: ServicesDep) -> object:
    return travel_plan_service.record_check_in(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        check_in_id=check_in_id, data=body).model_dump(mode="json", by_alias=True)


@router.post("/travel/allocate", response_model=AllocationOut)
def allocate(body: AllocateIn, principal: PrincipalDep) -> object:
    return allocate_budget(actor=principal, body=body)
