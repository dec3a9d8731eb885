"""Use cases of the kernel: agencies, accounts, tokens, authentication and audit reading.

Each public function is keyword-only, takes the session and the acting principal, checks
rights at the object level (another agency's account is simply not found), writes its audit
row in the same transaction and commits once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, bindparam, delete, func, update
from sqlalchemy import select as sql_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthenticated,
)
from core.models import (
    Account,
    AccountCreate,
    AccountUpdate,
    Agency,
    AgencyCreate,
    AgencyKind,
    ApiToken,
    AuditEntry,
    AuthFailure,
    Role,
    TokenIssued,
)
from core.principal import Principal
from core.tokens import hash_token, new_token_row
from core.web_auth import password_matches

_BAD_TOKEN = "missing, unknown, expired or revoked API token"  # noqa: S105 (a message, not a secret)


# Built once, on the tables rather than the ORM classes: this runs before every API request.
_TOKENS: Table = ApiToken.__table__  # type: ignore[attr-defined]
_ACCOUNTS: Table = Account.__table__  # type: ignore[attr-defined]
_TOKEN_LOOKUP = (
    sql_select(_TOKENS.c.revoked_at, _TOKENS.c.expires_at, _ACCOUNTS.c.disabled,
               _ACCOUNTS.c.id, _ACCOUNTS.c.name, _ACCOUNTS.c.role, _ACCOUNTS.c.agency_id)
    .select_from(_TOKENS.join(_ACCOUNTS, _ACCOUNTS.c.id == _TOKENS.c.account_id))
    .where(_TOKENS.c.token_hash == bindparam("digest")))


def authenticate(session: Session, *, secret: str, request_id: str | None = None) -> Principal:
    """The principal behind a bearer token, or Unauthenticated with one generic reason."""
    row = session.connection().execute(_TOKEN_LOOKUP, {"digest": hash_token(secret)}).first()
    if row is None:
        raise Unauthenticated(_BAD_TOKEN)
    revoked_at, expires_at, disabled, account_id, name, role, agency_id = row
    if revoked_at is not None or expires_at <= utcnow() or disabled:
        raise Unauthenticated(_BAD_TOKEN)
    return Principal(account_id=account_id, name=name, role=Role(role), agency_id=agency_id,
                     request_id=request_id)


@dataclass(frozen=True)
class Throttle:
    """Failed authentications allowed within `window`: `limit` for one address presenting one
    identity (an account name, a token's first characters), and `address_factor` times that
    for the address whatever it presents. Behind a proxy or a call centre's NAT many people
    share an address: one person's typos must not lock the others out, while an address that
    tries identity after identity is still stopped."""

    limit: int = 20
    window: timedelta = timedelta(minutes=5)
    address_factor: int = 10


@dataclass(frozen=True)
class AuthAttempt:
    """Who is trying, as keyed digests (HMAC with the server's key) only: the address is
    personal data and a plain hash of an IPv4 address is reversed by trying them all."""

    address: str
    identity: str


def auth_attempt(cipher: FieldCipher, *, client: str, presented: str) -> AuthAttempt:
    return AuthAttempt(address=cipher.digest(client, field="auth.address"),
                       identity=cipher.digest(f"{client}\x00{presented}", field="auth.identity"))


def _wait(session: Session, key: str, limit: int, window: timedelta) -> int | None:
    since = utcnow() - window
    rows = session.exec(select(AuthFailure.at).where(
        AuthFailure.key_hash == key, col(AuthFailure.at) > since)
        .order_by(col(AuthFailure.at))).all()
    if len(rows) < limit:
        return None
    oldest_counted = rows[len(rows) - limit]
    return max(1, int((oldest_counted + window - utcnow()).total_seconds()) + 1)


def auth_retry_after(session: Session, *, attempt: AuthAttempt,
                     throttle: Throttle) -> int | None:
    """Seconds until this attempt may be made, or None when it is not throttled."""
    waits = [w for w in (
        _wait(session, attempt.identity, throttle.limit, throttle.window),
        _wait(session, attempt.address, throttle.limit * throttle.address_factor,
              throttle.window)) if w is not None]
    return max(waits) if waits else None


def record_auth_failure(session: Session, *, attempt: AuthAttempt, throttle: Throttle) -> None:
    now = utcnow()
    keys = (attempt.identity, attempt.address)
    session.execute(delete(AuthFailure).where(col(AuthFailure.key_hash).in_(keys),
                                              col(AuthFailure.at) <= now - throttle.window))
    for key in keys:
        session.add(AuthFailure(key_hash=key, at=now))
    session.commit()


def create_agency(session: Session, *, actor: Principal, data: AgencyCreate) -> Agency:
    actor.require_platform_admin()
    agency = Agency(name=data.name, kind=data.kind)
    session.add(agency)
    _flush_unique(session, "an agency of that name already exists")
    audit.record(session, actor, action="agency.create", object_type="agency",
                 object_id=agency.id, purpose="administration", details={"kind": data.kind})
    session.commit()
    return agency


def ensure_agency(session: Session, *, actor: Principal, name: str, kind: AgencyKind) -> Agency:
    """The agency with this name, created if absent (for the CLI and fixtures)."""
    found = session.exec(select(Agency).where(Agency.name == name)).first()
    if found is not None:
        return found
    return create_agency(session, actor=actor, data=AgencyCreate(name=name, kind=kind))


def list_agencies(session: Session, *, actor: Principal) -> Sequence[Agency]:
    if actor.is_platform_admin:
        return session.exec(select(Agency).order_by(col(Agency.id))).all()
    return session.exec(select(Agency).where(Agency.id == actor.agency_id)).all()


def add_account(
    session: Session, *, actor: Principal, data: AccountCreate
) -> tuple[Account, TokenIssued]:
    """Stage a new account and its first token in the session without committing.

    Domain packages call this to create an account together with their own rows (a
    coordinator's shelters) in one transaction.
    """
    actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
    # Asked before the agency is looked up, so the answer says nothing about other agencies.
    if not actor.administers(data.agency_id):
        raise Forbidden("an agency admin creates accounts only in its own agency")
    agency = session.get(Agency, data.agency_id)
    if agency is None:
        raise InvalidInput("agency_id", f"agency {data.agency_id} does not exist")
    _check_role_grant(actor, data.role, agency)
    account = Account(name=data.name, role=data.role, agency_id=data.agency_id)
    session.add(account)
    _flush_unique(session, "an account of that name already exists")
    assert account.id is not None
    token, secret = new_token_row(account.id, data.token_ttl_days)
    session.add(token)
    session.flush()
    audit.record(session, actor, action="account.create", object_type="account",
                 object_id=account.id, purpose="administration",
                 details={"role": data.role.value, "agency_id": data.agency_id})
    issued = TokenIssued.model_validate({**token.model_dump(), "token": secret})
    return account, issued


def create_account(
    session: Session, *, actor: Principal, data: AccountCreate
) -> tuple[Account, TokenIssued]:
    account, issued = add_account(session, actor=actor, data=data)
    session.commit()
    return account, issued


def _visible_account(session: Session, actor: Principal, account_id: int) -> Account:
    account = session.get(Account, account_id)
    # Another agency's account answers exactly like a missing one: its existence is private.
    if account is None or not (actor.is_platform_admin or account.agency_id == actor.agency_id):
        raise NotFound(f"account {account_id} not found")
    return account


def _administers_account(actor: Principal, account: Account) -> bool:
    """Whether the caller may manage this account (its role, its tokens) as an admin.

    An agency admin in the hotline agency must not be able to take over a platform admin's
    account, so a platform admin's account is for platform admins only.
    """
    if not actor.administers(account.agency_id):
        return False
    return actor.is_platform_admin or Role(account.role) is not Role.PLATFORM_ADMIN


def _check_role_grant(actor: Principal, role: Role, agency: Agency) -> None:
    if role is not Role.PLATFORM_ADMIN:
        return
    if not actor.is_platform_admin:
        raise Forbidden("only a platform admin may make platform admins")
    if AgencyKind(agency.kind) is not AgencyKind.HOTLINE:
        raise InvalidInput("role", "a platform admin must belong to an agency of kind hotline")


def get_account(session: Session, *, actor: Principal, account_id: int) -> Account:
    return _visible_account(session, actor, account_id)


def list_accounts(
    session: Session, *, actor: Principal, limit: int, offset: int
) -> Sequence[Account]:
    query = select(Account).order_by(col(Account.id)).limit(limit).offset(offset)
    if not actor.is_platform_admin:
        query = query.where(Account.agency_id == actor.agency_id)
    return session.exec(query).all()


def update_account(
    session: Session, *, actor: Principal, account_id: int, expected_version: int,
    data: AccountUpdate,
) -> Account:
    account = _visible_account(session, actor, account_id)
    actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
    if not _administers_account(actor, account):
        raise Forbidden("only a platform admin may change a platform admin's account")
    if data.role is not None:
        agency = session.get(Agency, account.agency_id)
        assert agency is not None  # a foreign key
        _check_role_grant(actor, data.role, agency)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    before = {k: getattr(account, k) for k in changes}
    # The version check and the write are one conditional UPDATE, so two admins editing the
    # same account cannot both win.
    result = session.execute(
        update(Account)
        .where(col(Account.id) == account_id, col(Account.version) == expected_version)
        .values(**changes, version=Account.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise PreconditionFailed(
            f"account {account_id} is at version {account.version}, not {expected_version}"
        )
    audit.record(session, actor, action="account.update", object_type="account",
                 object_id=account_id, purpose="administration",
                 details={"before": _plain(before), "after": _plain(changes)})
    session.commit()
    session.refresh(account)
    return account


@dataclass(frozen=True)
class TokenLimits:
    """How many live tokens an account may have, and how long one its holder mints may last."""

    max_active: int = 5
    holder_max_days: int = 90


def issue_token(
    session: Session, *, actor: Principal, account_id: int, ttl_days: int,
    password: str | None = None, limits: TokenLimits | None = None,
) -> TokenIssued:
    """A new token for the account: by its admins, or by its holder with its password.

    A holder may have at most `limits.max_active` live tokens (409: revoke one) and its own
    token lasts at most `limits.holder_max_days`; admins (and the system) are not held to these.
    """
    limits = limits or TokenLimits()
    account = _visible_account(session, actor, account_id)
    as_admin = _administers_account(actor, account)
    if not (actor.account_id == account.id or as_admin):
        raise Forbidden("only the account holder or its admins can issue its tokens")
    if not as_admin:
        if ttl_days > limits.holder_max_days:
            raise InvalidInput("ttl_days", f"a token you issue yourself lasts at most "
                                           f"{limits.holder_max_days} days; ask an admin")
        if password is None or not password_matches(session, account_id, password):
            raise Forbidden("a new token needs the account's password (or an admin)")
        live = session.exec(select(func.count()).select_from(ApiToken).where(
            ApiToken.account_id == account_id, col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at) > utcnow())).one()
        if live >= limits.max_active:
            raise Conflict(f"this account already has {limits.max_active} live tokens; "
                           "revoke one first, or ask an admin")
    token, secret = new_token_row(account_id, ttl_days)
    session.add(token)
    session.flush()
    audit.record(session, actor, action="token.issue", object_type="api_token",
                 object_id=token.id, purpose="authentication",
                 details={"account_id": account_id})
    issued = TokenIssued.model_validate({**token.model_dump(), "token": secret})
    session.commit()
    return issued


def list_tokens(session: Session, *, actor: Principal, account_id: int) -> Sequence[ApiToken]:
    account = _visible_account(session, actor, account_id)
    if not (actor.account_id == account.id or _administers_account(actor, account)):
        raise Forbidden("only the account holder or its admins can list its tokens")
    return session.exec(
        select(ApiToken).where(ApiToken.account_id == account_id).order_by(col(ApiToken.id))
    ).all()


def revoke_token(session: Session, *, actor: Principal, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    holder = session.get(Account, token.account_id) if token is not None else None
    # Another agency's token answers like a missing one, as its account does.
    if token is None or holder is None or not (
            token.account_id == actor.account_id or _administers_account(actor, holder)):
        raise NotFound(f"token {token_id} not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        audit.record(session, actor, action="token.revoke", object_type="api_token",
                     object_id=token_id, purpose="authentication",
                     details={"account_id": token.account_id})
        session.commit()
    return token


def list_audit(
    session: Session, *, actor: Principal, object_type: str | None, object_id: str | None,
    limit: int, offset: int,
) -> Sequence[AuditEntry]:
    # The log spans every agency (and names their actors), so it is the platform's alone.
    actor.require_platform_admin()
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit).offset(offset)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == object_id)
    return session.exec(query).all()


def find_account(session: Session, *, name: str) -> Account | None:
    return session.exec(select(Account).where(Account.name == name)).first()


def count_accounts(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Account)).one())


def _flush_unique(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(message) from exc


def _plain(values: dict[str, object]) -> dict[str, object]:
    return {k: (v.value if isinstance(v, Role) else v) for k, v in values.items()}
