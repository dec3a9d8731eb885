"""Agencies, accounts, API tokens and the audit log over HTTP (`/v1/me`, `/v1/accounts`, ...)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import IfMatchDep, PageDep, PrincipalDep, ServicesDep, SessionDep, etag
from core import service
from core.models import (
    AccountCreate,
    AccountPublic,
    AccountUpdate,
    AccountWithToken,
    AgencyCreate,
    AgencyPublic,
    AuditEntryPublic,
    TokenCreate,
    TokenIssued,
    TokenPublic,
)

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.get("/me", response_model=AccountPublic)
def me(session: SessionDep, principal: PrincipalDep) -> object:
    assert principal.account_id is not None
    return service.get_account(session, actor=principal, account_id=principal.account_id)


@router.get("/agencies", response_model=list[AgencyPublic])
def list_agencies(session: SessionDep, principal: PrincipalDep) -> object:
    return service.list_agencies(session, actor=principal)


@router.post("/agencies", response_model=AgencyPublic, status_code=201)
def create_agency(body: AgencyCreate, session: SessionDep, principal: PrincipalDep) -> object:
    return service.create_agency(session, actor=principal, data=body)


@router.get("/accounts", response_model=list[AccountPublic])
def list_accounts(session: SessionDep, principal: PrincipalDep, page: PageDep) -> object:
    return service.list_accounts(session, actor=principal, limit=page.limit, offset=page.offset)


@router.post("/accounts", response_model=AccountWithToken, status_code=201)
def create_account(body: AccountCreate, session: SessionDep, principal: PrincipalDep) -> object:
    account, token = service.create_account(session, actor=principal, data=body)
    return AccountWithToken(account=AccountPublic.model_validate(account), token=token)


@router.get("/accounts/{account_id}", response_model=AccountPublic)
def get_account(
    account_id: int, session: SessionDep, principal: PrincipalDep, response: Response
) -> object:
    account = service.get_account(session, actor=principal, account_id=account_id)
    response.headers["ETag"] = etag(account.version)
    return account


@router.patch("/accounts/{account_id}", response_model=AccountPublic)
def update_account(
    account_id: int, body: AccountUpdate, version: IfMatchDep, session: SessionDep,
    principal: PrincipalDep, response: Response,
) -> object:
    account = service.update_account(session, actor=principal, account_id=account_id,
                                     expected_version=version, data=body)
    response.headers["ETag"] = etag(account.version)
    return account


@router.get("/accounts/{account_id}/tokens", response_model=list[TokenPublic])
def list_tokens(account_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return service.list_tokens(session, actor=principal, account_id=account_id)


@router.post("/accounts/{account_id}/tokens", response_model=TokenIssued, status_code=201)
def issue_token(
    account_id: int, body: TokenCreate, session: SessionDep, principal: PrincipalDep,
    services: ServicesDep,
) -> object:
    limits = service.TokenLimits(max_active=services.settings.max_tokens_per_account,
                                 holder_max_days=services.settings.token_ttl_days)
    return service.issue_token(session, actor=principal, account_id=account_id,
                               ttl_days=body.ttl_days, password=body.password, limits=limits)


@router.delete("/tokens/{token_id}", response_model=TokenPublic)
def revoke_token(token_id: int, session: SessionDep, principal: PrincipalDep) -> object:
    return service.revoke_token(session, actor=principal, token_id=token_id)


@router.get("/audit", response_model=list[AuditEntryPublic])
def list_audit(
    session: SessionDep, principal: PrincipalDep, page: PageDep,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
) -> object:
    return service.list_audit(session, actor=principal, object_type=object_type,
                              object_id=object_id, limit=page.limit, offset=page.offset)
