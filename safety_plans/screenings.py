"""Use cases of screenings: record one for a case, list a case's, read one with its answers.

Answers are sealed at rest; a list shows each screening's result (danger level, emergency,
score, triggers) and a single read adds the answers. Only the case's agency staff and admins
see them (404 for anyone else), and every read writes an audit row (purpose
`safety_planning`) without personal data.
"""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Session, col, select

from core import audit
from core.crypto import FieldCipher
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.cases.models import CaseStatus
from logistics.cases.service import CASE_WORKERS
from logistics.errors import CaseClosed
from safety_plans.access import ANSWERS_FIELD, open_answers, screen_body
from safety_plans.errors import SafetyPlanNotFound
from safety_plans.models import ScreeningDetail, ScreeningPublic, ScreeningRecord
from safety_plans.screening import Screening, screen


def _audit(session: Session, actor: Principal, action: str, object_type: str,
           object_id: int, details: dict[str, Any] | None = None) -> None:
    audit.record(session, actor, action=action, object_type=object_type, object_id=object_id,
                 purpose="safety_planning", details=details)


def _public(record: ScreeningRecord, screening: Screening) -> ScreeningPublic:
    assert record.id is not None
    return ScreeningPublic(
        id=record.id, case_id=record.case_id, danger_level=str(screening.danger_level),
        emergency=screening.emergency, score=screening.score,
        emergency_triggers=list(screening.emergency_triggers), created_at=record.created_at,
        created_by=record.created_by)


def record_screening(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
    answers: dict[str, Any],
) -> ScreeningPublic:
    """Validate, score and store a screening of a case (answers sealed)."""
    case = case_service.visible_case(session, actor, case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    screening = screen_body(answers)
    record = ScreeningRecord(
        case_id=case_id, agency_id=case.agency_id,
        answers_sealed=cipher.seal(json.dumps(dict(screening.answers), sort_keys=True),
                                   field=ANSWERS_FIELD),
        danger_level=str(screening.danger_level), emergency=screening.emergency,
        created_by=actor.account_id)
    session.add(record)
    session.flush()
    assert record.id is not None
    _audit(session, actor, "screening.create", "screening", record.id, {"case_id": case_id})
    session.commit()
    return _public(record, screening)


def list_case_screenings(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int, limit: int,
    offset: int,
) -> list[ScreeningPublic]:
    """A case's screenings, oldest first: results only (score and triggers recomputed)."""
    case_service.visible_case(session, actor, case_id)
    actor.require_role(*CASE_WORKERS)
    rows = session.exec(
        select(ScreeningRecord).where(ScreeningRecord.case_id == case_id)
        .order_by(col(ScreeningRecord.id)).limit(limit).offset(offset)).all()
    _audit(session, actor, "screening.list", "case", case_id, {"count": len(rows)})
    session.commit()
    return [_public(r, screen(open_answers(cipher, r))) for r in rows]


def get_screening(
    session: Session, *, actor: Principal, cipher: FieldCipher, screening_id: int,
) -> ScreeningDetail:
    """One screening with its answers."""
    record = session.get(ScreeningRecord, screening_id)
    if record is None or not case_service.can_see(actor, record.agency_id):
        raise SafetyPlanNotFound(f"screening {screening_id} not found")
    actor.require_role(*CASE_WORKERS)
    answers = open_answers(cipher, record)
    _audit(session, actor, "screening.read", "screening", screening_id,
           {"case_id": record.case_id})
    session.commit()
    public = _public(record, screen(answers))
    return ScreeningDetail(**public.model_dump(), answers=answers)
