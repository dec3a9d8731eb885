"""The messages page: what left Homeward for the agency (or one case), and how far it got.

It lists the outbox through the same use case as `GET /v1/messages` (audited alike), with the
delivery state, attempts and last error of each message; bodies are never shown here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import ServicesDep, SessionDep
from api.web.common import IdentityDep, render, require
from core.models import Role
from delivery import service as delivery_service
from delivery.models import MessageState

router = APIRouter(prefix="/web", include_in_schema=False)
ROLES = (Role.ADVOCATE, Role.CASE_MANAGER)


@router.get("/messages")
def messages_page(request: Request, services: ServicesDep, session: SessionDep,
                  identity: IdentityDep,
                  case_id: Annotated[int | None, Query(ge=1)] = None,
                  state: MessageState | None = None) -> Response:
    principal = require(identity, *ROLES)
    session.rollback()
    rows = delivery_service.list_messages(session, actor=principal, cipher=services.cipher,
                                          case_id=case_id, state=state, limit=100)
    return render(request, services.settings, "messages.html", identity=identity,
                  messages=rows, case_id=case_id, state=state.value if state else "",
                  states=[s.value for s in MessageState])
