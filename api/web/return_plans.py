"""The case manager's page for joint return planning (issue 22): many cases home as one decision.

`/web/return-plans` lists the agency's open cases; the case manager ticks those who want to go
home, types each one's destination (city and state) and, below, the departure (a local time in
a chosen zone), the funding sources the plan may spend and the solver's options, exactly the
fields `POST /v1/return-plans/optimise` takes. The answer is stored by that use case and shown
at `/web/return-plans/{id}` (`GET /v1/return-plans/{id}`): per case the shelter (a safe house
only by its public grid cell), bed type, itinerary in local times with each transfer's wait
(the travel page's `_steps.html` and `_timeline.html`), funding and cost, arrival against the
hold's end and the intake hours; the cases left out with their reasons; the bound, gap and
certificate in words (`return_plans_view`). Accepting all or the ticked cases is
`POST /v1/return-plans/{id}/accept` with an idempotency key made when the page was drawn, so a
double click replays the first answer; the answer links each case's page, hold and travel plan.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep, request_digest
from api.errors import STATUS_BY_KIND
from api.routes.return_plans import plan_config
from api.web import forms, travel_view, wording
from api.web import return_plans_view as view
from api.web.common import IdentityDep, PostDep, redirect, render, require
from api.web.coordinator import BED_LABELS
from core.clock import utcnow
from core.errors import DomainError
from core.models import Role
from core.principal import Principal
from core.web_auth import WebIdentity
from logistics.cases import service as case_service
from logistics.cases.models import CaseStatus
from logistics.return_plans import acceptance, service
from logistics.return_plans.models import (
    ReturnPlanAcceptRequest,
    ReturnPlanAcceptResult,
    ReturnPlanOptimiseRequest,
)
from logistics.travel import budget

router = APIRouter(prefix="/web/return-plans", include_in_schema=False)
ROLES = (Role.CASE_MANAGER,)  # admins pass `require` too; the use cases keep their rules
Notice = tuple[str, str, dict[str, object]]
ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico")


def _defaults() -> dict[str, Any]:
    start = utcnow().astimezone(travel_view.zone("America/Chicago"))
    return {"depart_after": start.strftime("%Y-%m-%dT%H:%M"), "timezone": "America/Chicago",
            "hold_buffer_minutes": "120", "shelters_per_case": "4",
            "itineraries_per_shelter": "3", "time_limit_s": "10", "radius_km": "80",
            "include": [], "escort": [], "dest": {}, "funding": None}


def _form_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               *, fields: dict[str, Any], notice: Notice | None = None,
               status: int = 200) -> Response:
    principal = require(identity, *ROLES)
    session.rollback()
    cases = [c for c in case_service.list_cases(session, actor=principal, cipher=services.cipher,
                                                status=None, limit=200, offset=0)
             if c.status != CaseStatus.CLOSED]
    sources = [s for s in budget.list_sources(session, actor=principal, active=True)]
    session.commit()
    return render(request, services.settings, "return_plans.html", identity=identity,
                  status=status, cases=cases, sources=sources, fields=fields, zones=ZONES,
                  notice=notice)


@router.get("")
def form_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep) -> Response:
    return _form_page(request, services, session, identity, fields=_defaults())


def _refs(session: Session, principal: Principal, ids: list[int]) -> dict[int, str]:
    """The references of these cases as the viewer may see them (others keep their number),
    read without holding a transaction: the solve after it opens its own."""
    out = {}
    for case_id in ids:
        try:
            out[case_id] = case_service.visible_case(session, principal, case_id).case_ref
        except DomainError:
            continue
    session.rollback()
    return out


def _plain(errors: Sequence[tuple[str, wording.Phrase | str]], refs: list[str]
           ) -> list[tuple[str, wording.Phrase]]:
    """API error locations in a case manager's words: `cases.1.destination` is the case's
    reference and "destination"; each message said in the page's language when it can be."""
    out = []
    for where, message in errors:
        parts = where.split(".")
        if parts[0] == "cases" and len(parts) > 1 and parts[1].isdigit() \
                and int(parts[1]) < len(refs):
            where = " ".join([refs[int(parts[1])], *parts[2:]])
        out.append((where, message if isinstance(message, wording.Phrase)
                    else wording.Phrase(message)))
    return out


def _body(fields: dict[str, Any], refs: dict[int, str]) -> ReturnPlanOptimiseRequest:
    chosen = [int(c) for c in fields["include"] if c.isdigit()]
    if not chosen:
        raise forms.FormError([("cases", "tick at least one case")])
    radius = int(forms.number(fields["radius_km"], "radius_km") or 80)
    cases: list[dict[str, Any]] = []
    for case_id in chosen:
        city, state = fields["dest"].get(case_id, ("", ""))
        if not city.strip() or len(state.strip()) != 2:
            raise forms.FormError([(refs.get(case_id, str(case_id)),
                                    "give the destination's city and two-letter state")])
        cases.append({"case_id": case_id,
                      "destination": {"city": city.strip(), "state": state.strip().upper()},
                      "radius_km": radius,
                      "escort": str(case_id) in fields["escort"]})
    tz = travel_view.zone(fields["timezone"])
    if tz is None or fields["timezone"] not in ZONES:
        raise forms.FormError([("timezone", "choose a time zone from the list")])
    depart = travel_view.local_departure(fields["depart_after"], tz)
    numbers = {}
    for name in ("hold_buffer_minutes", "shelters_per_case", "itineraries_per_shelter",
                 "time_limit_s"):
        value = forms.number(fields[name], name)
        if value is not None:
            numbers[name] = int(value)
    funding = fields["funding"]
    body = {"cases": cases, "depart_after": depart.isoformat(), "options": numbers,
            "funding_source_ids": None if funding is None else [int(f) for f in funding
                                                                if f.isdigit()]}
    try:
        return ReturnPlanOptimiseRequest.model_validate(body)
    except ValidationError as exc:
        raise forms.FormError(forms.validation_errors(exc)) from None


@router.post("/optimise")
def optimise(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
             case_row: Annotated[list[int], Form(max_length=200)] = [],  # noqa: B006
             dest_city: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006
             dest_state: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006
             include: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006
             escort: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006
             funding: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006
             funding_shown: Annotated[str, Form(max_length=1)] = "",
             depart_after: Annotated[str, Form(max_length=40)] = "",
             timezone: Annotated[str, Form(max_length=64)] = "",
             hold_buffer_minutes: Annotated[str, Form(max_length=6)] = "",
             shelters_per_case: Annotated[str, Form(max_length=4)] = "",
             itineraries_per_shelter: Annotated[str, Form(max_length=4)] = "",
             time_limit_s: Annotated[str, Form(max_length=4)] = "",
             radius_km: Annotated[str, Form(max_length=5)] = "80") -> Response:
    principal = require(identity, *ROLES)
    fields: dict[str, Any] = {
        "include": include, "escort": escort,
        "dest": {cid: (city[:100], state[:2]) for cid, city, state
                 in zip(case_row, dest_city, dest_state, strict=False)},
        "funding": funding if funding_shown else None, "depart_after": depart_after,
        "timezone": timezone, "hold_buffer_minutes": hold_buffer_minutes,
        "shelters_per_case": shelters_per_case,
        "itineraries_per_shelter": itineraries_per_shelter, "time_limit_s": time_limit_s,
        "radius_km": radius_km}
    refs: dict[int, str] = {}
    body = None
    try:
        refs = _refs(session, principal, [int(c) for c in include if c.isdigit()][:200])
        body = _body(fields, refs)
        config = plan_config(services.settings, body)
        plan = service.optimise(session, actor=principal, cipher=services.cipher,
                                ids=services.itinerary_ids, timetables=services.timetables,
                                pool=services.solver_pool, config=config, body=body,
                                db=services.db, probe_limits=services.probe_limits)
    except (forms.FormError, DomainError) as exc:
        session.rollback()
        order = [refs.get(c.case_id, str(c.case_id)) for c in body.cases] if body else []
        detail: list[tuple[str, wording.Phrase]] | wording.Phrase
        if isinstance(exc, forms.FormError):
            detail, status = _plain(exc.errors, order), 422
        else:
            errors = exc.extra.get("errors")
            detail = (_plain([(e["field"], e["message"]) for e in errors], order)
                      if isinstance(errors, list) else wording.from_domain(exc))
            status = STATUS_BY_KIND[exc.kind]
        return _form_page(request, services, session, identity, fields=fields, status=status,
                          notice=("error", "Nothing was planned: {detail}", {"detail": detail}))
    return redirect(f"/web/return-plans/{plan.id}")


@router.get("/optimise")
def back_to_form() -> Response:
    """A reload or language switch on a page a POST answered goes back to the form."""
    return redirect("/web/return-plans")


def _plan_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               plan_id: int, *, done: ReturnPlanAcceptResult | None = None,
               notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *ROLES)
    session.rollback()
    plan = service.get(session, actor=principal, cipher=services.cipher, plan_id=plan_id)
    refs = _refs(session, principal, sorted({*(p.case_id for p in plan.planned),
                                             *(u.case_id for u in plan.unplaced)}))
    views = view.shelter_views(session, actor=principal, cipher=services.cipher,
                               ids=[p.shelter_id for p in plan.planned])
    names = view.funding_names(budget.list_sources(session, actor=principal))
    session.commit()
    rows = sorted(view.rows(plan, views), key=lambda r: refs.get(r["p"].case_id, ""))
    zones = {r["p"].case_id: r["shelter"].timezone for r in rows if r["shelter"]}
    held = {} if done is None else {
        a.case_id: view.at_shelter(a.hold_expires_at, zones.get(a.case_id, ""))
        for a in done.accepted}
    return render(request, services.settings, "return_plan.html", identity=identity,
                  status=status, plan=plan, rows=rows, refs=refs, held=held,
                  reasons=view.reasons, proof=view.proof(plan), funding_names=names,
                  pending=view.accepted_pending(plan), done=done, notice=notice,
                  bed_labels=BED_LABELS, duration=travel_view.duration,
                  solve_states=view.SOLVE_STATES, key=secrets.token_urlsafe(16))


@router.get("/{plan_id}")
def plan_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, plan_id: int) -> Response:
    try:
        return _plan_page(request, services, session, identity, plan_id)
    except DomainError as exc:
        return _form_page(request, services, session, identity, fields=_defaults(),
                          notice=("error", "{detail}", {"detail": wording.from_domain(exc)}),
                          status=STATUS_BY_KIND[exc.kind])


@router.get("/{plan_id}/accept")
def back_to_plan(plan_id: int) -> Response:
    return redirect(f"/web/return-plans/{plan_id}")


@router.post("/{plan_id}/accept")
def accept(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
           plan_id: int, key: Annotated[str, Form(min_length=8, max_length=64)],
           case_ids: Annotated[list[int], Form(max_length=500)] = [],  # noqa: B006
           every: Annotated[str, Form(max_length=1)] = "") -> Response:
    """Accept the ticked cases (or, with the "Accept all" button, every case not yet accepted)
    as one transaction; the idempotency key drawn with the page replays a double click."""
    principal = require(identity, *ROLES)
    try:
        if not every and not case_ids:
            raise forms.FormError([("case_ids", "tick the cases to accept, or accept all")])
        body = ReturnPlanAcceptRequest(case_ids=None if every else case_ids)
        done = acceptance.accept(session, actor=principal, cipher=services.cipher,
                                 ids=services.itinerary_ids, timetables=services.timetables,
                                 plan_id=plan_id, body=body, idempotency_key=f"web-{key}",
                                 request_hash=request_digest(body, plan=plan_id))
    except forms.FormError as exc:
        session.rollback()
        return _plan_page(request, services, session, identity, plan_id, status=422,
                          notice=("error", "Nothing was accepted: {detail}",
                                  {"detail": _plain(exc.errors, [])}))
    except DomainError as exc:
        session.rollback()
        return _plan_page(request, services, session, identity, plan_id,
                          status=STATUS_BY_KIND[exc.kind],
                          notice=("error", "Nothing was accepted: {detail}",
                                  {"detail": wording.from_domain(exc)}))
    return _plan_page(request, services, session, identity, plan_id, done=done,
                      notice=("ok", "Accepted: holds placed, travel plans made and the money "
                                    "committed.", {}))
