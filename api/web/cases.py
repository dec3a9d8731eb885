"""Cases on the web: the intake form as on a call, the edit form, and the one case page.

The intake form carries every field `POST /v1/cases` takes (household, languages, needs,
trafficking type, urgency, photo ID, travel limit, notes, and exclusion zones: points with a
radius, drawn on the map or typed, and cities and states) and is parsed into `CaseCreate`, so
the validation and its messages are the API's; each message is shown beside its field. The
edit form sends the case's version, as `If-Match` does: a change made meanwhile is refused.
The case page gathers everything about the case the viewer may see, each part from the use
case the API calls (a part the role may not read is left out, as the API would refuse it):
holds with time left, travel plans and check-ins, alerts, screenings, safety plans,
referrals and releases, with the actions that belong there (`api/web/case_actions.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web import forms, places, recipient_search, wording
from api.web.common import IdentityDep, PostDep, pick_language, redirect, render, require
from core.clock import utcnow
from core.errors import DomainError, InvalidInput
from core.models import Role
from core.web_auth import WebIdentity
from logistics.beds import holds as hold_service
from logistics.cases import service as case_service
from logistics.cases.models import CaseCreate, CasePublic, CaseUpdate
from logistics.matching import service as matching_service
from logistics.matching.models import MatchRequest, MatchResult
from logistics.shelters import service as shelter_service
from logistics.travel import alerts as alert_service
from logistics.travel import plans as travel_service
from network.consent import service as consent_service
from network.consent.models import CaseFieldGroup
from network.directory import service as directory_service
from network.directory.models import ServiceType
from network.referrals import service as referral_service
from safety_plans import i18n as plan_i18n
from safety_plans import languages as plan_languages
from safety_plans import screenings as service_screenings
from safety_plans import service as plans
from safety_plans.screening import ITEMS, Group, ItemType

router = APIRouter(prefix="/web", include_in_schema=False)
WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER)
GROUPS = {Group.INDICATORS: "Trafficking indicators", Group.DANGER: "Current danger",
          Group.SITUATION: "Situation", Group.NEEDS: "Needs"}
LETTER_OF = {gender: letter.upper() for letter, gender in forms.GENDER_LETTERS.items()}
Notice = tuple[str, str, dict[str, object]]
Errors = dict[str, list[wording.Phrase]]
T = TypeVar("T")


def error_notice(exc: DomainError) -> Notice:
    return ("error", "{detail}", {"detail": wording.from_domain(exc)})


class CaseForm:
    """The case form's fields as typed (strings; `needs` is a list of checked boxes)."""

    def __init__(self, case_ref: Annotated[str, Form(max_length=64)] = "",
                 members: Annotated[str, Form(max_length=200)] = "",
                 trafficking_type: Annotated[str, Form(max_length=10)] = "sex",
                 urgency: Annotated[str, Form(max_length=3)] = "3",
                 languages: Annotated[str, Form(max_length=100)] = "en",
                 max_travel_km: Annotated[str, Form(max_length=8)] = "",
                 needs: Annotated[list[str] | None, Form()] = None,
                 has_photo_id: Annotated[str, Form(max_length=5)] = "",
                 lat: Annotated[str, Form(max_length=30)] = "",
                 lon: Annotated[str, Form(max_length=30)] = "",
                 city: Annotated[str, Form(max_length=100)] = "",
                 state: Annotated[str, Form(max_length=2)] = "",
                 exclusion_points: Annotated[str, Form(max_length=4000)] = "",
                 exclusion_cities: Annotated[str, Form(max_length=4000)] = "",
                 exclusion_states: Annotated[str, Form(max_length=400)] = "",
                 exclusion_shelter_ids: Annotated[str, Form(max_length=2000)] = "",
                 notes: Annotated[str, Form(max_length=4000)] = "") -> None:
        self.values: dict[str, Any] = {
            "case_ref": case_ref, "members": members, "trafficking_type": trafficking_type,
            "urgency": urgency, "languages": languages, "max_travel_km": max_travel_km,
            "needs": [n for n in (needs or []) if n], "has_photo_id": has_photo_id,
            "lat": lat, "lon": lon, "city": city, "state": state,
            "exclusion_points": exclusion_points, "exclusion_cities": exclusion_cities,
            "exclusion_states": exclusion_states,
            "exclusion_shelter_ids": exclusion_shelter_ids, "notes": notes}

    def body(self) -> dict[str, Any]:
        body = forms.case_body(self.values, self.values["needs"])
        try:
            kept = [int(i) for i in forms.words(self.values["exclusion_shelter_ids"])]
        except ValueError:
            raise forms.FormError([("exclusions", "shelter ids are whole numbers")]) from None
        body.setdefault("exclusions", {})["shelter_ids"] = kept
        return body


CaseFormDep = Annotated[CaseForm, Depends()]


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def case_values(case: CasePublic) -> dict[str, Any]:
    """A stored case as the form shows it, for editing."""
    ex = case.exclusions
    return {
        "case_ref": case.case_ref,
        "members": " ".join(f"{m.age}{LETTER_OF[m.gender.value]}" for m in case.household),
        "trafficking_type": case.trafficking_type.value, "urgency": str(case.urgency),
        "languages": ", ".join(case.languages), "max_travel_km": str(case.max_travel_km),
        "needs": [n.value for n in case.needs], "has_photo_id": "yes" if case.has_photo_id else "",
        "lat": _number(case.location.lat), "lon": _number(case.location.lon),
        "city": case.location.city or "", "state": case.location.state or "",
        "exclusion_points": "\n".join(f"{p.lat:g}, {p.lon:g}, {p.radius_km:g}"
                                      for p in ex.points),
        "exclusion_cities": "\n".join(ex.cities), "exclusion_states": ", ".join(ex.states),
        "exclusion_shelter_ids": ", ".join(str(i) for i in ex.shelter_ids),
        "notes": case.notes or ""}


def form_errors(exc: Exception) -> Errors:
    """A parsing, validation or domain input error as messages per form field."""
    if isinstance(exc, forms.FormError):
        return forms.by_field(exc.errors)
    if isinstance(exc, ValidationError):
        return forms.by_field(forms.validation_errors(exc))
    if isinstance(exc, InvalidInput):
        return forms.by_field([(exc.field, wording.from_domain(exc))])
    raise exc


@router.get("/cases")
def cases(request: Request, services: ServicesDep, session: SessionDep,
          identity: IdentityDep) -> Response:
    return cases_page(request, services, session, identity)


def cases_page(request: Request, services: Services, session: Session, identity: WebIdentity,
               notice: Notice | None = None, status: int = 200,
               values: dict[str, Any] | None = None, errors: Errors | None = None) -> Response:
    principal = require(identity, *WORKERS)
    session.rollback()
    found = case_service.list_cases(session, actor=principal, cipher=services.cipher,
                                    status=None, limit=50, offset=0)
    return render(request, services.settings, "cases.html", identity=identity, status=status,
                  cases=found, notice=notice, form_id="new-case", action="/web/cases",
                  values=values or {"languages": "en", "urgency": "3"}, errors=errors or {},
                  places=places.choices())


@router.post("/cases")
def create_case(request: Request, services: ServicesDep, session: SessionDep,
                identity: PostDep, form: CaseFormDep) -> Response:
    principal = require(identity, *WORKERS)
    try:
        data = CaseCreate.model_validate(form.body())
        case = case_service.create_case(session, actor=principal, cipher=services.cipher,
                                        data=data)
    except (forms.FormError, ValidationError, InvalidInput) as exc:
        return cases_page(request, services, session, identity,
                          ("error", "The case was not opened: correct the fields marked.", {}),
                          422, form.values, form_errors(exc))
    except DomainError as exc:
        return cases_page(request, services, session, identity, error_notice(exc),
                          STATUS_BY_KIND[exc.kind], form.values)
    return redirect(f"/web/cases/{case.id}")


def _part(read: Callable[[], T]) -> T | None:
    """One part of the case page, or None when the viewer's role may not read it."""
    try:
        return read()
    except DomainError as exc:
        if exc.kind in ("forbidden", "not_found"):
            return None
        raise


def case_page(request: Request, services: Services, session: Session, identity: WebIdentity,
              case_id: int, notice: Notice | None = None, status: int = 200,
              values: dict[str, Any] | None = None, errors: Errors | None = None,
              recipients: recipient_search.RecipientSearch | None = None) -> Response:
    principal = require(identity, *WORKERS)
    session.rollback()
    cipher = services.cipher
    case = case_service.get_case(session, actor=principal, cipher=cipher, case_id=case_id)
    alerts = _part(lambda: alert_service.list_alerts(
        session, actor=principal, cipher=cipher, case_id=case_id, limit=50)) or []
    trips = _part(lambda: travel_service.list_plans(
        session, actor=principal, cipher=cipher, case_id=case_id, limit=20, offset=0))
    screenings = _part(lambda: service_screenings.list_case_screenings(
        session, actor=principal, cipher=cipher, case_id=case_id, limit=20, offset=0))
    case_plans = _part(lambda: plans.list_case_plans(
        session, actor=principal, case_id=case_id, limit=50, offset=0))
    referrals = _part(lambda: referral_service.list_referrals(
        session, actor=principal, cipher=cipher, case_id=case_id, overdue=False, limit=50,
        offset=0))
    releases = _part(lambda: consent_service.list_releases(
        session, actor=principal, cipher=cipher, case_id=case_id))
    # Holds carry the case's reference as the page placed them ("/" is not allowed there).
    case_holds = hold_service.list_case_holds(
        session, actor=principal, agency_id=case.agency_id,
        case_refs=[case.case_ref, case.case_ref.replace("/", "-")])
    names = shelter_service.names_of(session, [h.shelter_id for h in case_holds])
    session.rollback()
    match: MatchResult | None = None
    match_error = None
    try:
        match = matching_service.match_household(
            services.db, actor=principal, cipher=cipher,
            request=MatchRequest(case_id=case_id, limit=5), probe_limits=services.probe_limits)
    except DomainError as exc:
        match_error = wording.from_domain(exc)
    language = pick_language(request)
    lang = language if language in plan_i18n.available_languages() else "en"
    questions = [(GROUPS[item.group], item, plan_i18n.translate(lang, f"question.{item.key}"))
                 for item in ITEMS]
    return render(request, services.settings, "case.html", identity=identity, status=status,
                  case=case, plans=case_plans, alerts=alerts, match=match,
                  match_error=match_error, questions=questions, ItemType=ItemType,
                  notice=notice, plan_languages=plan_i18n.available_languages(),
                  language_statuses={s.language: s for s in plan_languages.statuses()},
                  holds=case_holds, shelter_names=names, trips=trips, screenings=screenings,
                  referrals=referrals, releases=releases, now=utcnow(),
                  service_types=list(ServiceType), field_groups=list(CaseFieldGroup),
                  form_id="edit-case", action=f"/web/cases/{case_id}",
                  values=values or case_values(case), errors=errors or {},
                  summary=case_values(case), places=places.choices(),
                  found=recipients or recipient_search.defaults(case),
                  organization_names=_organization_names(session, referrals, releases),
                  version=case.version, editing=bool(errors))


def _organization_names(session: Session, *parts: list[Any] | None) -> dict[int, str]:
    """Directory names of the organisations the case's referrals and releases went to."""
    ids = sorted({item.recipient_id for part in parts for item in part or []})
    return {i: view.name for i, view in directory_service.present_many(session, ids).items()}


@router.get("/cases/{case_id}")
def show_case(request: Request, services: ServicesDep, session: SessionDep,
              identity: IdentityDep, case_id: int) -> Response:
    try:
        return case_page(request, services, session, identity, case_id)
    except DomainError as exc:
        return cases_page(request, services, session, identity, error_notice(exc),
                          STATUS_BY_KIND[exc.kind])


@router.post("/cases/{case_id}")
def edit_case(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
              case_id: int, form: CaseFormDep,
              version: Annotated[int, Form(ge=1)]) -> Response:
    """Save the edit form; refused (the typed values kept) when the case changed meanwhile."""
    principal = require(identity, *WORKERS)
    try:
        data = CaseUpdate.model_validate(form.body())
        case_service.update_case(session, actor=principal, cipher=services.cipher,
                                 case_id=case_id, expected_version=version, data=data)
    except (forms.FormError, ValidationError, InvalidInput) as exc:
        return case_page(request, services, session, identity, case_id,
                         ("error", "Not saved: correct the fields marked.", {}), 422,
                         form.values, form_errors(exc))
    except DomainError as exc:
        if exc.kind == "precondition_failed":
            return case_page(request, services, session, identity, case_id, (
                "error", "Not saved: someone changed this case meanwhile. The page now shows "
                "the current case; make your change again.", {}), 412)
        return case_page(request, services, session, identity, case_id, error_notice(exc),
                         STATUS_BY_KIND[exc.kind])
    return case_page(request, services, session, identity, case_id,
                     ("ok", "Case saved.", {}))
