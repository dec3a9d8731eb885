"""The advocate's pages: the screening submit and the generated plan.

The case page (`api/web/cases.py`) carries the screening form (questions in the page's
language, from the safety plan catalogue). Screening and plan generation are one submit; the
plan page shows each step's reasons, lets the advocate edit, add and remove steps (with the
plan's version, so two people editing cannot overwrite each other), and links to print, PDF,
discreet print and the SMS text, all rendered by the safety-plan service.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.plan_response import plan_response
from api.web import forms, wording
from api.web.cases import GROUPS as GROUPS  # the screening groups' msgids, read by tests
from api.web.cases import case_page
from api.web.common import (
    IdentityDep,
    PostDep,
    redirect,
    render,
    require,
)
from core.errors import DomainError
from core.models import Role
from core.web_auth import WebIdentity
from safety_plans import i18n as plan_i18n
from safety_plans import languages as plan_languages
from safety_plans import screenings as service_screenings
from safety_plans import service as plans
from safety_plans.models import SafetyPlanCreate, StepAdd, StepEdit
from safety_plans.render import DEFAULT_SMS_SEGMENTS, MAX_SMS_SEGMENTS
from safety_plans.screening import ITEMS, ItemType

router = APIRouter(prefix="/web", include_in_schema=False)
WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER)
Notice = tuple[str, str, dict[str, object]]


def _error(exc: DomainError) -> Notice:
    return ("error", "{detail}", {"detail": wording.from_domain(exc)})


def _form_error(exc: forms.FormError) -> Notice:
    return ("error", "{detail}", {"detail": exc.errors})


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
                return case_page(request, services, session, identity, case_id,
                                 _form_error(exc), 422)
            except DomainError as exc:
                return case_page(request, services, session, identity, case_id, _error(exc),
                                 STATUS_BY_KIND[exc.kind])
            return redirect(f"/web/plans/{plan.id}")

    # The use cases are synchronous database work: run them off the event loop.
    return await run_in_threadpool(work)


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
