"""Use cases of safety plans: screenings, plans, renderings, step edits, revisions, proposals.

Screenings and plans belong to a case and are visible only to that case's agency staff and to
admins (404 for anyone else). Every read writes an audit row; every change of a plan makes a
revision (who, when, what changed) in the same transaction, guarded by the plan's version
(If-Match). A new screening of the case never overwrites a plan: it is stored as a proposal,
and an advocate applies all or some of its changes. The pure engine in this package does the
screening, generation, editing and rendering; this module only stores, seals and audits.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import Conflict, PreconditionFailed
from core.principal import Principal
from logistics import case_service
from logistics.case_service import CASE_WORKERS, CaseClosed
from logistics.cases import CaseStatus
from safety_plans import editing
from safety_plans.errors import (
    InvalidAnswerError,
    PlanEditError,
    SafetyPlanNotFound,
    StaleProposal,
)
from safety_plans.i18n import resolve_language
from safety_plans.models import (
    PlanCreate,
    PlanProposal,
    PlanRevision,
    ProposalPublic,
    RevisionPublic,
    SafetyPlanPublic,
    SafetyPlanRecord,
    SafetyPlanSummary,
    ScreeningPublic,
    ScreeningRecord,
    StepAdd,
    StepEdit,
)
from safety_plans.planning import Plan, PlanInputs, generate_plan, parse_inputs
from safety_plans.render import Rendered, render, to_json
from safety_plans.screening import Screening, screen

ANSWERS_FIELD = "screening.answers"
PLAN_FIELD = "safety_plan.plan"
INPUTS_FIELD = "safety_plan.inputs"
REVISION_PLAN_FIELD = "safety_plan_revision.plan"
REVISION_DIFF_FIELD = "safety_plan_revision.diff"
PROPOSAL_DIFF_FIELD = "safety_plan_proposal.diff"


def _audit(session: Session, actor: Principal, plan_id: object, action: str,
           details: dict[str, Any] | None = None) -> None:
    audit.record(session, actor, action=f"safety_plan.{action}", object_type="safety_plan",
                 object_id=plan_id, purpose="safety_planning", details=details)


def _language(language: str | None, allow_fallback: bool) -> str | None:
    return None if language is None else resolve_language(language, allow_fallback=allow_fallback)


def _screen_body(answers: dict[str, Any]) -> Screening:
    try:
        return screen(answers)
    except InvalidAnswerError as exc:
        field = exc.field if exc.field == "answers" else f"answers.{exc.field}"
        raise InvalidAnswerError(field, exc.message) from None


def _open_screening(cipher: FieldCipher, record: ScreeningRecord) -> Screening:
    return screen(json.loads(cipher.open(record.answers_sealed, field=ANSWERS_FIELD)))


def _open_plan(cipher: FieldCipher, record: SafetyPlanRecord) -> Plan:
    return Plan.model_validate_json(cipher.open(record.plan_sealed, field=PLAN_FIELD))


def _screening_public(record: ScreeningRecord, screening: Screening) -> ScreeningPublic:
    assert record.id is not None
    return ScreeningPublic(
        id=record.id, case_id=record.case_id, danger_level=str(screening.danger_level),
        emergency=screening.emergency, score=screening.score,
        emergency_triggers=list(screening.emergency_triggers), created_at=record.created_at)


def record_screening(
    session: Session, *, actor: Principal, cipher: FieldCipher, case_id: int,
    answers: dict[str, Any],
) -> ScreeningPublic:
    """Validate, score and store a screening of a case (answers sealed)."""
    case = case_service.visible_case(session, actor, case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {case_id} is closed")
    screening = _screen_body(answers)
    record = ScreeningRecord(
        case_id=case_id, agency_id=case.agency_id,
        answers_sealed=cipher.seal(json.dumps(dict(screening.answers), sort_keys=True),
                                   field=ANSWERS_FIELD),
        danger_level=str(screening.danger_level), emergency=screening.emergency,
        created_by=actor.account_id)
    session.add(record)
    session.flush()
    audit.record(session, actor, action="screening.create", object_type="screening",
                 object_id=record.id, purpose="safety_planning", details={"case_id": case_id})
    session.commit()
    return _screening_public(record, screening)


def _screening_of_case(session: Session, actor: Principal, screening_id: int,
                       case_id: int) -> ScreeningRecord:
    record = session.get(ScreeningRecord, screening_id)
    if record is None or record.case_id != case_id \
            or not case_service.can_see(actor, record.agency_id):
        raise InvalidAnswerError("screening_id", f"no screening {screening_id} of this case")
    return record


def _visible_plan(session: Session, actor: Principal, plan_id: int) -> SafetyPlanRecord:
    record = session.get(SafetyPlanRecord, plan_id)
    if record is None or not case_service.can_see(actor, record.agency_id):
        raise SafetyPlanNotFound(f"safety plan {plan_id} not found")
    return record


def _present(record: SafetyPlanRecord, plan: Plan, *, language: str | None = None,
             discreet: bool = False) -> SafetyPlanPublic:
    assert record.id is not None
    return SafetyPlanPublic(
        id=record.id, case_id=record.case_id, screening_id=record.screening_id,
        version=record.version, language=record.language, emergency=plan.emergency,
        danger_level=str(plan.danger_level), created_at=record.created_at,
        updated_at=record.updated_at, plan=to_json(plan, language, discreet=discreet))


def _counts(diff: editing.PlanDiff | None, plan: Plan) -> dict[str, int]:
    if diff is None:
        return {"steps": len(plan.steps)}
    return {"added": len(diff.added), "removed": len(diff.removed),
            "changed": len(diff.changed), "order_changed": int(diff.order_changed),
            "steps": len(plan.steps)}


def _add_revision(session: Session, cipher: FieldCipher, actor: Principal, plan_id: int,
                  revision: int, action: str, plan: Plan,
                  diff: editing.PlanDiff | None) -> None:
    session.add(PlanRevision(
        plan_id=plan_id, revision=revision, action=action, actor_account_id=actor.account_id,
        counts=_counts(diff, plan),
        diff_sealed=(None if diff is None else
                     cipher.seal(diff.model_dump_json(), field=REVISION_DIFF_FIELD)),
        plan_sealed=cipher.seal(plan.model_dump_json(), field=REVISION_PLAN_FIELD)))


def create_plan(
    session: Session, *, actor: Principal, cipher: FieldCipher, data: PlanCreate
) -> SafetyPlanPublic:
    """Generate a plan from a stored screening of the case and store it as revision 1."""
    case = case_service.visible_case(session, actor, data.case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {data.case_id} is closed")
    screening_record = _screening_of_case(session, actor, data.screening_id, data.case_id)
    inputs = parse_inputs({"shelters": data.shelters, "priorities": data.priorities,
                           "code_word": data.code_word,
                           "travel_planner_url": data.travel_planner_url})
    plan = generate_plan(_open_screening(cipher, screening_record), inputs,
                         language=data.language,
                         allow_language_fallback=data.allow_language_fallback)
    record = SafetyPlanRecord(
        case_id=data.case_id, agency_id=case.agency_id, screening_id=data.screening_id,
        language=plan.language, danger_level=str(plan.danger_level), emergency=plan.emergency,
        plan_sealed=cipher.seal(plan.model_dump_json(), field=PLAN_FIELD),
        inputs_sealed=cipher.seal(inputs.model_dump_json(), field=INPUTS_FIELD),
        created_by=actor.account_id)
    session.add(record)
    session.flush()
    assert record.id is not None
    _add_revision(session, cipher, actor, record.id, 1, "create", plan, None)
    _audit(session, actor, record.id, "create", {"case_id": data.case_id, "revision": 1})
    session.commit()
    return _present(record, plan)


def get_plan(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    language: str | None = None, discreet: bool = False, allow_language_fallback: bool = False,
) -> SafetyPlanPublic:
    record = _visible_plan(session, actor, plan_id)
    lang = _language(language, allow_language_fallback)
    plan = _open_plan(cipher, record)
    _audit(session, actor, plan_id, "read", {"version": record.version})
    session.commit()
    return _present(record, plan, language=lang, discreet=discreet)


def list_case_plans(
    session: Session, *, actor: Principal, case_id: int, limit: int, offset: int
) -> list[SafetyPlanSummary]:
    """The plans of a case, oldest first, without their (sealed) steps."""
    case_service.visible_case(session, actor, case_id)
    rows = session.exec(
        select(SafetyPlanRecord).where(SafetyPlanRecord.case_id == case_id)
        .order_by(col(SafetyPlanRecord.id)).limit(limit).offset(offset)).all()
    audit.record(session, actor, action="safety_plan.list", object_type="case",
                 object_id=case_id, purpose="safety_planning")
    session.commit()
    return [SafetyPlanSummary.model_validate(r, from_attributes=True) for r in rows]


def render_plan(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int, fmt: str,
    language: str | None = None, discreet: bool = False, allow_language_fallback: bool = False,
) -> Rendered:
    """The plan as html, pdf, txt, sms (or json) bytes with their media type."""
    record = _visible_plan(session, actor, plan_id)
    lang = _language(language, allow_language_fallback)
    rendered = render(_open_plan(cipher, record), fmt, lang, discreet=discreet)
    _audit(session, actor, plan_id, "render",
           {"format": fmt, "discreet": discreet, "version": record.version})
    session.commit()
    return rendered


def _change(
    session: Session, *, actor: Principal, cipher: FieldCipher, record: SafetyPlanRecord,
    expected_version: int, action: str, change: Callable[[Plan], Plan],
    screening_id: int | None = None,
) -> tuple[Plan, int]:
    """Apply one change to the plan as a new revision; the caller audits and commits."""
    actor.require_role(*CASE_WORKERS)
    if record.version != expected_version:
        raise PreconditionFailed(f"safety plan {record.id} is at version {record.version}, "
                                 f"not {expected_version}")
    old = _open_plan(cipher, record)
    new = change(old)
    diff = editing.diff_plans(old, new)
    values: dict[str, Any] = {
        "plan_sealed": cipher.seal(new.model_dump_json(), field=PLAN_FIELD),
        "danger_level": str(new.danger_level), "emergency": new.emergency,
        "version": expected_version + 1, "updated_at": utcnow()}
    if screening_id is not None:
        values["screening_id"] = screening_id
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
    _add_revision(session, cipher, actor, record.id, expected_version + 1, action, new, diff)
    return new, expected_version + 1


def _commit_change(session: Session, actor: Principal, record: SafetyPlanRecord, plan: Plan,
                   action: str, revision: int) -> SafetyPlanPublic:
    _audit(session, actor, record.id, action, {"revision": revision})
    session.commit()
    session.refresh(record)
    return _present(record, plan)


def edit_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, step_id: str, data: StepEdit,
) -> SafetyPlanPublic:
    record = _visible_plan(session, actor, plan_id)
    if data.text is None and data.priority is None:
        raise PlanEditError("text", "give text and/or priority")
    plan, revision = _change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="edit_step",
        change=lambda p: editing.edit_step(p, step_id, text=data.text, priority=data.priority))
    return _commit_change(session, actor, record, plan, "edit_step", revision)


def add_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, data: StepAdd,
) -> SafetyPlanPublic:
    record = _visible_plan(session, actor, plan_id)
    plan, revision = _change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="add_step",
        change=lambda p: editing.add_step(p, data.section, data.text, priority=data.priority,
                                          after=data.after))
    return _commit_change(session, actor, record, plan, "add_step", revision)


def remove_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, step_id: str,
) -> SafetyPlanPublic:
    record = _visible_plan(session, actor, plan_id)
    plan, revision = _change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="remove_step", change=lambda p: editing.remove_step(p, step_id))
    return _commit_change(session, actor, record, plan, "remove_step", revision)


def list_revisions(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int, limit: int,
    offset: int,
) -> list[RevisionPublic]:
    _visible_plan(session, actor, plan_id)
    rows = session.exec(
        select(PlanRevision).where(PlanRevision.plan_id == plan_id)
        .order_by(col(PlanRevision.revision)).limit(limit).offset(offset)).all()
    _audit(session, actor, plan_id, "read_revisions")
    session.commit()
    return [RevisionPublic(
        revision=r.revision, action=r.action, actor_account_id=r.actor_account_id, at=r.at,
        counts=r.counts,
        diff=(None if r.diff_sealed is None else
              json.loads(cipher.open(r.diff_sealed, field=REVISION_DIFF_FIELD))))
        for r in rows]


def _proposed_diff(cipher: FieldCipher, record: SafetyPlanRecord, current: Plan,
                   screening_record: ScreeningRecord) -> editing.PlanDiff:
    inputs = PlanInputs.model_validate_json(cipher.open(record.inputs_sealed,
                                                        field=INPUTS_FIELD))
    regenerated = generate_plan(_open_screening(cipher, screening_record), inputs,
                                language=record.language)
    return editing.propose_update(current, regenerated)


def _proposal_public(proposal: PlanProposal, diff: editing.PlanDiff) -> ProposalPublic:
    assert proposal.id is not None
    return ProposalPublic(
        id=proposal.id, plan_id=proposal.plan_id, screening_id=proposal.screening_id,
        base_version=proposal.base_version, status=proposal.status,
        danger_level=proposal.danger_level, emergency=proposal.emergency,
        step_ids=list(diff.step_ids), diff=diff.model_dump(mode="json"),
        created_at=proposal.created_at, applied_at=proposal.applied_at,
        applied_revision=proposal.applied_revision)


def propose(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    screening_id: int,
) -> ProposalPublic:
    """What a newer screening of the case would change in the plan, stored, not applied."""
    record = _visible_plan(session, actor, plan_id)
    actor.require_role(*CASE_WORKERS)
    screening_record = _screening_of_case(session, actor, screening_id, record.case_id)
    diff = _proposed_diff(cipher, record, _open_plan(cipher, record), screening_record)
    proposal = PlanProposal(
        plan_id=plan_id, screening_id=screening_id, base_version=record.version,
        danger_level=screening_record.danger_level, emergency=screening_record.emergency,
        diff_sealed=cipher.seal(diff.model_dump_json(), field=PROPOSAL_DIFF_FIELD),
        created_by=actor.account_id)
    session.add(proposal)
    session.flush()
    _audit(session, actor, plan_id, "propose",
           {"proposal_id": proposal.id, "base_version": record.version})
    session.commit()
    return _proposal_public(proposal, diff)


def _proposal(session: Session, plan_id: int, proposal_id: int) -> PlanProposal:
    proposal = session.get(PlanProposal, proposal_id)
    if proposal is None or proposal.plan_id != plan_id:
        raise SafetyPlanNotFound(f"proposal {proposal_id} of plan {plan_id} not found")
    return proposal


def get_proposal(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    proposal_id: int,
) -> ProposalPublic:
    _visible_plan(session, actor, plan_id)
    proposal = _proposal(session, plan_id, proposal_id)
    diff = editing.PlanDiff.model_validate_json(
        cipher.open(proposal.diff_sealed, field=PROPOSAL_DIFF_FIELD))
    _audit(session, actor, plan_id, "read_proposal", {"proposal_id": proposal_id})
    session.commit()
    return _proposal_public(proposal, diff)


def apply_proposal(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    proposal_id: int, expected_version: int, accept: Collection[str] | None,
    accept_header: bool = True,
) -> SafetyPlanPublic:
    """Apply all (or the accepted steps) of a proposal as a new revision."""
    record = _visible_plan(session, actor, plan_id)
    proposal = _proposal(session, plan_id, proposal_id)
    if proposal.status != "open":
        raise Conflict(f"proposal {proposal_id} was already applied")
    if proposal.base_version != record.version:
        raise StaleProposal(f"proposal {proposal_id} was made for version "
                            f"{proposal.base_version}; the plan is at {record.version}")
    screening_record = session.get(ScreeningRecord, proposal.screening_id)
    assert screening_record is not None

    def change(current: Plan) -> Plan:
        # The plan is unchanged since the proposal (same version) and generation is pure, so
        # regenerating gives exactly the stored diff, with its values in their proper types.
        diff = _proposed_diff(cipher, record, current, screening_record)
        return editing.apply_diff(current, diff, accept=accept, accept_header=accept_header)

    plan, revision = _change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="apply_proposal", change=change,
        screening_id=proposal.screening_id if accept_header else None)
    session.execute(update(PlanProposal).where(col(PlanProposal.id) == proposal_id)
                    .values(status="applied", applied_at=utcnow(), applied_revision=revision))
    return _commit_change(session, actor, record, plan, "apply_proposal", revision)
