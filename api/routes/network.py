"""The partner network over HTTP: the directory, consent releases and referrals.

Directory reads are open to every account, writes to admins. Releases and referrals belong to
the case's agency (advocates, case managers) and admins; another agency gets 404. A referral
never needs a release unless it shares personal fields. See docs/network.md.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from api.deps import IfMatchDep, PageDep, PrincipalDep, ServicesDep, SessionDep, etag, parse_near
from core.errors import InvalidInput
from core.languages import normalise_language
from network.consent import service as consent_service
from network.consent.models import ReleaseCreate, ReleasePublic
from network.directory import hsds as directory_hsds
from network.directory import service as directory_service
from network.directory.models import (
    LawLevel,
    OrganizationCreate,
    OrganizationKind,
    OrganizationPublic,
    ServiceType,
)
from network.directory.search import (
    DirectoryQuery,
    OrganizationPage,
    ServicePage,
    search_organizations,
    search_services,
)
from network.referrals import service as referral_service
from network.referrals.models import ReferralCreate, ReferralPublic, ReferralUpdate

router = APIRouter(prefix="/v1", tags=["network"])

HsdsDocument = Annotated[
    dict[str, Any] | list[Any],
    Body(description="HSDS 3.0 organizations (with nested services), a list, or an HSDA page"),
]


def _query(near: str | None, city: str | None, county: str | None, state: str | None,
           service: ServiceType | None, language: str | None, open_now: bool,
           limit: int, offset: int, **extra: Any) -> DirectoryQuery:
    lat = lon = None
    if near is not None:
        lat, lon = parse_near(near, example="29.76,-95.37")
    if language is not None:
        try:
            language = normalise_language(language)
        except ValueError as exc:
            raise InvalidInput("language", str(exc)) from exc
    if near is None and city is None and county is None and state is None:
        raise InvalidInput("near", "give near=lat,lon, city and state, or state")
    return DirectoryQuery(lat=lat, lon=lon, city=city, county=county, state=state,
                          service_type=service, language=language, open_now=open_now,
                          limit=limit, offset=offset, **extra)


Near = Annotated[str | None, Query(description="lat,lon of the place to be served")]
City = Annotated[str | None, Query(min_length=1, max_length=100)]
State = Annotated[str | None, Query(pattern="^[A-Z]{2}$")]
Language = Annotated[str | None, Query(max_length=12)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=100_000)]


@router.get("/directory/services", response_model=ServicePage)
def find_services(session: SessionDep, principal: PrincipalDep, near: Near = None,
                  city: City = None, county: City = None, state: State = None,
                  service: ServiceType | None = None, language: Language = None,
                  open_now: bool = False, limit: Limit = 20, offset: Offset = 0) -> object:
    del principal  # any account may read the directory
    query = _query(near, city, county, state, service, language, open_now, limit, offset)
    return search_services(session, query=query)


@router.get("/directory/organizations", response_model=OrganizationPage)
def find_organizations(session: SessionDep, principal: PrincipalDep, near: Near = None,
                       city: City = None, county: City = None, state: State = None,
                       service: ServiceType | None = None, language: Language = None,
                       open_now: bool = False, kind: OrganizationKind | None = None,
                       law_level: LawLevel | None = None, specialised: bool | None = None,
                       limit: Limit = 20, offset: Offset = 0) -> object:
    del principal
    query = _query(near, city, county, state, service, language, open_now, limit, offset,
                   kind=kind, law_level=law_level, specialised=specialised)
    return search_organizations(session, query=query)


@router.post("/directory/organizations", response_model=OrganizationPublic, status_code=201)
def create_organization(body: OrganizationCreate, session: SessionDep,
                        principal: PrincipalDep) -> object:
    return directory_service.create_organization(session, actor=principal, data=body)


@router.get("/directory/organizations/{organization_id}", response_model=OrganizationPublic)
def get_organization(organization_id: int, session: SessionDep,
                     principal: PrincipalDep) -> object:
    return directory_service.get_organization(session, actor=principal,
                                              organization_id=organization_id)


@router.post("/directory/hsds")
def import_hsds(document: HsdsDocument, session: SessionDep, principal: PrincipalDep,
                dry_run: Annotated[bool, Query(description="validate only")] = False
                ) -> dict[str, Any]:
    return directory_hsds.import_directory(session, actor=principal, document=document,
                                           dry_run=dry_run)


@router.get("/directory/hsds")
def export_hsds(session: SessionDep, principal: PrincipalDep,
                page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                per_page: Annotated[int, Query(ge=1, le=100)] = 50) -> dict[str, Any]:
    return directory_hsds.export_directory(session, actor=principal, page=page,
                                           per_page=per_page)


@router.post("/cases/{case_id}/releases", response_model=ReleasePublic, status_code=201)
def create_release(case_id: int, body: ReleaseCreate, session: SessionDep,
                   principal: PrincipalDep, services: ServicesDep) -> object:
    max_days = services.settings.release_max_days
    return consent_service.create_release(session, actor=principal, cipher=services.cipher,
                                          case_id=case_id, data=body, max_days=int(max_days))


@router.get("/cases/{case_id}/releases", response_model=list[ReleasePublic])
def list_releases(case_id: int, session: SessionDep, principal: PrincipalDep,
                  services: ServicesDep) -> object:
    return consent_service.list_releases(session, actor=principal, cipher=services.cipher,
                                         case_id=case_id)


@router.post("/releases/{release_id}/revoke", response_model=ReleasePublic)
def revoke_release(release_id: int, session: SessionDep, principal: PrincipalDep,
                   services: ServicesDep) -> object:
    return consent_service.revoke_release(session, actor=principal, cipher=services.cipher,
                                          release_id=release_id)


@router.post("/referrals", response_model=ReferralPublic, status_code=201)
def create_referral(body: ReferralCreate, session: SessionDep, principal: PrincipalDep,
                    services: ServicesDep, response: Response) -> object:
    referral = referral_service.create_referral(session, actor=principal,
                                                cipher=services.cipher, data=body)
    response.headers["ETag"] = etag(referral.version)
    return referral


@router.get("/referrals", response_model=list[ReferralPublic])
def list_referrals(session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                   page: PageDep,
                   case_id: Annotated[int | None, Query(ge=1)] = None,
                   overdue: bool = False) -> object:
    return referral_service.list_referrals(session, actor=principal, cipher=services.cipher,
                                           case_id=case_id, overdue=overdue,
                                           limit=page.limit, offset=page.offset)


@router.get("/referrals/{referral_id}", response_model=ReferralPublic)
def get_referral(referral_id: int, session: SessionDep, principal: PrincipalDep,
                 services: ServicesDep, response: Response) -> object:
    referral = referral_service.get_referral(session, actor=principal, cipher=services.cipher,
                                             referral_id=referral_id)
    response.headers["ETag"] = etag(referral.version)
    return referral


@router.patch("/referrals/{referral_id}", response_model=ReferralPublic)
def update_referral(referral_id: int, body: ReferralUpdate, version: IfMatchDep,
                    session: SessionDep, principal: PrincipalDep, services: ServicesDep,
                    response: Response) -> object:
    referral = referral_service.update_referral(
        session, actor=principal, cipher=services.cipher, referral_id=referral_id,
        expected_version=version, data=body)
    response.headers["ETag"] = etag(referral.version)
    return referral
