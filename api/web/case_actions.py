"""The case page's actions: hold a bed, release or confirm a hold, refer, record a release.

Each is one use case the JSON API also calls (`POST /v1/shelters/{id}/holds`,
`DELETE /v1/holds/{id}`, `POST /v1/holds/{id}/confirm`, `POST /v1/referrals`,
`POST /v1/cases/{id}/releases`, `POST /v1/releases/{id}/revoke`), with the same rules; the
answer is the case page again with a notice saying what happened or why not. The referral's
recipient is picked from a directory search (`GET .../recipients`, `recipient_search.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import Services, ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web import forms, recipient_search, wording
from api.web.cases import WORKERS, Notice, case_page, cases_page, error_notice
from api.web.common import IdentityDep, PostDep, render, require
from core.errors import DomainError
from core.web_auth import WebIdentity
from logistics.beds import holds as hold_service
from logistics.beds.holds import HoldLimits
from logistics.beds.models import HoldCreate
from logistics.cases import service as case_service
from logistics.vocabulary import BedType
from network.consent import service as consent_service
from network.consent.models import CaseFieldGroup, ReleaseCreate
from network.directory.models import ServiceType
from network.referrals import service as referral_service
from network.referrals.models import ReferralCreate

router = APIRouter(prefix="/web/cases/{case_id}", include_in_schema=False)


def _refused(request: Request, services: Services, session: Session, identity: WebIdentity,
             case_id: int, exc: Exception) -> Response:
    """The case page again with why a form was refused: the form's own words, the API's
    validation messages, or the domain error, with the status the API would answer."""
    if isinstance(exc, DomainError):
        return case_page(request, services, session, identity, case_id, error_notice(exc),
                         STATUS_BY_KIND[exc.kind])
    detail = (forms.validation_errors(exc) if isinstance(exc, ValidationError)
              else exc.errors if isinstance(exc, forms.FormError)
              else [("form", wording.Phrase(str(exc)))])
    return case_page(request, services, session, identity, case_id,
                     ("error", "{detail}", {"detail": detail}), 422)


@router.post("/holds")
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
        return case_page(request, services, session, identity, case_id, error_notice(exc),
                         STATUS_BY_KIND[exc.kind])
    return case_page(request, services, session, identity, case_id,
                     ("ok", "Held {beds} bed(s): hold {id}, until {until} UTC.",
                      {"beds": held.beds, "id": held.id,
                       "until": held.expires_at.strftime("%H:%M")}))


@router.post("/holds/{hold_id}")
def close_hold(request: Request, services: ServicesDep, session: SessionDep,
               identity: PostDep, case_id: int, hold_id: int,
               action: Annotated[str, Form(pattern="^(release|confirm)$")]) -> Response:
    principal = require(identity, *WORKERS)
    confirm = action == "confirm"
    try:
        hold_service.close_hold(session, actor=principal, hold_id=hold_id, confirm=confirm)
    except DomainError as exc:
        return case_page(request, services, session, identity, case_id, error_notice(exc),
                         STATUS_BY_KIND[exc.kind])
    notice: Notice = (("ok", "Hold {id} confirmed: the beds are now occupied.", {"id": hold_id})
                      if confirm else
                      ("ok", "Hold {id} released: the beds are free again.", {"id": hold_id}))
    return case_page(request, services, session, identity, case_id, notice)


@router.post("/referrals")
def refer(request: Request, services: ServicesDep, session: SessionDep, identity: PostDep,
          case_id: int, service_type: Annotated[ServiceType, Form()],
          recipient_id: Annotated[str, Form(max_length=12)] = "",
          share: Annotated[str, Form(pattern="^(released|none)$")] = "released") -> Response:
    principal = require(identity, *WORKERS)
    try:
        if not recipient_id.strip():
            raise forms.FormError([("recipient_id", "search the directory and choose the "
                                                    "organization the referral goes to")])
        data = ReferralCreate.model_validate({
            "case_id": case_id, "recipient_id": forms.whole(recipient_id, "recipient_id"),
            "service_type": service_type, "fields": None if share == "released" else []})
        made = referral_service.create_referral(session, actor=principal,
                                                cipher=services.cipher, data=data)
    except (forms.FormError, ValidationError, DomainError) as exc:
        return _refused(request, services, session, identity, case_id, exc)
    return case_page(request, services, session, identity, case_id,
                     ("ok", "Referral {id} sent.", {"id": made.id}))


@router.post("/releases")
def record_release(request: Request, services: ServicesDep, session: SessionDep,
                   identity: PostDep, case_id: int,
                   recipient_id: Annotated[str, Form(max_length=12)],
                   purpose: Annotated[str, Form(max_length=500)] = "",
                   fields: Annotated[list[CaseFieldGroup] | None, Form()] = None
                   ) -> Response:
    principal = require(identity, *WORKERS)
    try:
        data = ReleaseCreate.model_validate({
            "recipient_id": forms.whole(recipient_id, "recipient_id"),
            "fields": list(fields or []), "purpose": purpose.strip()})
        made = consent_service.create_release(
            session, actor=principal, cipher=services.cipher, case_id=case_id, data=data,
            max_days=int(services.settings.release_max_days))
    except (forms.FormError, ValidationError, DomainError) as exc:
        return _refused(request, services, session, identity, case_id, exc)
    return case_page(request, services, session, identity, case_id,
                     ("ok", "Release {id} recorded.", {"id": made.id}))


@router.post("/releases/{release_id}/revoke")
def revoke_release(request: Request, services: ServicesDep, session: SessionDep,
                   identity: PostDep, case_id: int, release_id: int) -> Response:
    principal = require(identity, *WORKERS)
    try:
        consent_service.revoke_release(session, actor=principal, cipher=services.cipher,
                                       release_id=release_id)
    except DomainError as exc:
        return case_page(request, services, session, identity, case_id, error_notice(exc),
                         STATUS_BY_KIND[exc.kind])
    return case_page(request, services, session, identity, case_id,
                     ("ok", "Release {id} revoked.", {"id": release_id}))


Text = Annotated[str, Query(max_length=100)]


@router.get("/recipients")
def recipients(request: Request, services: ServicesDep, session: SessionDep,
               identity: IdentityDep, case_id: int, name: Text = "", city: Text = "",
               state: Annotated[str, Query(max_length=2)] = "",
               service: Annotated[str, Query(max_length=40)] = "",
               language: Annotated[str, Query(max_length=12)] = "") -> Response:
    principal = require(identity, *WORKERS)
    try:
        case = case_service.get_case(session, actor=principal, cipher=services.cipher,
                                     case_id=case_id)
    except DomainError as exc:  # another agency's case reads as not found, as in the API
        return cases_page(request, services, session, identity, error_notice(exc),
                          STATUS_BY_KIND[exc.kind])
    found = recipient_search.search(session, case, recipient_search.RecipientSearch(
        name=name, city=city, state=state, service=service,
        language=language))
    if request.headers.get("hx-request") == "true":
        return render(request, services.settings, "_recipients.html", identity=identity,
                      found=found, case=case)
    return case_page(request, services, session, identity, case_id, recipients=found)
