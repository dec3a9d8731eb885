"""The transactional outbox: `enqueue` writes a message in the caller's transaction.

Why a top-level package: logistics (check-in alerts), network (referrals, tips) and
safety_plans (plan SMS) all cause messages, so the outbox must sit below all three; it needs
the field cipher and the audit log of `core`, and nothing of any domain. `core` itself stays
the kernel of accounts and storage, so `delivery` is a layer of its own between them:
api -> safety_plans, network, logistics -> delivery -> core (tests/unit/test_architecture.py).
A message exists if and only if the change that caused it committed, because the caller adds
it to the same session and commits once. Bodies are sealed with the field cipher; a message or
endpoint of a case hangs off the case by foreign key and is purged with it.

Content is decided by the caller (it knows the consent and the minimisation rules); this module
enforces the two rules that must hold whoever calls: a message to a survivor goes only to an
endpoint the survivor marked safe, and never carries a link.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.crypto import FieldCipher
from delivery.models import DeliveryEndpoint, MessageState, OutboxMessage, Purpose

BODY_FIELD = "outbox_message.body"
ADDRESS_FIELD = "delivery_endpoint.address"
SECRET_FIELD = "delivery_endpoint.secret"  # noqa: S105 (a field name, not a secret)
NO_ENDPOINT = "no active endpoint is configured for this recipient"
_LINK = re.compile(r"(?i)(https?://|www\.|/web/|/v1/)")


@dataclass(frozen=True)
class Recipient:
    """Whom a message is for: one of an organisation, an agency desk (`purpose`), an account
    or a case's survivor."""

    organization_id: int | None = None
    agency_id: int | None = None
    account_id: int | None = None
    case_id: int | None = None
    purpose: Purpose = Purpose.DEFAULT

    @property
    def label(self) -> str:
        if self.organization_id is not None:
            return f"organization:{self.organization_id}"
        if self.agency_id is not None:
            return f"agency:{self.agency_id}:{self.purpose.value}"
        if self.account_id is not None:
            return f"account:{self.account_id}"
        return f"survivor:{self.case_id}"

    @property
    def is_survivor(self) -> bool:
        return self.case_id is not None and self.organization_id is None \
            and self.agency_id is None and self.account_id is None


def endpoints_for(session: Session, to: Recipient) -> list[DeliveryEndpoint]:
    """The active endpoints reaching `to`, oldest first; a survivor's only when marked safe."""
    query = select(DeliveryEndpoint).where(col(DeliveryEndpoint.active).is_(True))
    if to.organization_id is not None:
        query = query.where(DeliveryEndpoint.organization_id == to.organization_id)
    elif to.agency_id is not None:
        query = query.where(DeliveryEndpoint.agency_id == to.agency_id,
                            DeliveryEndpoint.purpose == to.purpose.value)
    elif to.account_id is not None:
        query = query.where(DeliveryEndpoint.account_id == to.account_id)
    elif to.case_id is not None:
        query = query.where(DeliveryEndpoint.case_id == to.case_id,
                            col(DeliveryEndpoint.safe).is_(True))
    else:
        return []
    return list(session.exec(query.order_by(col(DeliveryEndpoint.id))).all())


def has_link(text: str) -> bool:
    return bool(_LINK.search(text))


def enqueue(session: Session, *, cipher: FieldCipher, kind: str, to: Recipient,
            body: dict[str, Any], agency_id: int | None, source_type: str, source_id: object,
            case_id: int | None = None, not_before: datetime | None = None,
            escalation_level: int = 0, max_attempts: int = 8,
            now: datetime | None = None) -> list[OutboxMessage]:
    """Add one message per active endpoint of `to` to the session (flushed, not committed).

    With no endpoint, one `dead` message records that nothing could be sent, so the gap shows
    in `GET /v1/messages` instead of passing in silence. `body` is {"subject", "text",
    "data"}; to a survivor it must hold no link and no `data`.
    """
    if to.is_survivor and (body.get("data") or has_link(json.dumps(body))):
        raise ValueError("a message to a survivor carries neither data nor a link")
    at = now or utcnow()
    sealed = cipher.seal(json.dumps(body, sort_keys=True), field=BODY_FIELD)
    common: dict[str, Any] = {
        "kind": kind, "agency_id": agency_id, "case_id": case_id if case_id else to.case_id,
        "recipient": to.label, "source_type": source_type, "source_id": str(source_id),
        "escalation_level": escalation_level, "body_sealed": sealed,
        "max_attempts": max_attempts, "next_attempt_at": not_before or at, "created_at": at}
    rows = [OutboxMessage(**common, endpoint_id=e.id, channel=e.channel,
                          idempotency_key=uuid.uuid4().hex)
            for e in endpoints_for(session, to)]
    if not rows:
        rows = [OutboxMessage(**common, idempotency_key=uuid.uuid4().hex,
                              state=MessageState.DEAD, last_error=NO_ENDPOINT)]
    session.add_all(rows)
    session.flush()
    return rows


def cancel(session: Session, *, source_type: str, source_id: object,
           min_level: int = 1) -> int:
    """Cancel the not yet sent messages of a source at or above an escalation level (an
    acknowledged alert stops its escalation), in the caller's transaction; how many."""
    result = session.execute(update(OutboxMessage).where(
        col(OutboxMessage.source_type) == source_type,
        col(OutboxMessage.source_id) == str(source_id),
        col(OutboxMessage.escalation_level) >= min_level,
        col(OutboxMessage.state) == MessageState.PENDING.value,
    ).values(state=MessageState.CANCELLED.value, last_error="acknowledged"))
    return int(result.rowcount)  # type: ignore[attr-defined]


def open_body(cipher: FieldCipher, message: OutboxMessage) -> dict[str, Any]:
    """The message's body; {} once retention emptied it (`delivery.retention`)."""
    if not message.body_sealed:
        return {}
    value: dict[str, Any] = json.loads(cipher.open(message.body_sealed, field=BODY_FIELD))
    return value


DEFAULT_ESCALATION = timedelta(minutes=15)


def escalation_delay(session: Session, agency_id: int) -> timedelta:
    """How long an alert waits for acknowledgement before the agency's on-call contact hears
    of it: the `escalate_after_minutes` setting of its first on-call endpoint, else 15."""
    for endpoint in endpoints_for(session, Recipient(agency_id=agency_id,
                                                     purpose=Purpose.ON_CALL)):
        minutes = endpoint.settings.get("escalate_after_minutes")
        if isinstance(minutes, int) and not isinstance(minutes, bool) and minutes >= 0:
            return timedelta(minutes=minutes)
    return DEFAULT_ESCALATION
