"""Use cases of referrals: send a case to a provider with only what active releases cover.

Sending reads the case through `load_case_data` (an audited read), builds the payload from the
de-identified core plus the covered field groups, seals it, and audits the share, all in one
transaction. Asking for a field no active release covers is refused with a 403 that names the
recipient and the missing fields, and the refusal is audited too. Without any release a
de-identified referral still goes out: a release is never a condition of service. Only the
case's agency staff and admins see or move a referral; another agency gets 404.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import PreconditionFailed
from core.gazetteer import nearest_city
from core.principal import Principal
from delivery import outbox
from delivery.models import MessageKind
from logistics.cases.models import CaseData
from logistics.cases.service import can_see, load_case_data, visible_case
from network.consent.models import CaseFieldGroup
from network.consent.service import STAFF, active_releases
from network.directory.models import Organization, ServiceType
from network.errors import InvalidNetwork, ReferralNotFound, ReferralTransition, ReleaseMissing
from network.referrals.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Referral,
    ReferralCreate,
    ReferralPublic,
    ReferralStatus,
    ReferralUpdate,
)

PAYLOAD_FIELD = "referral.payload"


def deidentified(case: CaseData, service_type: ServiceType) -> dict[str, Any]:
    """What any referral may say: nothing that points to a person."""
    state = case.location.state
    if state is None and case.location.lat is not None and case.location.lon is not None:
        place = nearest_city(case.location.lat, case.location.lon, 150.0)
        state = place.state if place is not None else None
    return {"service_type": service_type.value, "state": state,
            "language": case.languages[0] if case.languages else None,
            "trafficking_type": str(case.trafficking_type)}


def field_group(case: CaseData, group: CaseFieldGroup) -> Any:
    values: dict[CaseFieldGroup, Any] = {
        CaseFieldGroup.CASE_REF: case.case_ref,
        CaseFieldGroup.HOUSEHOLD: [m.model_dump(mode="json") for m in case.household],
        CaseFieldGroup.LOCATION: case.location.model_dump(mode="json"),
        CaseFieldGroup.LANGUAGES: list(case.languages),
        CaseFieldGroup.NEEDS: sorted(n.value for n in case.needs),
        CaseFieldGroup.EXCLUSIONS: case.exclusions.model_dump(mode="json"),
        CaseFieldGroup.DOCUMENTS: {"has_photo_id": case.has_photo_id},
        CaseFieldGroup.URGENCY: case.urgency,
        CaseFieldGroup.TRAVEL: {"max_travel_km": case.max_travel_km},
        CaseFieldGroup.NOTES: case.notes,
    }
    return values[group]


def build_payload(case: CaseData, service_type: ServiceType,
                  groups: set[CaseFieldGroup]) -> dict[str, Any]:
    payload = deidentified(case, service_type)
    payload.update({g.value: field_group(case, g) for g in sorted(groups)})
    return payload


def present(cipher: FieldCipher, referral: Referral, now: datetime) -> ReferralPublic:
    assert referral.id is not None
    shared = json.loads(cipher.open(referral.payload_sealed, field=PAYLOAD_FIELD))
    overdue = (referral.follow_up_at is not None and referral.follow_up_at < now
               and referral.status in OPEN_STATUSES)
    return ReferralPublic(
        id=referral.id, case_id=referral.case_id, agency_id=referral.agency_id,
        recipient_id=referral.recipient_id, service_type=referral.service_type,
        status=referral.status, deidentified=referral.deidentified,
        fields=[CaseFieldGroup(f) for f in referral.fields], release_ids=referral.release_ids,
        shared=shared, follow_up_at=referral.follow_up_at, overdue=overdue,
        version=referral.version, created_at=referral.created_at,
        updated_at=referral.updated_at)


def create_referral(session: Session, *, actor: Principal, cipher: FieldCipher,
                    data: ReferralCreate) -> ReferralPublic:
    case_row = visible_case(session, actor, data.case_id)
    actor.require_role(*STAFF)
    if session.get(Organization, data.recipient_id) is None:
        raise InvalidNetwork("recipient_id", "no organization of the directory has this id")
    now = utcnow()
    releases = active_releases(session, case_id=data.case_id, recipient_id=data.recipient_id,
                               now=now)
    covered = {CaseFieldGroup(f) for r in releases for f in r.fields}
    wanted = covered if data.fields is None else set(data.fields)
    missing = sorted(wanted - covered)
    if missing:
        names = ", ".join(m.value for m in missing)
        audit.record(session, actor, action="referral.share_refused", object_type="case",
                     object_id=data.case_id, purpose="referral",
                     details={"recipient_id": data.recipient_id,
                              "missing_fields": [m.value for m in missing]})
        session.commit()
        raise ReleaseMissing(
            f"no active release of case {data.case_id} for organization {data.recipient_id} "
            f"covers: {names}; record one (POST /v1/cases/{data.case_id}/releases) or send a "
            "de-identified referral",
            extra={"missing_release": {"case_id": data.case_id,
                                       "recipient_id": data.recipient_id,
                                       "fields": [m.value for m in missing]}})
    case = load_case_data(session, actor=actor, cipher=cipher, case_id=data.case_id,
                          purpose="referral")
    used = [r.id for r in releases if r.id is not None and wanted & set(
        CaseFieldGroup(f) for f in r.fields)]
    payload = build_payload(case, data.service_type, wanted)
    referral = Referral(
        case_id=data.case_id, agency_id=case_row.agency_id, recipient_id=data.recipient_id,
        service_type=data.service_type, deidentified=not wanted,
        fields=[g.value for g in sorted(wanted)], release_ids=used,
        payload_sealed=cipher.seal(json.dumps(payload, sort_keys=True), field=PAYLOAD_FIELD),
        follow_up_at=data.follow_up_at, created_by=actor.account_id)
    session.add(referral)
    session.flush()
    assert referral.id is not None
    audit.record(session, actor, action="referral.share", object_type="referral",
                 object_id=referral.id, purpose="referral",
                 details={"case_id": data.case_id, "recipient_id": data.recipient_id,
                          "service_type": data.service_type.value,
                          "fields": referral.fields, "release_ids": used,
                          "deidentified": referral.deidentified})
    enqueue_referral(session, cipher=cipher, referral=referral, payload=payload)
    session.commit()
    return present(cipher, referral, now)


def enqueue_referral(session: Session, *, cipher: FieldCipher, referral: Referral,
                     payload: dict[str, Any]) -> None:
    """The referral's message to its recipient, in the caller's transaction: the referral's
    own shared payload and nothing else."""
    assert referral.id is not None
    kind = "de-identified referral" if referral.deidentified else "referral"
    body = {"subject": f"New {kind} for {referral.service_type.value} services",
            "text": f"Homeward referral {referral.id}: a {kind} for "
                    f"{referral.service_type.value} services. Reply to the referring agency.",
            "data": {"referral_id": referral.id, "agency_id": referral.agency_id,
                     "fields": referral.fields, **payload}}
    outbox.enqueue(session, cipher=cipher, kind=MessageKind.REFERRAL_SENT.value,
                   to=outbox.Recipient(organization_id=referral.recipient_id), body=body,
                   agency_id=referral.agency_id, case_id=referral.case_id,
                   source_type="referral", source_id=referral.id)


def _visible(session: Session, actor: Principal, referral_id: int) -> Referral:
    referral = session.get(Referral, referral_id)
    if referral is None or not can_see(actor, referral.agency_id):
        raise ReferralNotFound(f"referral {referral_id} not found")
    return referral


def get_referral(session: Session, *, actor: Principal, cipher: FieldCipher,
                 referral_id: int) -> ReferralPublic:
    referral = _visible(session, actor, referral_id)
    actor.require_role(*STAFF)
    audit.record(session, actor, action="referral.read", object_type="referral",
                 object_id=referral_id, purpose="casework")
    session.commit()
    return present(cipher, referral, utcnow())


def list_referrals(session: Session, *, actor: Principal, cipher: FieldCipher,
                   case_id: int | None, overdue: bool, limit: int,
                   offset: int) -> list[ReferralPublic]:
    """The caller's agency's referrals, newest first; `overdue` keeps open ones past follow-up,
    oldest follow-up first. Each listed referral is an audited read."""
    actor.require_role(*STAFF)
    now = utcnow()
    query = select(Referral)
    if not actor.is_platform_admin:
        query = query.where(Referral.agency_id == actor.agency_id)
    if case_id is not None:
        visible_case(session, actor, case_id)
        query = query.where(Referral.case_id == case_id)
    if overdue:
        query = query.where(col(Referral.status).in_(OPEN_STATUSES),
                            col(Referral.follow_up_at) < now
                            ).order_by(col(Referral.follow_up_at), col(Referral.id))
    else:
        query = query.order_by(col(Referral.id).desc())
    rows = session.exec(query.limit(limit).offset(offset)).all()
    for row in rows:
        audit.record(session, actor, action="referral.list_read", object_type="referral",
                     object_id=row.id, purpose="casework")
    session.commit()
    return [present(cipher, r, now) for r in rows]


def update_referral(session: Session, *, actor: Principal, cipher: FieldCipher,
                    referral_id: int, expected_version: int,
                    data: ReferralUpdate) -> ReferralPublic:
    referral = _visible(session, actor, referral_id)
    actor.require_role(*STAFF)
    if referral.version != expected_version:
        # A stale version answers 412 before any rule is judged against what it read.
        raise PreconditionFailed(
            f"referral {referral_id} is at version {referral.version}, not {expected_version}")
    values: dict[str, Any] = {}
    status = ReferralStatus(referral.status)
    if data.status is not None and data.status != status:
        if data.status not in TRANSITIONS[status]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[status])) or "none"
            raise ReferralTransition(
                f"a {status.value} referral cannot become {data.status.value} "
                f"(allowed: {allowed})")
        values["status"] = data.status.value
    if "follow_up_at" in data.model_fields_set:
        values["follow_up_at"] = data.follow_up_at
    if not values:
        raise InvalidNetwork("status", "send a new status or follow_up_at")
    result = session.execute(
        update(Referral)
        .where(col(Referral.id) == referral_id, col(Referral.version) == expected_version)
        .values(**values, version=Referral.version + 1, updated_at=utcnow()))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = referral.version
        session.rollback()
        raise PreconditionFailed(
            f"referral {referral_id} is at version {current}, not {expected_version}")
    audit.record(session, actor, action="referral.update", object_type="referral",
                 object_id=referral_id, purpose="casework",
                 details={k: (v.isoformat() if isinstance(v, datetime) else v)
                          for k, v in values.items()})
    session.commit()
    session.refresh(referral)
    return present(cipher, referral, utcnow())
