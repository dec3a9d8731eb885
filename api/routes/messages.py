"""Messages that leave Homeward over HTTP: their delivery state, and the endpoints they go to.

`GET /v1/messages` and `GET /v1/messages/{id}` show the outbox (audited; bodies only to those
who may read them); `POST /v1/messages/{id}/retry` sends a dead one again (audited, same
idempotency key); `POST /v1/delivery/endpoints` registers where a partner, an agency desk, an
account or a survivor is reached; `POST /callbacks/sms-status` takes an SMS provider's signed
delivery receipts. See docs/messages.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.deps import PageDep, PrincipalDep, ServicesDep, SessionDep
from core.errors import Unauthenticated
from delivery import service as delivery_service
from delivery.models import Channel, EndpointCreate, EndpointPublic, MessagePublic, MessageState

router = APIRouter(prefix="/v1", tags=["messages"])


@router.get("/messages", response_model=list[MessagePublic])
def list_messages(
    session: SessionDep, principal: PrincipalDep, services: ServicesDep, page: PageDep,
    state: MessageState | None = None,
    case_id: Annotated[int | None, Query(ge=1)] = None,
    channel: Channel | None = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    since: datetime | None = None,
) -> object:
    return delivery_service.list_messages(
        session, actor=principal, cipher=services.cipher, state=state, case_id=case_id,
        channel=channel, kind=kind, since=since, limit=page.limit, offset=page.offset)


@router.get("/messages/{message_id}", response_model=MessagePublic)
def get_message(message_id: int, session: SessionDep, principal: PrincipalDep,
                services: ServicesDep) -> object:
    return delivery_service.get_message(session, actor=principal, cipher=services.cipher,
                                        message_id=message_id)


@router.post("/messages/{message_id}/retry", response_model=MessagePublic)
def retry_message(message_id: int, session: SessionDep, principal: PrincipalDep,
                  services: ServicesDep) -> object:
    """Send a dead message again, with the same idempotency key (agency and platform
    admins; 409 unless it is dead and still has its body and an endpoint)."""
    return delivery_service.retry_message(session, actor=principal, cipher=services.cipher,
                                          message_id=message_id)


@router.post("/delivery/endpoints", response_model=EndpointPublic, status_code=201)
def create_endpoint(body: EndpointCreate, session: SessionDep, principal: PrincipalDep,
                    services: ServicesDep) -> object:
    return delivery_service.create_endpoint(session, actor=principal, cipher=services.cipher,
                                            data=body)


@router.get("/delivery/endpoints", response_model=list[EndpointPublic])
def list_endpoints(session: SessionDep, principal: PrincipalDep) -> object:
    return delivery_service.list_endpoints(session, actor=principal)


# Outside /v1: called by a provider, not by an account; its signature is its credential.
callbacks = APIRouter(tags=["messages"])


@callbacks.post("/callbacks/sms-status", status_code=204, response_class=Response)
async def sms_receipt(request: Request, services: ServicesDep,
                      x_twilio_signature: Annotated[str, Header(max_length=200)] = "") -> Response:
    """A Twilio-style status callback (form fields MessageSid, MessageStatus, ...), signed
    with the endpoint's auth token: 401 without a signature, 403 with a wrong one."""
    if not x_twilio_signature:
        raise Unauthenticated("a signed provider callback is required")
    form = await request.form()
    params = {k: str(v) for k, v in form.items()}

    def record() -> None:
        with services.db.write_session() as session:
            delivery_service.record_sms_receipt(
                session, cipher=services.cipher, url=str(request.url), params=params,
                signature=x_twilio_signature)

    await run_in_threadpool(record)
    return Response(status_code=204)
