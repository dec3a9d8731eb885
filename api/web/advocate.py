"""The advocate's pages: cases, the screening form, the generated plan, shelters to hold.

A case page carries the screening form (questions in the page's language, from the safety
plan catalogue) and the nearest fitting shelters with open beds from the matcher, each with
a one-click hold. Screening and plan generation are one submit; the plan page shows each
step's reasons, lets the advocate edit, add and remove steps (with the plan's version, so
two people editing cannot overwrite each other), and links to print, PDF, discreet print and
the SMS text, all rendered by the safety-plan service.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.plan_response import plan_response
from api.web import forms
from api.web.common import (
    IdentityDep,
    PostDep,
    pick_language,
    redirect,
    render,
    require,
)
from core.errors import DomainError
from core.models import Role
from core.web_auth import WebIdentity
from logistics.beds import holds as hold_service
from logistics.beds.holds import HoldLimits
from logistics.beds.models import HoldCreate
from logistics.cases import service as case_service
from logistics.cases.models import CaseCreate
from logistics.matching import service as matching_service
from logistics.matching.models import MatchRequest, MatchResult
from logistics.travel import alerts as alert_service
from logistics.vocabulary import BedType
from safety_plans import i18n as plan_i18n
from safety_plans import languages as plan_languages
from safety_plans import screenings as service_screenings
from safety_plans import service as plans
from safety_plans.models import SafetyPlanCreate, StepAdd, StepEdit
from safety_plans.render import DEFAULT_SMS_SEGMENTS, MAX_SMS_SEGMENTS
from safety_plans.screening import ITEMS, Group, ItemType

router = APIRouter(prefix="/web", include_in_schema=False)
WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER)
GROUPS = {Group.INDICATORS: "Trafficking indicators", Group.DANGER: "Current danger",
          Group.SITUATION: "Situation", Group.NEEDS: "Needs"}
Notice = tuple[str, str, dict[str, object]]


def _question(language: str, key: str) -> str:
    lang = language if language in plan_i18n.available_languages() else "en"
    return plan_i18n.translate(lang, f"question.{key}")


def _error(exc: DomainError) -> Notice:
    return ("error", "{detail}", {"detail": exc.detail})


def _form_error(exc: forms.FormError) -> Notice:
    return ("error", "{detail}", {"detail": "; ".join(f"{f}: {m}" for f, m in exc.errors)})


@router.get("/cases")
def cases(request: Request, services: ServicesDep, session: SessionDep,
          identity: IdentityDep) -> Response:
    return _cases(request, services, session, identity)


def _cases(request: Request, services: Services, session: Session, identity: WebIdentity,
           notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *WORKERS)
    session.rollback()
    found = case_service.list_cases(session, actor=principal, cipher=services.cipher,
                                    status=None, limit=50, offset=0)
    return render(request, services.settings, "cases.html", identity=identity, status=status,
                  cases=found, notice=notice)


@router.post("/cases")
def create_case(request: Request, services: ServicesDep, session: SessionDep,
                identity: PostDep,
                case_ref: Annotated[str, Form(max_length=64)],
                members: Annotated[str, Form(max_length=200)],
                trafficking_type: Annotated[str, Form(max_length=10)] = "sex",
                languages: Annotated[str, Form(max_length=100)] = "en",
                lat: Annotated[str, Form(max_length=30)] = "",
                lon: Annotated[str, Form(max_length=30)] = "",
                city: Annotated[str, Form(max_length=100)] = "",
                state: Annotated[str, Form(max_length=2)] = "",
                has_photo_id: Annotated[str, Form(max_length=5)] = "") -> Response:
    principal = require(identity, *WORKERS)
    try:
        data = CaseCreate.model_validate({
            "case_ref": case_ref.strip(), "household": forms.members(members),
            "trafficking_type": trafficking_type, "languages": forms.words(languages) or ["en"],
            "location": forms.location(lat, lon, city, state),
            "has_photo_id": forms.yes(has_photo_id)})
    except forms.FormError as exc:
        return _cases(request, services, session, identity, _form_error(exc), 422)
    except ValidationError as exc:
        return _cases(request, services, session, identity,
                      _form_error(forms.FormError(forms.validation_errors(exc))), 422)
    try:
        case = case_service.create_case(session, actor=principal, cipher=services.cipher,
                                        data=data)
    except DomainError as exc:
        return _cases(request, services, session, identity, _error(exc),
                      STATUS_BY_KIND[exc.kind])
    return redirect(f"/web/cases/{case.id}")


def _case_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               case_id: int, notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *WORKERS)
    session.rollback()
    case = case_service.get_case(session, actor=principal, cipher=services.cipher,
                                 case_id=case_id)
    # Open safety alerts of the case's travel plans: a banner pointing to each plan's page.
    alerts = alert_service.list_alerts(session, actor=principal, cipher=services.cipher,
                                       case_id=case_id, open_only=True, limit=20)
    case_plans = plans.list_case_plans(session, actor=principal, case_id=case_id, limit=50,
                                       offset=0)
    match: MatchResult | None = None
    match_error = None
    try:
        match = matching_service.match_household(
            services.db, actor=principal, cipher=services.cipher,
            request=MatchRequest(case_id=case_id, limit=5),
            probe_limits=services.probe_limits)
    except DomainError as exc:
        match_error = exc.detail
    language = pick_language(request)
    questions = [(GROUPS[item.group], item, _question(language, item.key)) for item in ITEMS]
    return render(request, services.settings, "case.html", identity=identity, status=status,
                  case=case, plans=case_plans, alerts=alerts, match=match, match_error=match_error,
                  questions=questions, ItemType=ItemType, notice=notice,
                  plan_languages=plan_i18n.available_languages(),
                  language_statuses={s.language: s for s in plan_languages.statuses()})


@router.get("/cases/{case_id}")
def case_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, case_id: int) -> Response:
    try:
        return _case_page(request, services, session, identity, case_id)
    except DomainError as exc:
        return _cases(request, services, session, identity, _error(exc),
                      STATUS_BY_KIND[exc.kind])


def _answers(form: dict[str, str]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for item in ITEMS:
        raw = (form.get(f"q_{item.key}") or "").strip()
        if not raw:
            continue
        if item.type is ItemType.BOOL:
            answers[item.key] = raw == "yes"
        elif item.type is ItemType.INT:
            try:
                answers[item.key] = int(raw)
            except ValueError:
                raise forms.FormError([(item.key, "must be a whole number")]) from None
        else:
            answers[item.key] = raw
    return answers


@router.post("/cases/{case_id}/plan")
async def screen_and_plan(request: Request, services: ServicesDep, identity: PostDep,
                          case_id: int) -> Response:
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    principal = require(identity, *WORKERS)
    def work() -> Response:
        with services.db.write_session() as session:
            try:
                answers = _answers(fields)
                screening = service_screenings.record_screening(
                    session, actor=principal, cipher=services.cipher, case_id=case_id,
                    answers=answers)
                plan = plans.create_plan(session, actor=principal, cipher=services.cipher,
                                         data=SafetyPlanCreate(
                                             case_id=case_id, screening_id=screening.id,
                                             language=fields.get("language") or "en",
                                             allow_language_fallback=True,
                                             code_word=(fields.get("code_word") or "").strip()
                                             or None))
            except forms.FormError as exc:
                return _case_page(request, services, session, identity, case_id,
                                  _form_error(exc), 422)
            except DomainError as exc:
                return _case_page(request, services, session, identity, case_id, _error(exc),
                                  STATUS_BY_KIND[exc.kind])
            return redirect(f"/web/plans/{plan.id}")

    # The use cases are synchronous database work: run them off the event loop.
    return await run_in_threadpool(work)


@router.post("/cases/{case_id}/holds")
def hold(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
         case_id: int, shelter_id: Annotated[int, Form(ge=1)], bed_type: Annotated[BedType, Form()],
         beds: Annotated[int, Form(ge=1, le=50)] = 1) -> Response:
    principal = require(identity, *WORKERS)
    try:
        case = case_service.get_case(session, actor=principal, cipher=services.cipher,
                                     case_id=case_id)
        held, _ = hold_service.place_hold(
            session, actor=principal, shelter_id=shelter_id,
            data=HoldCreate(bed_type=bed_type, beds=beds,
                            case_ref=case.case_ref.replace("/", "-")),
            limits=HoldLimits(max_active_per_account=services.settings.max_active_holds))
    except DomainError as exc:
        return _case_page(request, services, session, identity, case_id, _error(exc),
                          STATUS_BY_KIND[exc.kind])
    return _case_page(request, services, session, identity, case_id,
                      ("ok", "Held {beds} bed(s): hold {id}, until {until} UTC.",
                       {"beds": held.beds, "id": held.id,
                        "until": held.expires_at.strftime("%H:%M")}))


def _plan_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               plan_id: int, notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *WORKERS)
    session.rollback()
    plan = plans.get_plan(session, actor=principal, cipher=services.cipher, plan_id=plan_id)
    language = plan.language if plan.language in plan_i18n.available_languages() else "en"
    reasons = {key: plan_i18n.translate(language, f"question.{key}")
               for sec in plan.plan["sections"] for step in sec["steps"]
               for key in step["triggered_by"]
               if plan_i18n.has_message(language, f"question.{key}")}
    return render(request, services.settings, "plan.html", identity=identity, status=status,
                  plan=plan, reasons=reasons, notice=notice,
                  language_statuses=plan_languages.statuses(),
                  segment_choices=range(1, MAX_SMS_SEGMENTS + 1),
                  default_segments=DEFAULT_SMS_SEGMENTS)


@router.get("/plans/{plan_id}")
def plan_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, plan_id: int) -> Response:
    return _plan_page(request, services, session, identity, plan_id)


@router.get("/plans/{plan_id}/render")
def render_plan(services: ServicesDep, session: SessionDep, identity: IdentityDep,
                plan_id: int, format: Annotated[str, Query(pattern="^(html|pdf|txt)$")],
                discreet: bool = False,
                language: Annotated[str | None, Query(max_length=35)] = None) -> Response:
    principal = require(identity, *WORKERS)
    rendered = plans.render_plan(session, actor=principal, cipher=services.cipher,
                                 plan_id=plan_id, fmt=format, discreet=discreet,
                                 language=language or None, allow_language_fallback=True)
    return plan_response(rendered.body, rendered.media_type, plan_id=plan_id, fmt=format,
                         discreet=discreet)


@router.get("/plans/{plan_id}/sms")
def sms(request: Request, services: ServicesDep, session: SessionDep,
        identity: IdentityDep,
        plan_id: int, discreet: bool = False,
        max_segments: Annotated[int, Query(ge=1, le=MAX_SMS_SEGMENTS)] = DEFAULT_SMS_SEGMENTS,
        language: Annotated[str | None, Query(max_length=35)] = None,
        ) -> Response:
    principal = require(identity, *WORKERS)
    rendered = plans.render_plan(session, actor=principal, cipher=services.cipher,
                                 plan_id=plan_id, fmt="sms", discreet=discreet,
                                 max_segments=max_segments, language=language or None,
                                 allow_language_fallback=True)
    body = json.loads(rendered.body)
    return render(request, services.settings, "sms.html", identity=identity, plan_id=plan_id,
                  sms=body, discreet=discreet, max_segments=max_segments,
                  segment_choices=range(1, MAX_SMS_SEGMENTS + 1), language=language or "")


@router.post("/plans/{plan_id}/steps/{step_id}")
def edit_step(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
              plan_id: int, step_id: str, version: Annotated[int, Form(ge=1)],
              text: Annotated[str, Form(max_length=2000)] = "",
              priority: Annotated[int, Form(ge=1, le=3)] = 2,
              action: Annotated[str, Form(max_length=10)] = "save") -> Response:
    principal = require(identity, *WORKERS)
    try:
        if action == "remove":
            plans.remove_step(session, actor=principal, cipher=services.cipher,
                              plan_id=plan_id, expected_version=version, step_id=step_id)
            notice: Notice = ("ok", "Step removed.", {})
        else:
            plans.edit_step(session, actor=principal, cipher=services.cipher, plan_id=plan_id,
                            expected_version=version, step_id=step_id,
                            data=StepEdit(text=text.strip() or None, priority=priority))
            notice = ("ok", "Step saved.", {})
    except DomainError as exc:
        return _plan_page(request, services, session, identity, plan_id, _error(exc),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id, notice)


@router.post("/plans/{plan_id}/steps")
def add_step(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
             plan_id: int, version: Annotated[int, Form(ge=1)],
             section: Annotated[str, Form(max_length=40)],
             text: Annotated[str, Form(min_length=1, max_length=2000)],
             priority: Annotated[int, Form(ge=1, le=3)] = 2) -> Response:
    principal = require(identity, *WORKERS)
    try:
        plans.add_step(session, actor=principal, cipher=services.cipher, plan_id=plan_id,
                       expected_version=version,
                       data=StepAdd(section=section, text=text.strip(), priority=priority))
    except DomainError as exc:
        return _plan_page(request, services, session, identity, plan_id, _error(exc),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Step added.", {}))
