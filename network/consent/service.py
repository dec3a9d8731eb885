"""Use cases of consent releases: record, list, revoke, and find what is active for a share.

Only the case's agency staff (advocates, case managers) and admins act on a case's releases;
another agency gets the same 404 as for a missing case (`logistics.cases.service.visible_case`).
Activity is computed against the clock at every use, so an expired or revoked release stops
covering anything at once. Each change is audited in its own transaction, one commit each.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.models import Role
from core.principal import Principal
from logistics.cases.service import can_see, visible_case
from network.consent.models import (
    DEFAULT_RELEASE_MAX_DAYS,
    CaseFieldGroup,
    Release,
    ReleaseCreate,
    ReleasePublic,
)
from network.directory.models import Organization
from network.errors import InvalidNetwork, ReleaseNotFound

PURPOSE_FIELD = "release.purpose"
STAFF = (Role.ADVOCATE, Role.CASE_MANAGER)


def is_active(release: Release, now: datetime) -> bool:
    return release.revoked_at is None and release.expires_at > now


def present(cipher: FieldCipher, release: Release, now: datetime) -> ReleasePublic:
    assert release.id is not None
    return ReleasePublic(
        id=release.id, case_id=release.case_id, agency_id=release.agency_id,
        recipient_id=release.recipient_id,
        fields=[CaseFieldGroup(f) for f in release.fields],
        purpose=cipher.open(release.purpose_sealed, field=PURPOSE_FIELD),
        expires_at=release.expires_at, revoked_at=release.revoked_at,
        active=is_active(release, now), created_at=release.created_at)


def create_release(session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
                   data: ReleaseCreate,
                   max_days: int = DEFAULT_RELEASE_MAX_DAYS) -> ReleasePublic:
    case = visible_case(session, actor, case_id)
    actor.require_role(*STAFF)
    now = utcnow()
    expires = data.expires_at or now + timedelta(days=max_days)
    if expires <= now:
        raise InvalidNetwork("expires_at", "the expiry is in the past")
    if expires > now + timedelta(days=max_days):
        raise InvalidNetwork("expires_at", f"a release lasts at most {max_days} days")
    if session.get(Organization, data.recipient_id) is None:
        raise InvalidNetwork("recipient_id", "no organization of the directory has this id")
    release = Release(case_id=case_id, agency_id=case.agency_id,
                      recipient_id=data.recipient_id, fields=[f.value for f in data.fields],
                      purpose_sealed=cipher.seal(data.purpose, field=PURPOSE_FIELD),
                      expires_at=expires, created_by=actor.account_id)
    session.add(release)
    session.flush()
    assert release.id is not None
    audit.record(session, actor, action="release.create", object_type="release",
                 object_id=release.id, purpose="consent",
                 details={"case_id": case_id, "recipient_id": data.recipient_id,
                          "fields": release.fields, "expires_at": expires.isoformat()})
    session.commit()
    return present(cipher, release, now)


def list_releases(session: Session, *, actor: Principal, cipher: FieldCipher,
                  case_id: int) -> list[ReleasePublic]:
    visible_case(session, actor, case_id)
    actor.require_role(*STAFF)
    now = utcnow()
    rows = session.exec(select(Release).where(Release.case_id == case_id)
                        .order_by(col(Release.id))).all()
    return [present(cipher, r, now) for r in rows]


def _visible_release(session: Session, actor: Principal, release_id: int) -> Release:
    release = session.get(Release, release_id)
    if release is None or not can_see(actor, release.agency_id):
        raise ReleaseNotFound(f"release {release_id} not found")
    return release


def revoke_release(session: Session, *, actor: Principal, cipher: FieldCipher,
                   release_id: int) -> ReleasePublic:
    """Revoke at once; revoking a revoked release changes nothing and says so."""
    release = _visible_release(session, actor, release_id)
    actor.require_role(*STAFF)
    now = utcnow()
    if release.revoked_at is None:
        release.revoked_at, release.revoked_by = now, actor.account_id
        session.add(release)
        audit.record(session, actor, action="release.revoke", object_type="release",
                     object_id=release_id, purpose="consent",
                     details={"case_id": release.case_id,
                              "recipient_id": release.recipient_id})
        session.commit()
    return present(cipher, release, now)


def active_releases(session: Session, *, case_id: int, recipient_id: int,
                    now: datetime) -> list[Release]:
    """The releases covering shares of this case with this recipient right now."""
    return list(session.exec(select(Release).where(
        Release.case_id == case_id, Release.recipient_id == recipient_id,
        col(Release.revoked_at).is_(None), col(Release.expires_at) > now)
        .order_by(col(Release.id))).all())
