"""Tables of the kernel (agencies, accounts, API tokens, the audit log) beside their API models.

Accounts never carry personal data beyond a display name; tokens are stored only as a SHA-256
hash; audit rows are append-only (a trigger refuses UPDATE and DELETE on both databases, and a
session guard refuses them before they reach SQL).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from core.clock import utcnow
from core.types import StrictBool, StrictInt, UTCDateTime

# Stable constraint names, so that Alembic migrations and the models agree on both databases.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Role(StrEnum):
    ADVOCATE = "advocate"
    SHELTER_COORDINATOR = "shelter_coordinator"
    CASE_MANAGER = "case_manager"
    # Two kinds of admin (issue #13): the hotline's operators see and do everything; an agency
    # admin runs its own agency only and is like any other role everywhere else.
    AGENCY_ADMIN = "agency_admin"
    PLATFORM_ADMIN = "platform_admin"


class AgencyKind(StrEnum):
    HOTLINE = "hotline"
    SHELTER_ORGANISATION = "shelter_organisation"
    SERVICE_PROVIDER = "service_provider"
    LAW_ENFORCEMENT = "law_enforcement"


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, **kw)


# A new agency's budget of batch holds: a mass rescue of a few households works at once,
# a larger one needs an admin's decision (the report was one account holding 73 beds).
MASS_RESCUE_HOLD_BUDGET = 20


class AgencyBase(SQLModel):
    name: str = Field(min_length=1, max_length=200, sa_type=String(200))
    kind: AgencyKind = Field(sa_type=String(32))


class Agency(AgencyBase, table=True):
    __tablename__ = "agency"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('hotline', 'shelter_organisation', 'service_provider', 'law_enforcement')",
            name="kind",
        ),
        CheckConstraint("mass_rescue_hold_budget >= 0", name="mass_rescue_hold_budget"),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, sa_type=String(200), unique=True)
    created_at: datetime = _ts()
    # Active holds the agency's batches (mass rescues) may keep at once; set by an admin.
    mass_rescue_hold_budget: int = Field(
        default=MASS_RESCUE_HOLD_BUDGET,
        sa_column_kwargs={"server_default": str(MASS_RESCUE_HOLD_BUDGET)})


class AgencyCreate(AgencyBase):
    pass


class AgencyPublic(AgencyBase):
    id: int
    created_at: datetime


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint(
            "role IN ('advocate', 'shelter_coordinator', 'case_manager', 'agency_admin', "
            "'platform_admin')",
            name="role",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, sa_type=String(100), unique=True)
    role: Role = Field(sa_type=String(32))
    agency_id: int = Field(foreign_key="agency.id", index=True)
    disabled: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = _ts()
    updated_at: datetime = _ts()


class AccountCreate(SQLModel):
    name: str = Field(
        min_length=1, max_length=100, schema_extra={"pattern": r"^[A-Za-z0-9_.@-]+$"}
    )
    role: Role
    agency_id: StrictInt
    token_ttl_days: StrictInt = Field(default=90, ge=1, le=365)


class AccountUpdate(SQLModel):
    role: Role | None = None
    disabled: StrictBool | None = None


class AccountPublic(SQLModel):
    id: int
    name: str
    role: Role
    agency_id: int
    disabled: bool
    version: int
    created_at: datetime
    updated_at: datetime


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    token_hash: str = Field(sa_type=String(64), unique=True)
    prefix: str = Field(sa_type=String(16))
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TokenPublic(SQLModel):
    id: int
    account_id: int
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class TokenIssued(TokenPublic):
    """Returned once at creation: the only time the secret is ever shown."""

    token: str


class TokenCreate(SQLModel):
    ttl_days: StrictInt = Field(default=90, ge=1, le=365)
    # A holder minting its own token proves it knows the account's password: a stolen token
    # alone must not be able to outlive its revocation by minting others.
    password: str | None = Field(default=None, min_length=1, max_length=256)


class AccountWithToken(SQLModel):
    account: AccountPublic
    token: TokenIssued


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(index=True)
    actor_account_id: int | None = Field(default=None, index=True)
    actor_role: str = Field(sa_type=String(32))
    agency_id: int | None = Field(default=None)
    action: str = Field(sa_type=String(64))
    object_type: str = Field(sa_type=String(64))
    object_id: str = Field(sa_type=String(64))
    purpose: str = Field(sa_type=String(200))
    request_id: str | None = Field(default=None, sa_type=String(64))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEntryPublic(SQLModel):
    id: int
    at: datetime
    actor_account_id: int | None
    actor_role: str
    agency_id: int | None
    action: str
    object_type: str
    object_id: str
    purpose: str
    request_id: str | None
    details: dict[str, Any]


class AuthFailure(SQLModel, table=True):
    """One failed authentication, keyed by a hash of the client address (never the address)."""

    __tablename__ = "auth_failure"
    __table_args__ = (Index("ix_auth_failure_key_at", "key_hash", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    key_hash: str = Field(sa_type=String(64))
    at: datetime = _ts()


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request made with an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotency_record"
    __table_args__ = (UniqueConstraint("account_id", "key", name="uq_idempotency_account_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id")
    key: str = Field(sa_type=String(128))
    request_hash: str = Field(sa_type=String(64))
    status_code: int = 0
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
