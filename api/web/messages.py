"""The messages page: what left Homeward for the agency (or one case), and how far it got.

It lists the outbox through the same use case as `GET /v1/messages` (audited alike), with the
delivery state, attempts and last error of each message; bodies are never shown here. Those
who manage delivery (agency and platform admins) get a "Send again" button on dead messages,
the same use case as `POST /v1/messages/{id}/retry`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.errors import STATUS_BY_KIND
from api.web.common import IdentityDep, PostDep, render, require
from core.errors import DomainError
from core.models import Role
from core.principal import Principal
from delivery import service as delivery_service
from delivery.models import MessageState

router = APIRouter(prefix="/web", include_in_schema=False)
ROLES = (Role.ADVOCATE, Role.CASE_MANAGER)
Notice = tuple[str, str, dict[str, object]]


def _page(request: Request, services: ServicesDep, session: SessionDep,
          principal: Principal, identity: IdentityDep, *, case_id: int | None,
          state: MessageState | None, notice: Notice | None = None,
          status: int = 200) -> Response:
    session.rollback()
    rows = delivery_service.list_messages(session, actor=principal, cipher=services.cipher,
                                          case_id=case_id, state=state, limit=100)
    return render(request, services.settings, "messages.html", identity=identity,
                  status=status, messages=rows, case_id=case_id,
                  state=state.value if state else "", states=[s.value for s in MessageState],
                  can_retry=principal.is_platform_admin or principal.is_agency_admin,
                  notice=notice)


@router.get("/messages")
def messages_page(request: Request, services: ServicesDep, session: SessionDep,
                  identity: IdentityDep,
                  case_id: Annotated[int | None, Query(ge=1)] = None,
                  state: MessageState | None = None) -> Response:
    principal = require(identity, *ROLES)
    return _page(request, services, session, principal, identity, case_id=case_id,
                 state=state)


@router.post("/messages/{message_id}/retry")
def retry_message(request: Request, services: ServicesDep, session: SessionDep,
                  identity: PostDep, message_id: int,
                  case_id: Annotated[int | None, Form(ge=1)] = None,
                  state: Annotated[MessageState | None, Form()] = None) -> Response:
    """Send a dead message again, then show the list as it was filtered."""
    principal = require(identity, *ROLES)
    try:
        delivery_service.retry_message(session, actor=principal, cipher=services.cipher,
                                       message_id=message_id)
    except DomainError as exc:
        return _page(request, services, session, principal, identity, case_id=case_id,
                     state=state, notice=("error", "{detail}", {"detail": exc.detail}),
                     status=STATUS_BY_KIND[exc.kind])
    return _page(request, services, session, principal, identity, case_id=case_id,
                 state=state, notice=("ok", "Message {id} will be sent again.",
                                      {"id": message_id}))
