"""The case manager's travel pages: itinerary search, options on a timeline, the travel plan.

The search form maps plain fields onto the API's `ItinerarySearchRequest`: origin and destination,
the departure as a local date and time in the origin's time zone (converted here, the zone shown
back), travellers' ages (so minors are seen), photo ID, escort, budget in dollars, and places to
avoid (cities, states, and points with a radius picked on the map or typed). The Pareto options
come back side by side on one time axis, in local times with each transfer's wait. Choosing one
creates a travel plan from the option's `itinerary_id`, exactly as `POST /v1/travel-plans`
takes it, with an optional bed hold at a shelter near the destination until arrival plus a
buffer. The plan page shows its status with verbs on the buttons ("Approve", "Cancel trip"),
its hold with the time left, and each check-in as due or overdue, recordable while the plan is
booked or in transit; an open safety alert (an unsafe or overdue check-in) is a banner with an
Acknowledge button, on the plan page and, for every plan of the agency, on the travel page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web import forms, wording
from api.web import travel_view as view
from api.web.common import IdentityDep, PostDep, redirect, render, require
from api.web.coordinator import BED_LABELS
from core.clock import utcnow
from core.errors import DomainError
from core.models import Role
from core.principal import Principal
from core.web_auth import WebIdentity
from logistics.beds import holds as hold_service
from logistics.beds.search import SearchQuery, search_shelters
from logistics.cases import service as case_service
from logistics.probes import service as probe_service
from logistics.probes.rules import Probe
from logistics.shelters import service as shelters
from logistics.travel import alerts as alert_service
from logistics.travel import plans as travel_plan_service
from logistics.travel import search as transport_search
from logistics.travel.alert_models import AlertAcknowledge
from logistics.travel.feed_models import ItinerarySearchRequest, ItinerarySearchResult
from logistics.travel.places import resolve_city
from logistics.travel.plan_models import (
    TRANSITIONS,
    CheckInRecord,
    CheckInStatus,
    PlanStatus,
    PlanTransition,
    TravelPlanCreate,
)
from logistics.vocabulary import BedType

router = APIRouter(prefix="/web/travel", include_in_schema=False)
ROLES = (Role.CASE_MANAGER, Role.ADVOCATE)
Notice = tuple[str, str, dict[str, object]]
GRACE = timedelta(minutes=15)  # as travel_plan_service counts a check-in overdue
DESTINATION_RADIUS_KM = 80.0  # shelters offered for a destination hold


def _page(request: Request, services: Services, session: Session, identity: WebIdentity, *,
          fields: dict[str, str], result: ItinerarySearchResult | None = None, zone_text: str = "",
          beds_at: list[tuple[str, dict[str, Any]]] | None = None,
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
    options = result.itineraries if result else []
    return render(request, services.settings, "travel.html", identity=identity, status=status,
                  cases=cases, overdue=overdue, alerts=alerts, plans=plans, fields=fields,
                  result=result, zone_text=zone_text, beds_at=beds_at or [],
                  steps=[view.steps(o) for o in options], duration=view.duration,
                  states=view.STATES, bed_labels=BED_LABELS,
                  map_tiles=services.settings.web_map_tiles_url or "",
                  timelines=view.timelines(options), notice=notice)


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
            "ages": "30", "has_id": "yes", "escort": "no", "budget": "", "avoid_cities": "",
            "avoid_states": "", "avoid_points": "", "max_transfers": "3"}


@router.get("")
def travel(request: Request, services: ServicesDep, session: SessionDep,
           identity: IdentityDep,
           case_id: Annotated[int | None, Query(ge=1)] = None) -> Response:
    return _page(request, services, session, identity, fields=_defaults(case_id, services, session))


def _origin_zone(session: Session, fields: dict[str, str]) -> ZoneInfo:
    """The origin's time zone, in which the form's departure time is read."""
    if not fields["from_city"].strip() or len(fields["from_state"].strip()) != 2:
        raise forms.FormError([("from", "give the origin's city and two-letter state")])
    found = resolve_city(session, fields["from_city"].strip(), fields["from_state"].strip())
    if found is None:
        # The name is not echoed: a place a survivor names is personal data.
        raise forms.FormError([("from", "unknown place: no stop, and no US place of 15,000 "
                                        "people of that name in that state")])
    tz = view.zone(found.timezone)
    if tz is None:
        raise forms.FormError([("from", "the origin's time zone is not known")])
    return tz


def _search_body(fields: dict[str, str], depart: datetime) -> ItinerarySearchRequest:
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
        "depart_after": depart,
        "travellers": [{"age": a} for a in ages] or [{"age": 30}],
        "has_id": forms.yes(fields["has_id"]),
        "escort": forms.yes(fields["escort"]),
        "budget_cents": None if budget is None else round(budget * 100),
        "avoid": {"cities": avoid_cities,
                  "states": [s.upper() for s in forms.words(fields["avoid_states"])],
                  "points": view.avoid_points(fields["avoid_points"])},
        "max_transfers": int(fields["max_transfers"] or 3),
    }
    try:
        return ItinerarySearchRequest.model_validate(body)
    except ValidationError as exc:
        raise forms.FormError(forms.validation_errors(exc)) from None


def _beds_at_destination(session: Session, services: Services, principal: Principal,
                         fields: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """(`shelter:bed_type`, label) of open beds near the destination, through the same
    shelter search (and probing guard) as `GET /v1/shelters`."""
    found = resolve_city(session, fields["to_city"].strip(), fields["to_state"].strip())
    if found is None:
        return []

    def count_probes(probes: list[Probe]) -> None:
        session.close()  # as the API route: hand back this connection before the guard's own
        probe_service.guard(services.db, actor=principal, cipher=services.cipher,
                            probes=probes, limits=services.probe_limits, source="search",
                            purpose="travel destination beds")

    page = search_shelters(session, actor=principal, cipher=services.cipher,
                           query=SearchQuery(lat=found.lat, lon=found.lon,
                                             radius_km=DESTINATION_RADIUS_KM, limit=10),
                           check_probes=count_probes)
    out = []
    for hit in page.items:
        for bed in hit.beds:
            if bed.available > 0:
                out.append((f"{hit.shelter.id}:{bed.bed_type.value}",
                            {"name": hit.shelter.name, "city": hit.shelter.city,
                             "km": hit.distance_km, "beds": bed.bed_type, "n": bed.available}))
    return out


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
           escort: Annotated[str, Form(max_length=5)] = "",
           budget: Annotated[str, Form(max_length=20)] = "",
           avoid_cities: Annotated[str, Form(max_length=2000)] = "",
           avoid_states: Annotated[str, Form(max_length=300)] = "",
           avoid_points: Annotated[str, Form(max_length=4000)] = "",
           max_transfers: Annotated[str, Form(max_length=2)] = "3") -> Response:
    principal = require(identity, *ROLES)
    fields = {"case_id": case_id, "from_city": from_city, "from_state": from_state,
              "to_city": to_city, "to_state": to_state, "depart_after": depart_after,
              "ages": ages, "has_id": has_id, "escort": escort, "budget": budget,
              "avoid_cities": avoid_cities, "avoid_states": avoid_states,
              "avoid_points": avoid_points, "max_transfers": max_transfers}
    zone_text = ""
    try:
        tz = _origin_zone(session, fields)
        depart = view.local_departure(depart_after, tz)
        zone_text = view.zone_label(tz, depart)
        result = transport_search.search(session, actor=principal,
                                         body=_search_body(fields, depart),
                                         ids=services.itinerary_ids,
                                         timetables=services.timetables)
        beds_at = (_beds_at_destination(session, services, principal, fields)
                   if result.itineraries else [])
    except forms.FormError as exc:
        return _page(request, services, session, identity, fields=fields, zone_text=zone_text,
                     notice=("error", "{detail}", {"detail": exc.errors}), status=422)
    except DomainError as exc:
        return _page(request, services, session, identity, fields=fields, zone_text=zone_text,
                     notice=("error", "{detail}", {"detail": wording.from_domain(exc)}),
                     status=STATUS_BY_KIND[exc.kind])
    return _page(request, services, session, identity, fields=fields, result=result,
                 zone_text=zone_text, beds_at=beds_at)


@router.post("/plans")
def choose(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
           case_id: Annotated[int, Form(ge=1)],
           itinerary_id: Annotated[str, Form(max_length=16_000)],
           hold_at: Annotated[str, Form(max_length=40)] = "",
           beds: Annotated[int, Form(ge=1, le=50)] = 1,
           hold_buffer_minutes: Annotated[int, Form(ge=0, le=24 * 60)] = 120) -> Response:
    """Book the chosen option as `POST /v1/travel-plans` does, with the destination bed hold
    (`shelter_id`, `bed_type`, `beds`, `hold_buffer_minutes`) when one was picked."""
    principal = require(identity, *ROLES)
    shelter_text, _, bed_text = hold_at.partition(":")
    try:
        hold: dict[str, Any] = {}
        if hold_at:
            hold = {"shelter_id": int(shelter_text), "bed_type": BedType(bed_text),
                    "beds": beds, "hold_buffer_minutes": hold_buffer_minutes}
        data = TravelPlanCreate(case_id=case_id, itinerary_id=itinerary_id, **hold)
        plan = travel_plan_service.create_plan(session, actor=principal, cipher=services.cipher,
                                               ids=services.itinerary_ids,
                                               timetables=services.timetables, data=data)
    except (ValidationError, ValueError):
        return _page(request, services, session, identity,
                     fields=_defaults(case_id, services, session),
                     notice=("error", "{detail}", {"detail": "itinerary_id: not a valid option"}),
                     status=422)
    except DomainError as exc:
        return _page(request, services, session, identity,
                     fields=_defaults(case_id, services, session),
                     notice=("error", "{detail}", {"detail": wording.from_domain(exc)}),
                     status=STATUS_BY_KIND[exc.kind])
    # What became of the hold (held, lapsing before arrival, or no bed free) is shown by the
    # plan page from the hold itself; a hold asked for and not placed is said there too.
    asked = "&hold=none" if hold_at and plan.hold_id is None else ""
    return redirect(f"/web/travel/plans/{plan.id}?booked=1{asked}")


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
    hold, shelter_name = None, ""
    if plan.hold_id is not None:
        try:
            hold = hold_service.get_hold(session, actor=principal, hold_id=plan.hold_id)
            shelter_name = shelters.get_shelter(session, actor=principal, cipher=services.cipher,
                                                shelter_id=hold.shelter_id).name
        except DomainError:
            hold = None
    return render(request, services.settings, "travel_plan.html", identity=identity,
                  status=status, plan=plan, states=states, notice=notice, alerts=alerts,
                  next_statuses=view.next_steps(TRANSITIONS[plan.status]), verbs=view.VERBS,
                  state_labels=view.STATES, travelling=travelling,
                  steps=view.steps(plan.itinerary), duration=view.duration,
                  due={c.id: view.check_in_clock(c.due_at, plan.itinerary)
                       for c in plan.check_ins},
                  hold=hold, shelter_name=shelter_name, bed_labels=BED_LABELS,
                  hold_left=None if hold is None else view.minutes_left(hold.expires_at, now),
                  hold_short=hold is not None and hold.expires_at < plan.arrive_at,
                  hold_missing=request.query_params.get("hold") == "none",
                  timelines=view.timelines([plan.itinerary]))


@router.get("/search")
@router.get("/plans")
def back_to_search() -> Response:
    """A language switch or reload on a page a POST answered goes back to the form (no 405)."""
    return redirect("/web/travel")


@router.get("/plans/{plan_id}/{rest:path}")
def back_to_plan(plan_id: int, rest: str) -> Response:
    return redirect(f"/web/travel/plans/{plan_id}")


@router.get("/plans/{plan_id}")
def plan_page(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, plan_id: int) -> Response:
    made: Notice | None = None
    if request.query_params.get("booked") == "1":
        made = ("ok", "Travel plan created. Approve it, then book the tickets.", {})
    return _plan_page(request, services, session, identity, plan_id, made)


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
                          ("error", "{detail}", {"detail": wording.from_domain(exc)}),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Done.", {}))


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
                          ("error", "{detail}", {"detail": wording.from_domain(exc)}),
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
                          ("error", "{detail}", {"detail": wording.from_domain(exc)}),
                          STATUS_BY_KIND[exc.kind])
    return _plan_page(request, services, session, identity, plan_id,
                      ("ok", "Alert acknowledged.", {}))
