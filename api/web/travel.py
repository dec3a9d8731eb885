"""The case manager's travel pages: itinerary search, options on a timeline, the travel plan.

The search form maps plain fields (no ID, places to avoid, budget in dollars, travellers'
ages, so minors are seen) onto the API's `ItinerarySearch`; the Pareto options come back side
by side, each drawn on one shared time axis. Choosing one creates a travel plan for the case
from the option's `itinerary_id`, exactly as a client sends it to `POST /v1/travel-plans`.
The plan page shows its status, the allowed next steps, and each check-in as due or overdue;
an open safety alert (an unsafe or overdue check-in) is a banner with an Acknowledge button, on
the plan page and, for every plan of the agency, on the travel page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web import forms
from api.web.common import IdentityDep, PostDep, redirect, render, require
from core.clock import utcnow
from core.errors import DomainError
from core.models import Role
from core.web_auth import WebIdentity
from logistics.cases import service as case_service
from logistics.travel import alerts as alert_service
from logistics.travel import plans as travel_plan_service
from logistics.travel import search as transport_search
from logistics.travel.alert_models import AlertAcknowledge
from logistics.travel.feed_models import ItineraryOut, ItinerarySearch, SearchOut
from logistics.travel.plan_models import (
    TRANSITIONS,
    CheckInRecord,
    CheckInStatus,
    PlanStatus,
    PlanTransition,
    TravelPlanCreate,
)

router = APIRouter(prefix="/web/travel", include_in_schema=False)
ROLES = (Role.CASE_MANAGER, Role.ADVOCATE)
Notice = tuple[str, str, dict[str, object]]
GRACE = timedelta(minutes=15)  # as travel_plan_service counts a check-in overdue


def _page(request: Request, services: Services, session: Session, identity: WebIdentity, *,
          fields: dict[str, str], result: SearchOut | None = None,
          notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *ROLES)
    session.rollback()
    cases = case_service.list_cases(session, actor=principal, cipher=services.cipher,
                                    status=None, limit=100, offset=0)
    overdue = travel_plan_service.overdue_check_ins(session, actor=principal,
                                                   cipher=services.cipher, limit=20)
    alerts = alert_service.list_alerts(session, actor=principal, cipher=services.cipher,
                                       open_only=True, limit=20)
    case_id = int(fields["case_id"]) if fields.get("case_id", "").isdigit() else None
    plans = (travel_plan_service.list_plans(session, actor=principal, cipher=services.cipher,
                                            case_id=case_id, limit=20, offset=0)
             if case_id else [])
    return render(request, services.settings, "travel.html", identity=identity, status=status,
                  cases=cases, overdue=overdue, alerts=alerts, plans=plans, fields=fields,
                  result=result,
                  timelines=_timelines(result.itineraries) if result else [], notice=notice)


def _defaults(case_id: int | None, services: Services, session: Session) -> dict[str, str]:
    start = (utcnow() + timedelta(days=1)).replace(hour=8, minute=0, second=0, microsecond=0)
    cal = services.timetables.calendar(session)
    covered = None if cal is None else cal.covers()
    if covered is not None and not covered[0] <= start.date() <= covered[1]:
        # Tomorrow is outside the stored feeds (the 2023 Amtrak feed of the demo): the form
        # starts on a day they cover, a week before their end, so a search gets answers.
        day = max(covered[0], covered[1] - timedelta(days=7))
        start = start.replace(year=day.year, month=day.month, day=day.day)
    return {"case_id": str(case_id or ""), "from_city": "", "from_state": "", "to_city": "",
            "to_state": "", "depart_after": start.strftime("%Y-%m-%dT%H:%M"),
            "ages": "30", "has_id": "yes", "budget": "", "avoid_cities": "",
            "avoid_states": "", "max_transfers": "3"}


@router.get("")
def travel(request: Request, services: ServicesDep, session: SessionDep,
           identity: IdentityDep,
           case_id: Annotated[int | None, Query(ge=1)] = None) -> Response:
    return _page(request, services, session, identity, fields=_defaults(case_id, services, session))


def _when(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise forms.FormError([("depart_after", "give a date and time")]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _search_body(fields: dict[str, str]) -> ItinerarySearch:
    ages = [int(a) for a in forms.words(fields["ages"].replace(" ", ",")) if a.isdigit()]
    avoid_cities = []
    for entry in [c.strip() for c in fields["avoid_cities"].split(";") if c.strip()]:
        city, _, state = entry.rpartition(",")
        if not city:
            raise forms.FormError([("avoid_cities", 'write each as "City, ST"; separate with ;')])
        avoid_cities.append({"city": city.strip(), "state": state.strip().upper()})
    budget = forms.number(fields["budget"], "budget")
    body: dict[str, Any] = {
        "from": {"city": fields["from_city"].strip(), "state": fields["from_state"].upper()},
        "to": {"city": fields["to_city"].strip(), "state": fields["to_state"].upper()},
        "depart_after": _when(fields["depart_after"]),
        "travellers": [{"age": a} for a in ages] or [{"age": 30}],
        "has_id": forms.yes(fields["has_id"]),
        "budget_cents": None if budget is None else round(budget * 100),
        "avoid": {"cities": avoid_cities,
                  "states": [s.upper() for s in forms.words(fields["avoid_states"])]},
        "max_transfers": int(fields["max_transfers"] or 3),
    }
    try:
        return ItinerarySearch.model_validate(body)
    except ValidationError as exc:
        raise forms.FormError(forms.validation_errors(exc)) from None


@router.post("/search")
def search(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
           case_id: Annotated[str, Form(max_length=12)] = "",
           from_city: Annotated[str, Form(max_length=120)] = "",
           from_state: Annotated[str, Form(max_length=2)] = "",
           to_city: Annotated[str, Form(max_length=120)] = "",
           to_state: Annotated[str, Form(max_length=2)] = "",
           depart_after: Annotated[str, Form(max_length=40)] = "",
           ages: Annotated[str, Form(max_length=100)] = "30",
           has_id: Annotated[str, Form(max_length=5)] = "",
           budget: Annotated[str, Form(max_length=20)] = "",
           avoid_cities: Annotated[str, Form(max_length=2000)] = "",
           avoid_states: Annotated[str, Form(max_length=300)] = "",
           max_transfers: Annotated[str, Form(max_length=2)] = "3") -> Response:
    principal = require(identity, *ROLES)
    fields = {"case_id": case_id, "from_city": from_city, "from_state": from_state,
              "to_city": to_city, "to_state": to_state, "depart_after": depart_after,
              "ages": ages, "has_id": has_id, "budget": budget, "avoid_cities": avoid_cities,
              "avoid_states": avoid_states, "max_transfers": max_transfers}
    try:
        result = transport_search.search(session, actor=principal, body=_search_body(fields),
                                         ids=services.itinerary_ids,
                                         timetables=services.timetables)
    except forms.FormError as exc:
        detail = "; ".join(f"{f}: {m}" for f, m in exc.errors)
        return _page(request, services, session, identity, fields=fields,
                     notice=("error", "{detail}", {"detail": detail}), status=422)
    except DomainError as exc:
        return _page(request, services, session, identity, fields=fields,
                     notice=("error", "{detail}", {"detail": exc.detail}),
                     status=STATUS_BY_KIND[exc.kind])
    return _page(request, services, session, identity, fields=fields, result=result)


def _timelines(options: Sequence[ItineraryOut]) -> list[list[dict[str, Any]]]:
    """Each leg's left edge and width in percent of one axis shared by every option."""
    if not options:
        return []
    start = min(datetime.fromisoformat(o.depart) for o in options)
    end = max(datetime.fromisoformat(o.arrive) for o in options)
    span = max((end - start).total_seconds(), 1.0)
    out = []
    for option in options:
        bars = []
        for leg in option.legs:
            left = (datetime.fromisoformat(leg.depart) - start).total_seconds() / span * 100
            width = (datetime.fromisoformat(leg.arrive)
                     - datetime.fromisoformat(leg.depart)).total_seconds() / span * 100
            mode = leg.mode if leg.mode in ("rail", "bus", "air", "walk") else "other"
            bars.append({"left": round(left, 2), "width": round(max(width, 0.8), 2),
                         "mode": mode, "label": f"{leg.mode} {leg.origin} to {leg.destination}"})
        out.append(bars)
    return out


@router.post("/plans")
def choose(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
           case_id: Annotated[int, Form(ge=1)],
           itinerary_id: Annotated[str, Form(max_length=16_000)]) -> Response:
    principal = require(identity, *ROLES)
    try:
        data = TravelPlanCreate(case_id=case_id, itinerary_id=itinerary_id)
        plan = travel_plan_service.create_plan(session, actor=principal, cipher=services.cipher,
                                               ids=services.itinerary_ids,
                                               timetables=services.timetables, data=data)
    except ValidationError:
        return _page(request, services, session, identity,
                     fields=_defaults(case_id, services, session),
                     notice=("error", "{detail}", {"detail": "itinerary_id: not a valid option"}),
                     status=422)
    except DomainError as exc:
        return _page(request, services, session, identity,
                     fields=_defaults(case_id, services, session),
                     notice=("error", "{detail}", {"detail": exc.detail}),
                     status=STATUS_BY_KIND[exc.kind])
    return redirect(f"/web/travel/plans/{plan.id}")


def _plan_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               plan_id: int, notice: Notice | None = None, status: int = 200) -> Response:
    principal = require(identity, *ROLES)
    session.rollback()
    plan = travel_plan_service.get_plan(session, actor=principal, cipher=services.cipher,
                                        plan_id=plan_id)
    alerts = alert_service.list_alerts(session, actor=principal, cipher=services.cipher,
                                       case_id=plan.case_id, plan_id=plan_id, open_only=True)
    now = utcnow()
    travelling = plan.status in (PlanStatus.BOOKED, PlanStatus.IN_TRANSIT)
    states = {c.id: ("overdue" if travelling and c.status is CheckInStatus.PENDING
                     and c.due_at + GRACE < now else
                     "due" if travelling and c.status is CheckInStatus.PENDING
                     and c.due_at <= now + timedelta(hours=1) else c.status.value)
              for c in plan.check_ins}
    return render(request, services.settings, "travel_plan.html", identity=identity,
                  status=status, plan=plan, states=states, notice=notice, alerts=alerts,
                  next_statuses=sorted(TRANSITIONS[plan.status]),
                  timelines=_timelines([plan.itinerary]))


@router.get("/plans/{plan_id}")
def plan_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, plan_id: int) -> Response:
    return _plan_page(request, services, session, identity, plan_id)


@router.post("/plans/{plan_id}/status")
def change_status(request: Request, services: ServicesDep, session: SessionDep,
                  identity: PostDep, plan_id: int,
                  status: Annotated[PlanStatus, Form()],
                  booking_references: Annotated[str, Form(max_length=400)] = "") -> Response:
    principal = require(identity, *ROLES)
    # References belong to "booked" only; the field stays on the form for that step.
    refs = (forms.words(booking_references) or None) if status is PlanStatus.BOOKED else None
    try:
        travel_plan_service.transition(session, actor=principal, cipher=services.cipher,
                                       plan_id=plan_id,
                                       data=PlanTransition(status=status, booking_references=refs))
    except DomainError as exc:
        return _plan_page(request, services, session, identity, plan_id,
                          ("error", "{detail}", {"detail": exc.detail}),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Status changed.", {}))


@router.post("/plans/{plan_id}/check-ins/{check_in_id}")
def check_in(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
             plan_id: int, check_in_id: int, safe: Annotated[str, Form(max_length=5)] = "yes",
             note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    principal = require(identity, *ROLES)
    try:
        travel_plan_service.record_check_in(
            session, actor=principal, cipher=services.cipher, plan_id=plan_id,
            check_in_id=check_in_id,
            data=CheckInRecord(safe=forms.yes(safe), note=note.strip() or None))
    except DomainError as exc:
        return _plan_page(request, services, session, identity, plan_id,
                          ("error", "{detail}", {"detail": exc.detail}),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Check-in recorded.", {}))


@router.post("/plans/{plan_id}/alerts/{alert_id}/acknowledge")
def acknowledge_alert(request: Request, services: ServicesDep, session: SessionDep,
                      identity: PostDep, plan_id: int, alert_id: int,
                      note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    principal = require(identity, *ROLES)
    try:
        alert_service.acknowledge(session, actor=principal, cipher=services.cipher,
                                  alert_id=alert_id,
                                  data=AlertAcknowledge(note=note.strip() or None))
    except DomainError as exc:
        return _plan_page(request, services, session, identity, plan_id,
                          ("error", "{detail}", {"detail": exc.detail}),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Alert acknowledged.", {}))
