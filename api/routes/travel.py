"""Travel home over HTTP: feeds, itinerary search, travel plans with check-ins and their safety
alerts, budget allocation.
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
from logistics.travel import alerts as alert_service
from logistics.travel import budget as budget_service
from logistics.travel import feeds as transport_service
from logistics.travel import plans as travel_plan_service
from logistics.travel import search as transport_search
from logistics.travel.alert_models import AlertAcknowledge, AlertPublic
from logistics.travel.budget_models import (
    AllocationCommitRequest,
    AllocationCommitResult,
    AllocationPublic,
    AllocationRequest,
    FundingSourceCreate,
    FundingSourcePublic,
    FundingSourceUpdate,
)
from logistics.travel.feed_models import FeedPublic, ItinerarySearchRequest, ItinerarySearchResult
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


@router.post("/itineraries/search", response_model=ItinerarySearchResult)
def search_itineraries(body: ItinerarySearchRequest, session: SessionDep, principal: PrincipalDep,
                       services: ServicesDep) -> object:
    result = transport_search.search(session, actor=principal, body=body,
                                     ids=services.itinerary_ids, timetables=services.timetables)
    return result.model_dump(mode="json", by_alias=True)


@router.post("/travel-plans", response_model=PlanCreated, status_code=201,
             response_model_by_alias=True)
def create_plan(body: TravelPlanCreate, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep,
                idempotency_key: IdempotencyKey = None) -> object:
    return travel_plan_service.create_plan(
        session, actor=principal, cipher=services.cipher, ids=services.itinerary_ids,
        timetables=services.timetables, data=body, idempotency_key=idempotency_key,
        request_hash=request_digest(body),
    ).model_dump(mode="json", by_alias=True)


@router.get("/travel-plans/overdue-check-ins", response_model=list[OverdueCheckIn])
def overdue(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
            page: PageDep) -> object:
    return travel_plan_service.overdue_check_ins(session, actor=principal,
                                                 cipher=services.cipher, limit=page.limit,
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


@router.post("/travel/allocate", response_model=AllocationPublic, status_code=201)
def allocate(body: AllocationRequest, session: SessionDep, principal: PrincipalDep,
             services: ServicesDep) -> object:
    s = services.settings
    config = budget_service.AllocationConfig(
        time_limit_s=s.travel_allocation_time_limit_s, memory_mb=s.solver_memory_mb,
        max_concurrent=s.solver_max_concurrent,
        inline_max_pairs=s.travel_allocation_inline_max_pairs)
    return budget_service.allocate_budget(session, actor=principal, cipher=services.cipher,
                                          body=body, config=config, pool=services.solver_pool)


@router.get("/travel/allocations/{allocation_id}", response_model=AllocationPublic)
def get_allocation(allocation_id: int, session: SessionDep, principal: PrincipalDep,
                   services: ServicesDep) -> object:
    return budget_service.get_allocation(session, actor=principal, cipher=services.cipher,
                                         allocation_id=allocation_id)


@router.post("/travel/allocations/{allocation_id}/commit",
             response_model=AllocationCommitResult)
def commit_allocation(allocation_id: int, session: SessionDep, principal: PrincipalDep,
                      services: ServicesDep, body: AllocationCommitRequest | None = None) -> object:
    return budget_service.commit_allocation(
        session, actor=principal, cipher=services.cipher, allocation_id=allocation_id,
        request=body, ids=services.itinerary_ids, timetables=services.timetables)


@router.get("/funding-sources", response_model=list[FundingSourcePublic])
def list_funding_sources(session: SessionDep, principal: PrincipalDep,
                         active: Annotated[bool | None, Query()] = None) -> object:
    return budget_service.list_sources(session, actor=principal, active=active)


@router.post("/funding-sources", response_model=FundingSourcePublic, status_code=201)
def create_funding_source(body: FundingSourceCreate, session: SessionDep,
                          principal: PrincipalDep) -> object:
    return budget_service.create_source(session, actor=principal, data=body)


@router.patch("/funding-sources/{source_id}", response_model=FundingSourcePublic)
def update_funding_source(source_id: int, body: FundingSourceUpdate, session: SessionDep,
                          principal: PrincipalDep) -> object:
    return budget_service.update_source(session, actor=principal, source_id=source_id,
                                        data=body)


@router.get("/alerts", response_model=list[AlertPublic])
def list_alerts(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                page: PageDep, case_id: Annotated[int | None, Query(ge=1)] = None,
                open: Annotated[bool | None, Query()] = None) -> object:
    return alert_service.list_alerts(session, actor=principal, cipher=services.cipher,
                                     case_id=case_id, open_only=open, limit=page.limit,
                                     offset=page.offset)


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertPublic)
def acknowledge_alert(alert_id: int, body: AlertAcknowledge, session: SessionDep,
                      principal: PrincipalDep, services: ServicesDep) -> object:
    return alert_service.acknowledge(session, actor=principal, cipher=services.cipher,
                                     alert_id=alert_id, data=body)
