"""Tables of message delivery beside their API models: endpoints (where a recipient is reached)
and outbox messages (what must reach it, and how far it got).

An endpoint belongs to exactly one owner: a partner organisation of the directory, an agency
(its `on_call` contact or its `default` desk), one account (a case manager's own pager) or one
case (a survivor's safe number, purged with the case). Its address and secret are sealed with
the field cipher; only the non-secret settings (SMTP host, provider base URL) are plain JSON.
A message row holds its body sealed as one JSON document, the idempotency key the receiver
sees, and its delivery state: `pending` (due at `next_attempt_at`), `sending` (claimed by a
worker until `lease_until`), `delivered`, `dead` (with the reason) or `cancelled` (an
escalation made moot by an acknowledgement). Rows with a case hang off it by foreign key, so
`core.purge` removes them with the case.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic import Field as Value
from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, String
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import StrictBool, StrictInt, UTCDateTime


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"


class Purpose(StrEnum):
    DEFAULT = "default"
    ON_CALL = "on_call"


class MessageState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"
    CANCELLED = "cancelled"


class MessageKind(StrEnum):
    REFERRAL_SENT = "referral.sent"
    TIP_ROUTED = "tip.routed"
    ALERT_RAISED = "alert.raised"
    ALERT_ESCALATED = "alert.escalated"
    PLAN_SMS = "plan.sms"
    HOLD_LAPSING = "hold.lapsing"


def _sql_in(values: type[StrEnum]) -> str:
    return "(" + ", ".join(f"'{v.value}'" for v in values) + ")"


_ONE_OWNER = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in (
    "organization_id", "agency_id", "account_id", "case_id")) + " = 1"


class DeliveryEndpoint(SQLModel, table=True):
    __tablename__ = "delivery_endpoint"
    __table_args__ = (
        CheckConstraint(f"channel IN {_sql_in(Channel)}", name="channel"),
        CheckConstraint(f"purpose IN {_sql_in(Purpose)}", name="purpose"),
        CheckConstraint(_ONE_OWNER, name="one_owner"),
    )
    id: int | None = Field(default=None, primary_key=True)
    organization_id: int | None = Field(default=None, foreign_key="directory_organization.id",
                                        index=True)
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="survivor_case.id", index=True)
    purpose: Purpose = Field(default=Purpose.DEFAULT, sa_type=String(8))
    channel: Channel = Field(sa_type=String(8))
    address_sealed: bytes = Field(sa_type=LargeBinary)
    secret_sealed: bytes | None = Field(default=None, sa_type=LargeBinary)
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # A survivor's endpoint is used only once the survivor said it is safe to write to.
    safe: bool = False
    discreet: bool = True
    active: bool = True
    created_by: int | None = Field(default=None, foreign_key="account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"state IN {_sql_in(MessageState)}", name="state"),
        CheckConstraint(f"channel IS NULL OR channel IN {_sql_in(Channel)}", name="channel"),
        Index("ix_outbox_message_due", "state", "next_attempt_at"),
        Index("ix_outbox_message_source", "source_type", "source_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(sa_type=String(32))
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    case_id: int | None = Field(default=None, foreign_key="survivor_case.id", index=True)
    endpoint_id: int | None = Field(default=None, foreign_key="delivery_endpoint.id",
                                    index=True)
    channel: Channel | None = Field(default=None, sa_type=String(8))
    recipient: str = Field(sa_type=String(64))  # "organization:12", never an address
    source_type: str = Field(sa_type=String(32))
    source_id: str = Field(sa_type=String(64))
    escalation_level: int = 0
    body_sealed: bytes = Field(sa_type=LargeBinary)
    idempotency_key: str = Field(sa_type=String(64), unique=True)
    state: MessageState = Field(default=MessageState.PENDING, sa_type=String(12))
    attempts: int = 0
    max_attempts: int = 8
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_by: str | None = Field(default=None, sa_type=String(64))
    last_error: str | None = Field(default=None, sa_type=String(300))
    provider_ref: str | None = Field(default=None, sa_type=String(64), index=True)
    receipt: str | None = Field(default=None, sa_type=String(16))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# ---------------------------------------------------------------------------- API models


class EndpointCreate(BaseModel):
    """Exactly one owner. `address`: an https URL (webhook; http only to a loopback host), an
    email address, or an E.164 phone number. `secret`: the webhook's HMAC key, the SMTP
    password or the SMS provider's auth token. `settings`: see docs/messages.md."""

    model_config = ConfigDict(extra="forbid")
    organization_id: StrictInt | None = Value(default=None, ge=1)
    agency_id: StrictInt | None = Value(default=None, ge=1)
    account_id: StrictInt | None = Value(default=None, ge=1)
    case_id: StrictInt | None = Value(default=None, ge=1)
    purpose: Purpose = Purpose.DEFAULT
    channel: Channel
    address: str = Value(min_length=3, max_length=300)
    secret: str | None = Value(default=None, min_length=8, max_length=300)
    settings: dict[str, str | StrictInt | StrictBool] = Value(default_factory=dict,
                                                            max_length=20)
    safe: StrictBool = False
    discreet: StrictBool = True


class EndpointPublic(BaseModel):
    """An endpoint as shown: the owner and channel, never the address or the secret."""

    id: int
    organization_id: int | None
    agency_id: int | None
    account_id: int | None
    case_id: int | None
    purpose: Purpose
    channel: Channel
    settings: dict[str, Any]
    safe: bool
    discreet: bool
    active: bool
    created_at: datetime


class MessagePublic(BaseModel):
    """A message's delivery state; `body` only for those who may read it (else null)."""

    id: int
    kind: str
    agency_id: int | None
    case_id: int | None
    endpoint_id: int | None
    channel: Channel | None
    recipient: str
    source_type: str
    source_id: str
    escalation_level: int
    idempotency_key: str
    state: MessageState
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    last_error: str | None
    receipt: str | None
    created_at: datetime
    delivered_at: datetime | None
    body: dict[str, Any] | None
