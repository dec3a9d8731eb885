"""Return plans over HTTP (issue 22): optimise many cases' way home at once, read, accept;
re-plan when a feed or the registry disrupts accepted plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.config import Settings
from api.deps import (
    IdempotencyKey,
    PageDep,
    PrincipalDep,
    ServicesDep,
    SessionDep,
    request_digest,
)
from core.errors import InvalidInput
from logistics.return_plans import acceptance, disruptions, restore, service
from logistics.return_plans.disruption_models import DisruptionDecisionResult, DisruptionPublic
from logistics.return_plans.models import (
    ReplanRequest,
    ReplanResult,
    ReturnPlanAcceptRequest,
    ReturnPlanAcceptResult,
    ReturnPlanOptimiseRequest,
    ReturnPlanPublic,
)

router = APIRouter(prefix="/v1", tags=["return plans"])


def plan_config(settings: Settings, body: ReturnPlanOptimiseRequest) -> service.PlanConfig:
    """The operator's solver limits for a joint solve; a time limit over the cap is refused
    (shared with the web page, `api.web.return_plans`)."""
    if body.options.time_limit_s > settings.solver_time_limit_cap_s:
        raise InvalidInput("options.time_limit_s",
                           f"at most {settings.solver_time_limit_cap_s:g} seconds")
    return service.PlanConfig(memory_mb=settings.solver_memory_mb,
                              workers=settings.solver_workers,
                              max_concurrent=settings.solver_max_concurrent)


@router.post("/return-plans/optimise", response_model=ReturnPlanPublic, status_code=201)
def optimise(body: ReturnPlanOptimiseRequest, session: SessionDep, principal: PrincipalDep,
             services: ServicesDep) -> object:
    config = plan_config(services.settings, body)
    return service.optimise(session, actor=principal, cipher=services.cipher,
                            ids=services.itinerary_ids, timetables=services.timetables,
                            pool=services.solver_pool, config=config, body=body,
                            db=services.db, probe_limits=services.probe_limits)


@router.post("/return-plans/realtime", response_model=ReplanResult)
def replan(body: ReplanRequest, session: SessionDep, principal: PrincipalDep,
           services: ServicesDep) -> object:
    return restore.replan_request(session, actor=principal, cipher=services.cipher,
                                  ids=services.itinerary_ids, timetables=services.timetables,
                                  body=body).model_dump(mode="json", by_alias=True)


@router.get("/return-plans/disruptions", response_model=list[DisruptionPublic])
def list_disruptions(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                     page: PageDep, case_id: Annotated[int | None, Query(ge=1)] = None,
                     open: Annotated[bool, Query()] = False) -> object:
    return disruptions.list_disruptions(session, actor=principal, cipher=services.cipher,
                                        case_id=case_id, open_only=open, limit=page.limit,
                                        offset=page.offset)


@router.get("/return-plans/disruptions/{disruption_id}", response_model=DisruptionPublic)
def get_disruption(disruption_id: int, session: SessionDep, principal: PrincipalDep,
                   services: ServicesDep) -> object:
    return disruptions.get(session, actor=principal, cipher=services.cipher,
                           disruption_id=disruption_id)


@router.post("/return-plans/disruptions/{disruption_id}/proposals",
             response_model=DisruptionPublic)
def propose(disruption_id: int, session: SessionDep, principal: PrincipalDep,
            services: ServicesDep) -> object:
    return restore.refresh(session, actor=principal, cipher=services.cipher,
                           ids=services.itinerary_ids, timetables=services.timetables,
                           disruption_id=disruption_id).model_dump(mode="json", by_alias=True)


@router.post("/return-plans/disruptions/{disruption_id}/proposals/{proposal_id}/accept",
             response_model=DisruptionDecisionResult)
def accept_proposal(disruption_id: int, proposal_id: int, session: SessionDep,
                    principal: PrincipalDep, services: ServicesDep) -> object:
    return restore.accept(session, actor=principal, cipher=services.cipher,
                          ids=services.itinerary_ids, timetables=services.timetables,
                          disruption_id=disruption_id,
                          proposal_id=proposal_id).model_dump(mode="json", by_alias=True)


@router.post("/return-plans/disruptions/{disruption_id}/reject",
             response_model=DisruptionPublic)
def reject(disruption_id: int, session: SessionDep, principal: PrincipalDep,
           services: ServicesDep) -> object:
    return disruptions.reject(session, actor=principal, cipher=services.cipher,
                              disruption_id=disruption_id)


@router.get("/return-plans/{plan_id}", response_model=ReturnPlanPublic)
def get_plan(plan_id: int, session: SessionDep, principal: PrincipalDep,
             services: ServicesDep) -> object:
    return service.get(session, actor=principal, cipher=services.cipher, plan_id=plan_id)


@router.post("/return-plans/{plan_id}/accept", response_model=ReturnPlanAcceptResult)
def accept(plan_id: int, body: ReturnPlanAcceptRequest, session: SessionDep,
           principal: PrincipalDep, services: ServicesDep,
           idempotency_key: IdempotencyKey = None) -> object:
    return acceptance.accept(session, actor=principal, cipher=services.cipher,
                          ids=services.itinerary_ids, timetables=services.timetables,
                          plan_id=plan_id, body=body, idempotency_key=idempotency_key,
                          request_hash=request_digest(body))
