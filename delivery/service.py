"""Use cases of delivery: register endpoints, and read messages and their delivery state.

Endpoints: a platform admin registers a partner organisation's; an agency's admin (or a
platform admin) the agency's desks and on-call contact; an account its own, or its agency's
admin for it; the staff of a case's agency a survivor's safe channel. Addresses and secrets
are sealed and never shown again. A case's owner agency is read from the `survivor_case`
table by name, as `core.purge` walks tables, so that this package imports no domain package.

Messages: the caller's agency's (every agency's for a platform admin), newest first, filtered
by state, case, channel or kind. Bodies are shown only to advocates and case managers of the
message's agency and to platform admins; anyone else sees the delivery state with `body: null`.
Every list and read is audited with the ids it showed. A dead message can be sent again
(`retry_message`) by those who manage delivery, with its idempotency key unchanged.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import Table, select, update
from sqlmodel import Session, SQLModel, col

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.models import Account, Role
from core.principal import SYSTEM, Principal
from delivery import sms
from delivery.channels import webhook_url_ok
from delivery.errors import (
    EndpointNotFound,
    InvalidDelivery,
    MessageNotFound,
    MessageNotRetryable,
    ReceiptRefused,
)
from delivery.models import (
    Channel,
    DeliveryEndpoint,
    EndpointCreate,
    EndpointPublic,
    MessagePublic,
    MessageState,
    OutboxMessage,
    Purpose,
)
from delivery.outbox import ADDRESS_FIELD, SECRET_FIELD, Recipient, endpoints_for, open_body

BODY_READERS = (Role.ADVOCATE, Role.CASE_MANAGER)
READERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.SHELTER_COORDINATOR)
RETRY_ATTEMPTS = 8  # a retried message's new budget of attempts
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _case_agency(session: Session, case_id: int) -> int | None:
    table: Table = SQLModel.metadata.tables["survivor_case"]
    found = session.execute(select(table.c.agency_id).where(table.c.id == case_id)).first()
    return None if found is None else int(found[0])


def _check_owner(session: Session, actor: Principal, data: EndpointCreate) -> int | None:
    """Refuse an owner the caller may not configure; the endpoint's agency for its audit."""
    owners = [data.organization_id, data.agency_id, data.account_id, data.case_id]
    if sum(o is not None for o in owners) != 1:
        raise InvalidDelivery("owner", "give exactly one of organization_id, agency_id, "
                                       "account_id, case_id")
    if data.organization_id is not None:
        actor.require_platform_admin()
        orgs: Table = SQLModel.metadata.tables["directory_organization"]
        if session.execute(select(orgs.c.id).where(orgs.c.id == data.organization_id)
                           ).first() is None:
            raise InvalidDelivery("organization_id", "no organization of the directory has "
                                                     "this id")
        return None
    if data.agency_id is not None:
        if not actor.administers(data.agency_id):
            raise EndpointNotFound(f"agency {data.agency_id} not found")
        return data.agency_id
    if data.account_id is not None:
        account = session.get(Account, data.account_id)
        if account is None or not (account.id == actor.account_id
                                   or actor.administers(account.agency_id)):
            raise EndpointNotFound(f"account {data.account_id} not found")
        return account.agency_id
    assert data.case_id is not None
    agency = _case_agency(session, data.case_id)
    if agency is None or not (actor.is_platform_admin or agency == actor.agency_id):
        raise EndpointNotFound(f"case {data.case_id} not found")
    actor.require_role(Role.ADVOCATE, Role.CASE_MANAGER)
    return agency


def _check_address(data: EndpointCreate) -> None:
    if data.channel is Channel.WEBHOOK:
        if not webhook_url_ok(data.address):
            raise InvalidDelivery("address", "a webhook needs an https URL (http only to a "
                                             "loopback host)")
        if data.secret is None:
            raise InvalidDelivery("secret", "a webhook needs a secret to sign with")
    elif data.channel is Channel.EMAIL and not re.match(_EMAIL, data.address):
        raise InvalidDelivery("address", "not an email address")
    elif data.channel is Channel.SMS and not re.match(r"^\+[1-9][0-9]{6,14}$", data.address):
        raise InvalidDelivery("address", "give the phone number in E.164 form (+15551234567)")


def endpoint_public(row: DeliveryEndpoint) -> EndpointPublic:
    assert row.id is not None
    return EndpointPublic.model_validate(row, from_attributes=True)


def create_endpoint(session: Session, *, actor: Principal, cipher: FieldCipher,
                    data: EndpointCreate) -> EndpointPublic:
    agency = _check_owner(session, actor, data)
    _check_address(data)
    row = DeliveryEndpoint(
        organization_id=data.organization_id, agency_id=data.agency_id,
        account_id=data.account_id, case_id=data.case_id, purpose=data.purpose,
        channel=data.channel, address_sealed=cipher.seal(data.address, field=ADDRESS_FIELD),
        secret_sealed=cipher.seal_optional(data.secret, field=SECRET_FIELD),
        settings=dict(data.settings), safe=data.safe, discreet=data.discreet,
        created_by=actor.account_id)
    session.add(row)
    session.flush()
    assert row.id is not None
    audit.record(session, actor, action="endpoint.create", object_type="delivery_endpoint",
                 object_id=row.id, purpose="delivery",
                 details={"channel": data.channel.value, "agency_id": agency,
                          "organization_id": data.organization_id,
                          "case_id": data.case_id, "purpose": data.purpose.value})
    public = endpoint_public(row)
    session.commit()
    return public


def list_endpoints(session: Session, *, actor: Principal) -> list[EndpointPublic]:
    """Endpoints of the caller's agency and its accounts (all for a platform admin), without
    addresses or secrets."""
    query = select(DeliveryEndpoint).order_by(col(DeliveryEndpoint.id))
    if not actor.is_platform_admin:
        accounts = select(col(Account.id)).where(col(Account.agency_id) == actor.agency_id)
        query = query.where(
            (col(DeliveryEndpoint.agency_id) == actor.agency_id)
            | col(DeliveryEndpoint.account_id).in_(accounts))
    rows = session.execute(query).scalars().all()
    return [endpoint_public(r) for r in rows]


def _visible(actor: Principal, row: OutboxMessage) -> bool:
    return actor.is_platform_admin or (row.agency_id is not None
                                       and row.agency_id == actor.agency_id)


def _may_read_body(actor: Principal) -> bool:
    return actor.is_platform_admin or actor.role in BODY_READERS


def present(cipher: FieldCipher, row: OutboxMessage, *, body: bool) -> MessagePublic:
    assert row.id is not None
    return MessagePublic(
        id=row.id, kind=row.kind, agency_id=row.agency_id, case_id=row.case_id,
        endpoint_id=row.endpoint_id, channel=row.channel, recipient=row.recipient,
        source_type=row.source_type, source_id=row.source_id,
        escalation_level=row.escalation_level, idempotency_key=row.idempotency_key,
        state=row.state, attempts=row.attempts, max_attempts=row.max_attempts,
        next_attempt_at=row.next_attempt_at, last_error=row.last_error, receipt=row.receipt,
        created_at=row.created_at, delivered_at=row.delivered_at,
        body=open_body(cipher, row) if body and row.body_sealed else None)


def list_messages(session: Session, *, actor: Principal, cipher: FieldCipher,
                  state: MessageState | None = None, case_id: int | None = None,
                  channel: Channel | None = None, kind: str | None = None,
                  since: datetime | None = None, limit: int = 100,
                  offset: int = 0) -> list[MessagePublic]:
    actor.require_role(*READERS)
    query = select(OutboxMessage)
    if not actor.is_platform_admin:
        query = query.where(col(OutboxMessage.agency_id) == actor.agency_id)
    if state is not None:
        query = query.where(col(OutboxMessage.state) == state.value)
    if case_id is not None:
        query = query.where(col(OutboxMessage.case_id) == case_id)
    if channel is not None:
        query = query.where(col(OutboxMessage.channel) == channel.value)
    if kind is not None:
        query = query.where(col(OutboxMessage.kind) == kind)
    if since is not None:
        query = query.where(col(OutboxMessage.created_at) >= since)
    rows = session.execute(query.order_by(col(OutboxMessage.id).desc())
                           .limit(limit).offset(offset)).scalars().all()
    body = _may_read_body(actor)
    audit.record(session, actor, action="message.list_read", object_type="outbox_message",
                 object_id=case_id if case_id is not None else "agency", purpose="delivery",
                 details={"ids": [r.id for r in rows], "bodies": body})
    public = [present(cipher, r, body=body) for r in rows]
    session.commit()
    return public


def get_message(session: Session, *, actor: Principal, cipher: FieldCipher,
                message_id: int) -> MessagePublic:
    actor.require_role(*READERS)
    row = session.get(OutboxMessage, message_id)
    if row is None or not _visible(actor, row):
        raise MessageNotFound(f"message {message_id} not found")
    body = _may_read_body(actor)
    audit.record(session, actor, action="message.read", object_type="outbox_message",
                 object_id=message_id, purpose="delivery", details={"body": body})
    public = present(cipher, row, body=body)
    session.commit()
    return public


def record_sms_receipt(session: Session, *, cipher: FieldCipher, url: str,
                       params: dict[str, str], signature: str) -> None:
    """A provider's delivery receipt: verified with the endpoint's auth token against the
    endpoint's `status_callback` (the URL the provider signed; else `url`), then kept on the
    message (`receipt`); a carrier's failure makes the message dead with the reason. Unknown
    messages and bad signatures are refused alike."""
    sid = params.get("MessageSid", "")
    row = session.execute(select(OutboxMessage).where(
        col(OutboxMessage.provider_ref) == sid)).scalars().first() if sid else None
    endpoint = session.get(DeliveryEndpoint, row.endpoint_id) \
        if row is not None and row.endpoint_id is not None else None
    token = None if endpoint is None else cipher.open_optional(endpoint.secret_sealed,
                                                               field=SECRET_FIELD)
    if row is None or endpoint is None or token is None or not sms.receipt_ok(
            token, str(endpoint.settings.get("status_callback") or url), params, signature):
        raise ReceiptRefused("the receipt does not verify")
    status = params.get("MessageStatus", "")[:16]
    values: dict[str, object] = {"receipt": status}
    if status in sms.FAILED:
        values.update(state=MessageState.DEAD.value,
                      last_error=f"carrier reported {status} "
                                 f"({params.get('ErrorCode', 'no code')})"[:300])
    session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row.id)
                    .values(**values))
    audit.record(session, SYSTEM, action="message.receipt", object_type="outbox_message",
                 object_id=row.id, purpose="delivery", details={"status": status})
    session.commit()


def _endpoint_for_retry(session: Session, row: OutboxMessage) -> DeliveryEndpoint | None:
    """The message's own endpoint while active, else the first active one of its recipient
    (a message dead for want of an endpoint goes to the one configured since)."""
    current = session.get(DeliveryEndpoint, row.endpoint_id) if row.endpoint_id else None
    if current is not None and current.active:
        return current
    kind, _, rest = row.recipient.partition(":")
    ident, _, purpose = rest.partition(":")
    if not ident.isdigit():
        return None
    owner = {"organization": "organization_id", "agency": "agency_id",
             "account": "account_id", "survivor": "case_id"}.get(kind)
    if owner is None:
        return None
    to = Recipient(**{owner: int(ident)},
                   purpose=Purpose(purpose) if purpose else Purpose.DEFAULT)
    found = endpoints_for(session, to)
    return found[0] if found else None


def retry_message(session: Session, *, actor: Principal, cipher: FieldCipher,
                  message_id: int) -> MessagePublic:
    """Send a dead message again: pending at once with a fresh budget of attempts, and the
    same idempotency key, so a receiver that did process it after all still sees it once.
    Attempts keep counting (each attempt is a distinct signed request, never a replay).
    For those who manage delivery: the message's agency's admins and platform admins (others
    get the 404 of a missing message, or 403 for a reader of the agency). Audited."""
    row = session.get(OutboxMessage, message_id)
    if row is None or not _visible(actor, row):
        raise MessageNotFound(f"message {message_id} not found")
    if not actor.administers(row.agency_id):
        actor.require_platform_admin()
    if row.state != MessageState.DEAD:
        raise MessageNotRetryable(f"message {message_id} is {row.state}; only a dead message "
                                  "is sent again")
    if not row.body_sealed:
        raise MessageNotRetryable(f"message {message_id}'s body was purged by retention")
    endpoint = _endpoint_for_retry(session, row)
    if endpoint is None:
        raise MessageNotRetryable(f"no active endpoint reaches {row.recipient}: configure one, "
                                  "then retry")
    previous = row.last_error
    now = utcnow()
    session.execute(update(OutboxMessage).where(
        col(OutboxMessage.id) == message_id,
        col(OutboxMessage.state) == MessageState.DEAD.value,
    ).values(state=MessageState.PENDING.value, max_attempts=row.attempts + RETRY_ATTEMPTS,
             next_attempt_at=now,
             last_error=None, lease_until=None, claimed_by=None, receipt=None,
             endpoint_id=endpoint.id, channel=str(endpoint.channel)))
    audit.record(session, actor, action="message.retry", object_type="outbox_message",
                 object_id=message_id, purpose="delivery",
                 details={"previous_error": previous, "endpoint_id": endpoint.id})
    session.refresh(row)
    public = present(cipher, row, body=_may_read_body(actor))
    session.commit()
    return public
