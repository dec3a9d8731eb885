"""Safety plans over HTTP: screenings, plans, renderings, step edits, revisions, proposals.

Plan responses carry the plan's version as an ETag and `Cache-Control: no-store`; every edit
needs `If-Match` with that version. Creating a plan passes the request's base URL, from which
the way-home step links to the case's travel plans (`/v1/travel-plans?case_id=`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from api.deps import IfMatchDep, PageDep, PrincipalDep, ServicesDep, SessionDep, etag
from api.plan_response import plan_response
from safety_plans import proposals as service_proposals
from safety_plans import screenings as service_screenings
from safety_plans import sending, service
from safety_plans.models import (
    InputsUpdate,
    PlanSmsQueued,
    ProposalApply,
    ProposalCreate,
    ProposalPublic,
    RevisionPublic,
    RevisionSnapshot,
    SafetyPlanCreate,
    SafetyPlanPublic,
    SafetyPlanSummary,
    ScreeningCreate,
    ScreeningDetail,
    ScreeningPublic,
    StepAdd,
    StepEdit,
)
from safety_plans.render import DEFAULT_SMS_SEGMENTS, MAX_SMS_SEGMENTS

router = APIRouter(prefix="/v1", tags=["safety plans"])

StepId = Annotated[str, Path(max_length=120, pattern=r"^[a-z0-9_.\-]+$")]
Language = Annotated[str | None, Query(max_length=35, description="default: the plan's")]
Fallback = Annotated[bool, Query(description="fall back to English for an unknown language")]
Discreet = Annotated[bool, Query(
    description="innocuous title and cover, neutral wording throughout (no hotline, shelter or "
                "trafficking words, no shelter names, no code word)")]
MaxSegments = Annotated[int, Query(ge=1, le=MAX_SMS_SEGMENTS,
                                   description="sms only: the most segments to send")]


def _plan(response: Response, plan: SafetyPlanPublic) -> SafetyPlanPublic:
    response.headers["ETag"] = etag(plan.version)
    return plan


@router.post("/cases/{case_id}/screenings", response_model=ScreeningPublic, status_code=201)
def create_screening(case_id: int, body: ScreeningCreate, session: SessionDep,
                     principal: PrincipalDep, services: ServicesDep) -> object:
    return service_screenings.record_screening(
        session, actor=principal, cipher=services.cipher, case_id=case_id, answers=body.answers)


@router.get("/cases/{case_id}/screenings", response_model=list[ScreeningPublic])
def list_screenings(case_id: int, session: SessionDep, principal: PrincipalDep,
                    services: ServicesDep, page: PageDep) -> object:
    return service_screenings.list_case_screenings(
        session, actor=principal, cipher=services.cipher, case_id=case_id, limit=page.limit,
        offset=page.offset)


@router.get("/screenings/{screening_id}", response_model=ScreeningDetail)
def get_screening(screening_id: int, session: SessionDep, principal: PrincipalDep,
                  services: ServicesDep) -> object:
    return service_screenings.get_screening(session, actor=principal, cipher=services.cipher,
                                            screening_id=screening_id)


@router.post("/safety-plans", response_model=SafetyPlanPublic, status_code=201)
def create_plan(body: SafetyPlanCreate, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep, request: Request, response: Response) -> object:
    return _plan(response, service.create_plan(
        session, actor=principal, cipher=services.cipher, data=body,
        base_url=str(request.base_url)))


@router.get("/cases/{case_id}/safety-plans", response_model=list[SafetyPlanSummary])
def list_case_plans(case_id: int, session: SessionDep, principal: PrincipalDep,
                    page: PageDep) -> object:
    return service.list_case_plans(session, actor=principal, case_id=case_id,
                                   limit=page.limit, offset=page.offset)


@router.get("/safety-plans/{plan_id}", response_model=SafetyPlanPublic)
def get_plan(plan_id: int, session: SessionDep, principal: PrincipalDep, services: ServicesDep,
             response: Response, language: Language = None, discreet: Discreet = False,
             allow_language_fallback: Fallback = False) -> object:
    return _plan(response, service.get_plan(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id, language=language,
        discreet=discreet, allow_language_fallback=allow_language_fallback))


@router.get("/safety-plans/{plan_id}/render", response_class=Response,
            responses={200: {"content": {"text/html": {}, "application/pdf": {},
                                         "text/plain": {}, "application/json": {}}}})
def render_plan(plan_id: int, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep,
                format: Annotated[str, Query(max_length=8, description="html, pdf, txt or sms")],
                language: Language = None, discreet: Discreet = False,
                allow_language_fallback: Fallback = False,
                max_segments: MaxSegments = DEFAULT_SMS_SEGMENTS) -> Response:
    rendered = service.render_plan(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id, fmt=format,
        language=language, discreet=discreet, allow_language_fallback=allow_language_fallback,
        max_segments=max_segments)
    # The same headers as the web page's render (CSP, nosniff, no-store): issue 17.
    return plan_response(rendered.body, rendered.media_type, plan_id=plan_id, fmt=format,
                         discreet=discreet)


@router.post("/safety-plans/{plan_id}/send-sms", response_model=PlanSmsQueued,
             status_code=202)
def send_plan_sms(plan_id: int, session: SessionDep, principal: PrincipalDep,
                  services: ServicesDep, language: Language = None,
                  max_segments: MaxSegments = DEFAULT_SMS_SEGMENTS) -> object:
    """Queue the plan as SMS to the survivor's number marked safe (issue 21); the messages'
    delivery shows in GET /v1/messages."""
    return sending.send_plan_sms(session, actor=principal, cipher=services.cipher,
                                 plan_id=plan_id, language=language, max_segments=max_segments)


@router.patch("/safety-plans/{plan_id}/steps/{step_id}", response_model=SafetyPlanPublic)
def edit_step(plan_id: int, step_id: StepId, body: StepEdit, version: IfMatchDep,
              session: SessionDep, principal: PrincipalDep, services: ServicesDep,
              response: Response) -> object:
    return _plan(response, service.edit_step(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        expected_version=version, step_id=step_id, data=body))


@router.post("/safety-plans/{plan_id}/steps", response_model=SafetyPlanPublic, status_code=201)
def add_step(plan_id: int, body: StepAdd, version: IfMatchDep, session: SessionDep,
             principal: PrincipalDep, services: ServicesDep, response: Response) -> object:
    return _plan(response, service.add_step(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        expected_version=version, data=body))


@router.delete("/safety-plans/{plan_id}/steps/{step_id}", response_model=SafetyPlanPublic)
def remove_step(plan_id: int, step_id: StepId, version: IfMatchDep, session: SessionDep,
                principal: PrincipalDep, services: ServicesDep, response: Response) -> object:
    return _plan(response, service.remove_step(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        expected_version=version, step_id=step_id))


@router.get("/safety-plans/{plan_id}/revisions", response_model=list[RevisionPublic])
def list_revisions(plan_id: int, session: SessionDep, principal: PrincipalDep,
                   services: ServicesDep, page: PageDep) -> object:
    return service.list_revisions(session, actor=principal, cipher=services.cipher,
                                  plan_id=plan_id, limit=page.limit, offset=page.offset)


@router.get("/safety-plans/{plan_id}/revisions/{revision}", response_model=RevisionSnapshot)
def get_revision(plan_id: int, revision: int, session: SessionDep, principal: PrincipalDep,
                 services: ServicesDep, language: Language = None,
                 allow_language_fallback: Fallback = False) -> object:
    return service.get_revision(session, actor=principal, cipher=services.cipher,
                                plan_id=plan_id, revision=revision, language=language,
                                allow_language_fallback=allow_language_fallback)


@router.post("/safety-plans/{plan_id}/inputs", response_model=ProposalPublic, status_code=201)
def propose_inputs(plan_id: int, body: InputsUpdate, session: SessionDep,
                   principal: PrincipalDep, services: ServicesDep) -> object:
    return service_proposals.propose_inputs(session, actor=principal, cipher=services.cipher,
                                            plan_id=plan_id, data=body)


@router.post("/safety-plans/{plan_id}/proposals", response_model=ProposalPublic,
             status_code=201)
def propose(plan_id: int, body: ProposalCreate, session: SessionDep, principal: PrincipalDep,
            services: ServicesDep) -> object:
    return service_proposals.propose(session, actor=principal, cipher=services.cipher,
                                     plan_id=plan_id, screening_id=body.screening_id)


@router.get("/safety-plans/{plan_id}/proposals/{proposal_id}", response_model=ProposalPublic)
def get_proposal(plan_id: int, proposal_id: int, session: SessionDep, principal: PrincipalDep,
                 services: ServicesDep) -> object:
    return service_proposals.get_proposal(session, actor=principal, cipher=services.cipher,
                                          plan_id=plan_id, proposal_id=proposal_id)


@router.post("/safety-plans/{plan_id}/proposals/{proposal_id}/apply",
             response_model=SafetyPlanPublic)
def apply_proposal(plan_id: int, proposal_id: int, body: ProposalApply, version: IfMatchDep,
                   session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                   response: Response) -> object:
    return _plan(response, service_proposals.apply_proposal(
        session, actor=principal, cipher=services.cipher, plan_id=plan_id,
        proposal_id=proposal_id, expected_version=version, accept=body.accept,
        accept_header=body.accept_header))
