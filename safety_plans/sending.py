"""Sending a safety plan to the survivor by SMS, through the outbox (issue 21).

The plan is rendered as standalone SMS segments (`render.render_sms`) and each segment becomes
one outbox message in this request's transaction, to the survivor's endpoints only if the
survivor marked them safe (`delivery.outbox.endpoints_for`); without one the request is
refused (409) rather than queued to nowhere. The wording is discreet unless every safe
endpoint says the survivor chose otherwise, and a message to a survivor never carries a link
into the system (the outbox refuses one). The request is audited without the text.
"""

from __future__ import annotations

from sqlmodel import Session

from core.crypto import FieldCipher
from core.principal import Principal
from delivery import outbox
from delivery.models import Channel, MessageKind
from logistics.cases.service import CASE_WORKERS
from safety_plans.access import audit_plan, open_plan, requested_language, visible_plan
from safety_plans.errors import NoSafeChannel, RenderError
from safety_plans.models import PlanSmsQueued
from safety_plans.render import DEFAULT_SMS_SEGMENTS, render_sms


def send_plan_sms(session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
                  language: str | None = None,
                  max_segments: int = DEFAULT_SMS_SEGMENTS) -> PlanSmsQueued:
    record = visible_plan(session, actor, plan_id)
    actor.require_role(*CASE_WORKERS)
    to = outbox.Recipient(case_id=record.case_id)
    safe = [e for e in outbox.endpoints_for(session, to) if e.channel == Channel.SMS]
    if not safe:
        raise NoSafeChannel(f"the survivor of case {record.case_id} has marked no SMS "
                            "number safe; record one (POST /v1/delivery/endpoints, safe: true)")
    discreet = any(e.discreet for e in safe)
    segments = render_sms(open_plan(cipher, record), requested_language(language, False),
                          discreet=discreet, max_segments=max_segments)
    if any(outbox.has_link(s) for s in segments):
        raise RenderError("plan", "the plan holds a link, which is never sent to a survivor")
    ids: list[int] = []
    for index, segment in enumerate(segments):
        for row in outbox.enqueue(session, cipher=cipher, kind=MessageKind.PLAN_SMS.value,
                                  to=to, body={"text": segment}, agency_id=record.agency_id,
                                  case_id=record.case_id, source_type="safety_plan",
                                  source_id=f"{plan_id}:{index + 1}"):
            assert row.id is not None
            ids.append(row.id)
    audit_plan(session, actor, plan_id, "send_sms",
               {"segments": len(segments), "discreet": discreet, "messages": ids})
    session.commit()
    return PlanSmsQueued(plan_id=plan_id, message_ids=ids, segments=len(segments),
                         discreet=discreet)
