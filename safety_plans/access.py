"""What the safety-plan use cases share: sealing, visibility, audit, and one revision step.

Screenings and plans belong to a case and are visible only to that case's agency staff and to
admins (404 for anyone else). Every change of a plan is one conditional UPDATE guarded by the
plan's version (If-Match) plus a revision row (who, when, what changed) in the same
transaction; `change` does both and leaves the audit and commit to the use case.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import PreconditionFailed
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.cases.service import CASE_WORKERS
from safety_plans import editing
from safety_plans.errors import InvalidAnswerError, SafetyPlanNotFound
from safety_plans.i18n import resolve_language
from safety_plans.languages import translation_status
from safety_plans.models import (
    PlanRevision,
    SafetyPlanPublic,
    SafetyPlanRecord,
    ScreeningRecord,
    TranslationStatusPublic,
)
from safety_plans.planning import Plan, PlanInputs
from safety_plans.render import to_json
from safety_plans.screening import Screening, screen

ANSWERS_FIELD = "screening.answers"
PLAN_FIELD = "safety_plan.plan"
INPUTS_FIELD = "safety_plan.inputs"
REVISION_PLAN_FIELD = "safety_plan_revision.plan"
REVISION_DIFF_FIELD = "safety_plan_revision.diff"
PROPOSAL_DIFF_FIELD = "safety_plan_proposal.diff"
PROPOSAL_INPUTS_FIELD = "safety_plan_proposal.inputs"


def audit_plan(session: Session, actor: Principal, plan_id: object, action: str,
               details: dict[str, Any] | None = None) -> None:
    audit.record(session, actor, action=f"safety_plan.{action}", object_type="safety_plan",
                 object_id=plan_id, purpose="safety_planning", details=details)


def requested_language(requested: str | None, allow_fallback: bool) -> str | None:
    return None if requested is None else resolve_language(requested,
                                                           allow_fallback=allow_fallback)


def screen_body(answers: dict[str, Any]) -> Screening:
    try:
        return screen(answers)
    except InvalidAnswerError as exc:
        field = exc.field if exc.field == "answers" else f"answers.{exc.field}"
        raise InvalidAnswerError(field, exc.message) from None


def open_answers(cipher: FieldCipher, record: ScreeningRecord) -> dict[str, Any]:
    answers: dict[str, Any] = json.loads(cipher.open(record.answers_sealed, field=ANSWERS_FIELD))
    return answers


def open_screening(cipher: FieldCipher, record: ScreeningRecord) -> Screening:
    return screen(open_answers(cipher, record))


def open_plan(cipher: FieldCipher, record: SafetyPlanRecord) -> Plan:
    return Plan.model_validate_json(cipher.open(record.plan_sealed, field=PLAN_FIELD))


def open_inputs(cipher: FieldCipher, record: SafetyPlanRecord) -> PlanInputs:
    return PlanInputs.model_validate_json(cipher.open(record.inputs_sealed, field=INPUTS_FIELD))


def screening_of_case(session: Session, actor: Principal, screening_id: int,
                      case_id: int) -> ScreeningRecord:
    record = session.get(ScreeningRecord, screening_id)
    if record is None or record.case_id != case_id \
            or not case_service.can_see(actor, record.agency_id):
        raise InvalidAnswerError("screening_id", f"no screening {screening_id} of this case")
    return record


def visible_plan(session: Session, actor: Principal, plan_id: int) -> SafetyPlanRecord:
    record = session.get(SafetyPlanRecord, plan_id)
    if record is None or not case_service.can_see(actor, record.agency_id):
        raise SafetyPlanNotFound(f"safety plan {plan_id} not found")
    return record


def present(record: SafetyPlanRecord, plan: Plan, *, lang: str | None = None,
            discreet: bool = False, requested: str | None = None) -> SafetyPlanPublic:
    """The plan for the API; ``requested`` is the language the caller asked for, so that a
    fallback to English is said rather than silent."""
    assert record.id is not None
    body = to_json(plan, lang, discreet=discreet)
    status = dict(body["translation_status"])
    if requested is not None:
        fallback = translation_status(str(body["language"]), requested=requested).as_dict()
        body["translation_status"] = status = fallback
    return SafetyPlanPublic(
        id=record.id, case_id=record.case_id, screening_id=record.screening_id,
        version=record.version, language=record.language, emergency=plan.emergency,
        danger_level=str(plan.danger_level), created_at=record.created_at,
        updated_at=record.updated_at, translation_status=TranslationStatusPublic(**status),
        plan=body)


def _counts(diff: editing.PlanDiff | None, plan: Plan) -> dict[str, int]:
    if diff is None:
        return {"steps": len(plan.steps)}
    return {"added": len(diff.added), "removed": len(diff.removed),
            "changed": len(diff.changed), "order_changed": int(diff.order_changed),
            "steps": len(plan.steps)}


def add_revision(session: Session, cipher: FieldCipher, actor: Principal, plan_id: int,
                 revision: int, action: str, plan: Plan,
                 diff: editing.PlanDiff | None) -> None:
    session.add(PlanRevision(
        plan_id=plan_id, revision=revision, action=action, actor_account_id=actor.account_id,
        counts=_counts(diff, plan),
        diff_sealed=(None if diff is None else
                     cipher.seal(diff.model_dump_json(), field=REVISION_DIFF_FIELD)),
        plan_sealed=cipher.seal(plan.model_dump_json(), field=REVISION_PLAN_FIELD)))


def change(
    session: Session, *, actor: Principal, cipher: FieldCipher, record: SafetyPlanRecord,
    expected_version: int, action: str, edit: Callable[[Plan], Plan],
    screening_id: int | None = None, inputs: PlanInputs | None = None,
) -> tuple[Plan, int]:
    """Apply one change to the plan as a new revision; the caller audits and commits."""
    actor.require_role(*CASE_WORKERS)
    if record.version != expected_version:
        raise PreconditionFailed(f"safety plan {record.id} is at version {record.version}, "
                                 f"not {expected_version}")
    old = open_plan(cipher, record)
    new = edit(old)
    diff = editing.diff_plans(old, new)
    values: dict[str, Any] = {
        "plan_sealed": cipher.seal(new.model_dump_json(), field=PLAN_FIELD),
        "danger_level": str(new.danger_level), "emergency": new.emergency,
        "version": expected_version + 1, "updated_at": utcnow()}
    if screening_id is not None:
        values["screening_id"] = screening_id
    if inputs is not None:
        values["inputs_sealed"] = cipher.seal(inputs.model_dump_json(), field=INPUTS_FIELD)
    # The version check and the write are one conditional UPDATE, so two advocates editing
    # the same plan cannot both win.
    result = session.execute(
        update(SafetyPlanRecord)
        .where(col(SafetyPlanRecord.id) == record.id,
               col(SafetyPlanRecord.version) == expected_version)
        .values(**values))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise PreconditionFailed(f"safety plan {record.id} changed; read it again")
    assert record.id is not None
    add_revision(session, cipher, actor, record.id, expected_version + 1, action, new, diff)
    return new, expected_version + 1


def commit_change(session: Session, actor: Principal, record: SafetyPlanRecord, plan: Plan,
                  action: str, revision: int) -> SafetyPlanPublic:
    audit_plan(session, actor, record.id, action, {"revision": revision})
    session.commit()
    session.refresh(record)
    return present(record, plan)
