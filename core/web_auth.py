"""Browser sign-in: Argon2 password hashes and server-side web sessions with CSRF tokens.

API tokens stay for programs; people in a browser sign in with a name and password and get a
session whose secret lives only in an HttpOnly cookie (the database keeps its SHA-256 hash,
as for tokens). Each session carries its own CSRF token, checked on every form post. Sessions
end on sign-out, after `idle` without a request, or `absolute` after sign-in, whichever comes
first; nothing about them is held in process memory, so any worker serves any request.

Passwords are hashed with Argon2id at OWASP's first recommended configuration (Password Storage
Cheat Sheet: m=19 MiB, t=2, p=1). Signing in reads the stored hash, verifies it outside any
transaction (the slow part, in the route's worker thread, so it holds neither the event loop
nor the database's writer turn), then opens the session in a short write.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import String, delete, update
from sqlmodel import Field, Session, SQLModel, col, select

from core import audit
from core.clock import utcnow
from core.db import Database
from core.errors import InvalidInput, NotFound, Unauthenticated
from core.models import Account, Role
from core.principal import Principal
from core.types import UTCDateTime

MIN_PASSWORD = 10
MAX_PASSWORD = 1024
_BAD_SIGN_IN = "unknown name or wrong password"
# OWASP Password Storage Cheat Sheet, Argon2id: "a minimum configuration of 19 MiB of memory,
# an iteration count of 2, and 1 degree of parallelism". argon2-cffi's default (RFC 9106's
# low-memory profile: 64 MiB, t=3, p=4) took 2-3 s a sign-in on a loaded 2-core machine. A
# hash keeps its own parameters, so older hashes still verify and are redone on sign-in.
ARGON2_MEMORY_KIB = 19 * 1024
ARGON2_TIME_COST = 2
ARGON2_PARALLELISM = 1
_HASHER = PasswordHasher(time_cost=ARGON2_TIME_COST, memory_cost=ARGON2_MEMORY_KIB,
                         parallelism=ARGON2_PARALLELISM, hash_len=32, salt_len=16, type=Type.ID)
# Verified against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _HASHER.hash("homeward-dummy-password")
# A session's last-seen time is written at most this often, so reading pages stays read-only.
TOUCH_EVERY = timedelta(seconds=60)


class AccountPassword(SQLModel, table=True):
    """An account's optional password (Argon2id, with its parameters and salt in the hash)."""

    __tablename__ = "account_password"
    account_id: int = Field(foreign_key="account.id", primary_key=True, ondelete="CASCADE")
    password_hash: str = Field(sa_type=String(255))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """One signed-in browser: the cookie secret's hash, its CSRF token and its times."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    secret_hash: str = Field(sa_type=String(64), unique=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    csrf_token: str = Field(sa_type=String(64))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


@dataclass(frozen=True, slots=True)
class SessionLimits:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class SignedIn:
    """What a browser needs after signing in: the cookie secret (shown once) and CSRF token."""

    secret: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class WebIdentity:
    principal: Principal
    session_id: int
    csrf_token: str
    needs_touch: bool


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def set_password(session: Session, *, actor: Principal, name: str, password: str) -> Account:
    """Set (or replace) an account's password; its open web sessions end at once."""
    actor.require_platform_admin()
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput("password", f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} "
                                       "characters")
    account = session.exec(select(Account).where(Account.name == name)).first()
    if account is None or account.id is None:
        raise NotFound(f"no account named {name!r}")
    row = session.get(AccountPassword, account.id)
    if row is None:
        row = AccountPassword(account_id=account.id, password_hash="")
    row.password_hash = _HASHER.hash(password)
    row.updated_at = utcnow()
    session.add(row)
    session.execute(delete(WebSession).where(col(WebSession.account_id) == account.id))
    audit.record(session, actor, action="account.set_password", object_type="account",
                 object_id=account.id, purpose="authentication")
    session.commit()
    return account


def password_matches(session: Session, account_id: int, password: str) -> bool:
    """Whether `password` is the account's (False when it has none)."""
    row = session.get(AccountPassword, account_id)
    return row is not None and _verify(row.password_hash, password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def sign_in(db: Database, *, name: str, password: str, limits: SessionLimits,
            request_id: str | None = None) -> SignedIn:
    """Check the password and open a session, or Unauthenticated with one generic reason."""
    with db.read_session() as session:
        found = session.exec(
            select(Account.id, AccountPassword.password_hash)
            .join(AccountPassword, col(AccountPassword.account_id) == col(Account.id))
            .where(Account.name == name[:100])
        ).first()
    # Verified with no transaction open: a write session would hold the writer turn, and so
    # every other writer, for the whole hash.
    if found is None:
        _verify(_DUMMY_HASH, password)
        raise Unauthenticated(_BAD_SIGN_IN)
    account_id, verified_hash = found
    if not _verify(verified_hash, password):
        raise Unauthenticated(_BAD_SIGN_IN)
    rehashed = (_HASHER.hash(password) if _HASHER.check_needs_rehash(verified_hash)
                else None)
    with db.write_session() as session:
        return _open_session(session, account_id=account_id, verified_hash=verified_hash,
                             rehashed=rehashed, limits=limits, request_id=request_id)


def _open_session(session: Session, *, account_id: int | None, verified_hash: str,
                  rehashed: str | None, limits: SessionLimits,
                  request_id: str | None) -> SignedIn:
    account = session.get(Account, account_id)
    stored = session.get(AccountPassword, account_id)
    # The password may have changed (or the account been disabled) since it was verified.
    if (account is None or account.id is None or account.disabled or stored is None
            or stored.password_hash != verified_hash):
        raise Unauthenticated(_BAD_SIGN_IN)
    if rehashed is not None:
        stored.password_hash = rehashed
        session.add(stored)
    now = utcnow()
    # Tidy every lapsed session while here: cheap (indexed) and keeps the table small.
    session.execute(delete(WebSession).where(
        (col(WebSession.last_seen_at) <= now - limits.idle)
        | (col(WebSession.created_at) <= now - limits.absolute)))
    signed = SignedIn(secret=secrets.token_urlsafe(32), csrf_token=secrets.token_urlsafe(32))
    row = WebSession(secret_hash=_hash(signed.secret), account_id=account.id,
                     csrf_token=signed.csrf_token, created_at=now, last_seen_at=now)
    session.add(row)
    session.flush()
    actor = _principal(account, request_id)
    audit.record(session, actor, action="session.sign_in", object_type="web_session",
                 object_id=row.id, purpose="authentication")
    session.commit()
    return signed


def _principal(account: Account, request_id: str | None) -> Principal:
    assert account.id is not None
    return Principal(account_id=account.id, name=account.name, role=Role(account.role),
                     agency_id=account.agency_id, request_id=request_id)


def resolve(session: Session, *, secret: str, limits: SessionLimits,
            request_id: str | None = None, now: datetime | None = None) -> WebIdentity:
    """The identity behind a session cookie, or Unauthenticated if it ended or lapsed."""
    now = now or utcnow()
    found = session.exec(
        select(WebSession, Account)
        .join(Account, col(Account.id) == col(WebSession.account_id))
        .where(WebSession.secret_hash == _hash(secret))
    ).first()
    if found is None:
        raise Unauthenticated("not signed in")
    row, account = found
    if (account.disabled or row.last_seen_at <= now - limits.idle
            or row.created_at <= now - limits.absolute):
        raise Unauthenticated("the session has ended; sign in again")
    assert row.id is not None
    return WebIdentity(principal=_principal(account, request_id), session_id=row.id,
                       csrf_token=row.csrf_token,
                       needs_touch=row.last_seen_at <= now - TOUCH_EVERY)


def touch(session: Session, *, session_id: int, now: datetime | None = None) -> None:
    """Record activity, so the idle timeout counts from this request."""
    session.execute(update(WebSession).where(col(WebSession.id) == session_id)
                    .values(last_seen_at=now or utcnow()))
    session.commit()


def csrf_ok(identity: WebIdentity, submitted: str | None) -> bool:
    return submitted is not None and hmac.compare_digest(identity.csrf_token.encode(),
                                                         submitted.encode())


def sign_out(session: Session, *, secret: str) -> None:
    """End the session behind this cookie secret (nothing happens for an unknown one)."""
    row = session.exec(select(WebSession).where(WebSession.secret_hash == _hash(secret))).first()
    if row is None:
        return
    account = session.get(Account, row.account_id)
    session.delete(row)
    if account is not None:
        audit.record(session, _principal(account, None), action="session.sign_out",
                     object_type="web_session", object_id=row.id, purpose="authentication")
    session.commit()
