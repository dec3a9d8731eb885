"""Use cases of cases: open, read, list, update and close a survivor household's case.

A case is visible only to the staff of its agency and to admins; anyone else gets the same
404 as for a missing case, so its existence stays private. Every read that opens a case's
sealed fields writes an audit row with its purpose, in the same transaction. Functions are
keyword-only, take the session, the acting principal and the field cipher, and commit once.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import Conflict, InvalidInput, PreconditionFailed
from core.gazetteer import state_at
from core.models import Role
from core.principal import Principal
from logistics.cases.models import (
    Case,
    CaseCreate,
    CaseData,
    CaseFields,
    CasePublic,
    CaseStatus,
    CaseUpdate,
    Exclusions,
    HouseholdMember,
    Location,
    Need,
)
from logistics.errors import CaseClosed, CaseNotFound
from logistics.shelters.models import Shelter

HOUSEHOLD_FIELD = "case.household"
LOCATION_FIELD = "case.location"
EXCLUSIONS_FIELD = "case.exclusions"
PROFILE_FIELD = "case.profile"
NOTES_FIELD = "case.notes"
CASE_WORKERS = (Role.ADVOCATE, Role.CASE_MANAGER, Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
_PROFILE_KEYS = ("languages", "needs", "has_photo_id", "max_travel_km")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _sealed_columns(cipher: FieldCipher, fields: CaseFields) -> dict[str, Any]:
    """The sealed and the plain columns for a full set of case fields."""
    data = fields.model_dump(mode="json")
    profile = {k: data[k] for k in _PROFILE_KEYS}
    return {
        "household_sealed": cipher.seal(_dump(data["household"]), field=HOUSEHOLD_FIELD),
        "location_sealed": cipher.seal(_dump(data["location"]), field=LOCATION_FIELD),
        "exclusions_sealed": cipher.seal(_dump(data["exclusions"]), field=EXCLUSIONS_FIELD),
        "profile_sealed": cipher.seal(_dump(profile), field=PROFILE_FIELD),
        "notes_sealed": cipher.seal_optional(fields.notes, field=NOTES_FIELD),
        "trafficking_type": fields.trafficking_type,
        "urgency": fields.urgency,
        "state": _state(fields.location),
    }


def _state(location: Location) -> str | None:
    # Statistics group cases by this column: a case placed by a point alone takes the state
    # of its nearest gazetteer place, so it is not counted as "unknown".
    if location.state is not None or location.lat is None or location.lon is None:
        return location.state
    return state_at(location.lat, location.lon)


def _check_shelters(session: Session, exclusions: Exclusions) -> None:
    wanted = set(exclusions.shelter_ids)
    if not wanted:
        return
    found = set(session.exec(select(Shelter.id).where(col(Shelter.id).in_(wanted))))
    missing = sorted(wanted - found)
    if missing:
        raise InvalidInput("exclusions.shelter_ids",
                           f"unknown shelter ids: {', '.join(map(str, missing))}")


def decode(cipher: FieldCipher, case: Case) -> CaseData:
    """Open a stored case's sealed fields (no audit: callers audit the read)."""
    assert case.id is not None
    household = json.loads(cipher.open(case.household_sealed, field=HOUSEHOLD_FIELD))
    location = json.loads(cipher.open(case.location_sealed, field=LOCATION_FIELD))
    exclusions = json.loads(cipher.open(case.exclusions_sealed, field=EXCLUSIONS_FIELD))
    profile = json.loads(cipher.open(case.profile_sealed, field=PROFILE_FIELD))
    return CaseData(
        id=case.id, agency_id=case.agency_id, case_ref=case.case_ref,
        status=CaseStatus(case.status),
        household=tuple(HouseholdMember.model_validate(m) for m in household),
        languages=tuple(profile["languages"]),
        trafficking_type=case.trafficking_type,
        needs=frozenset(Need(n) for n in profile["needs"]),
        location=Location.model_validate(location),
        exclusions=Exclusions.model_validate(exclusions),
        has_photo_id=bool(profile["has_photo_id"]), urgency=case.urgency,
        max_travel_km=int(profile["max_travel_km"]),
        notes=cipher.open_optional(case.notes_sealed, field=NOTES_FIELD),
        version=case.version, created_at=case.created_at, updated_at=case.updated_at,
        closed_at=case.closed_at,
    )


def can_see(actor: Principal, agency_id: int) -> bool:
    return actor.is_platform_admin or (actor.agency_id is not None and actor.agency_id == agency_id)


def visible_case(session: Session, actor: Principal, case_id: int) -> Case:
    """The stored case if this caller may see it; otherwise the same 404 as a missing one."""
    case = session.get(Case, case_id)
    if case is None or not can_see(actor, case.agency_id):
        raise CaseNotFound(f"case {case_id} not found")
    return case


def _audit_read(session: Session, actor: Principal, case_id: int, purpose: str,
                action: str = "case.read") -> None:
    audit.record(session, actor, action=action, object_type="case", object_id=case_id,
                 purpose=purpose)


def create_case(
    session: Session, *, actor: Principal, cipher: FieldCipher, data: CaseCreate
) -> CasePublic:
    actor.require_role(*CASE_WORKERS)
    if actor.agency_id is None:
        raise InvalidInput("agency_id", "the system account belongs to no agency")
    _check_shelters(session, data.exclusions)
    case = Case(agency_id=actor.agency_id, case_ref=data.case_ref,
                created_by=actor.account_id, **_sealed_columns(cipher, data))
    session.add(case)
    _flush_unique(session, data.case_ref)
    assert case.id is not None
    audit.record(session, actor, action="case.create", object_type="case", object_id=case.id,
                 purpose="casework",
                 details={"urgency": data.urgency, "trafficking_type": data.trafficking_type.value,
                          "members": len(data.household)})
    session.commit()
    return decode(cipher, case).public()


def _flush_unique(session: Session, case_ref: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        # The reference itself is not echoed: the message names the field only.
        raise Conflict("this agency already has a case with that case_ref") from exc


def load_case_data(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
    purpose: str = "casework",
) -> CaseData:
    """The decoded case for another use case (matching, safety planning); audited, uncommitted.

    The audit row joins the caller's transaction, so the caller's commit records the read.
    """
    case = visible_case(session, actor, case_id)
    _audit_read(session, actor, case_id, purpose)
    return decode(cipher, case)


def get_case(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
    purpose: str = "casework",
) -> CasePublic:
    data = load_case_data(session, actor=actor, cipher=cipher, case_id=case_id, purpose=purpose)
    session.commit()
    return data.public()


def list_cases(
    session: Session, *, actor: Principal, cipher: FieldCipher, status: CaseStatus | None,
    limit: int, offset: int,
) -> list[CasePublic]:
    """The caller's own agency's cases, newest first; each case listed is an audited read."""
    if actor.agency_id is None:
        return []
    query = (select(Case).where(Case.agency_id == actor.agency_id)
             .order_by(col(Case.id).desc()).limit(limit).offset(offset))
    if status is not None:
        query = query.where(Case.status == status)
    cases = session.exec(query).all()
    for case in cases:
        assert case.id is not None
        _audit_read(session, actor, case.id, "casework", action="case.list_read")
    session.commit()
    return [decode(cipher, case).public() for case in cases]


def _conditional_update(session: Session, case: Case, expected_version: int,
                        values: dict[str, Any]) -> None:
    # The version check and the write are one conditional UPDATE: two advocates editing the
    # same case cannot both win.
    result = session.execute(
        update(Case)
        .where(col(Case.id) == case.id, col(Case.version) == expected_version)
        .values(**values, version=Case.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = case.version
        session.rollback()
        raise PreconditionFailed(
            f"case {case.id} is at version {current}, not {expected_version}")


def update_case(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
    expected_version: int, data: CaseUpdate,
) -> CasePublic:
    case = visible_case(session, actor, case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed; it can no longer change")
    changes = data.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None and key != "notes":
            raise InvalidInput(key, "may not be null")
    current = decode(cipher, case)
    merged = CaseFields.model_validate(
        {**current.public().model_dump(include=set(CaseFields.model_fields)),
         **{k: v for k, v in changes.items() if k != "case_ref"}})
    if "exclusions" in changes:
        _check_shelters(session, merged.exclusions)
    values = _sealed_columns(cipher, merged)
    if "case_ref" in changes:
        values["case_ref"] = changes["case_ref"]
    try:
        _conditional_update(session, case, expected_version, values)
    except IntegrityError as exc:
        session.rollback()
        raise Conflict("this agency already has a case with that case_ref") from exc
    # Field names only: the values are personal data.
    audit.record(session, actor, action="case.update", object_type="case", object_id=case_id,
                 purpose="casework", details={"fields": sorted(changes)})
    session.commit()
    session.refresh(case)
    return decode(cipher, case).public()


def close_case(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int
) -> CasePublic:
    case = visible_case(session, actor, case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status != CaseStatus.CLOSED:
        now = utcnow()
        _conditional_update(session, case, case.version,
                            {"status": CaseStatus.CLOSED, "closed_at": now})
        audit.record(session, actor, action="case.close", object_type="case",
                     object_id=case_id, purpose="casework")
    else:
        _audit_read(session, actor, case_id, "casework")
    session.commit()
    session.refresh(case)
    return decode(cipher, case).public()

