"""Use cases of safety plans: create, read, list, render, edit steps, revisions.

A plan is generated from a stored screening of its case and the case's inputs: the survivor's
ranked priorities and code word, the nearest eligible shelters with open beds (asked of the
matcher, `safety_plans.inputs`) and a link to the case's travel plans. Every change
makes a revision (`service_common.change`); every read is audited. Screenings live in
`service_screenings`, proposals (new screening or new inputs) in `service_proposals`. The pure
engine in this package screens, generates, edits and renders; these modules store, seal and
audit.
"""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from core import audit
from core.crypto import FieldCipher
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.cases.models import CaseStatus
from logistics.cases.service import CASE_WORKERS
from logistics.errors import CaseClosed
from safety_plans import editing
from safety_plans.access import (
    INPUTS_FIELD,
    PLAN_FIELD,
    REVISION_DIFF_FIELD,
    REVISION_PLAN_FIELD,
    add_revision,
    audit_plan,
    change,
    commit_change,
    open_plan,
    open_screening,
    present,
    requested_language,
    screening_of_case,
    visible_plan,
)
from safety_plans.errors import PlanEditError, SafetyPlanNotFound
from safety_plans.inputs import plan_inputs
from safety_plans.models import (
    PlanRevision,
    RevisionPublic,
    RevisionSnapshot,
    SafetyPlanCreate,
    SafetyPlanPublic,
    SafetyPlanRecord,
    SafetyPlanSummary,
    StepAdd,
    StepEdit,
)
from safety_plans.planning import Plan, generate_plan
from safety_plans.render import DEFAULT_SMS_SEGMENTS, Rendered, render, to_json


def create_plan(
    session: Session, *, actor: Principal, cipher: FieldCipher, data: SafetyPlanCreate,
    base_url: str | None = None,
) -> SafetyPlanPublic:
    """Generate a plan from a stored screening of the case and store it as revision 1.

    Without `data.shelters` the matcher ranks the case and its best `shelter_limit` shelters
    with open beds are listed; without `data.travel_planner_url` a survivor who wants to go
    home gets a link to the case's travel plans under `base_url`.
    """
    case = case_service.visible_case(session, actor, data.case_id)
    actor.require_role(*CASE_WORKERS)
    if case.status == CaseStatus.CLOSED:
        raise CaseClosed(f"case {data.case_id} is closed")
    screening_record = screening_of_case(session, actor, data.screening_id, data.case_id)
    screening = open_screening(cipher, screening_record)
    gender = data.gender or survivor_gender(session, actor=actor, cipher=cipher,
                                            case_id=data.case_id)
    inputs = plan_inputs(
        session, actor=actor, cipher=cipher, case_id=data.case_id, screening=screening,
        priorities=data.priorities, code_word=data.code_word, shelters=data.shelters,
        shelter_limit=data.shelter_limit, travel_planner_url=data.travel_planner_url,
        base_url=base_url, gender=gender)
    plan = generate_plan(screening, inputs, language=data.language,
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
    add_revision(session, cipher, actor, record.id, 1, "create", plan, None)
    audit_plan(session, actor, record.id, "create",
               {"case_id": data.case_id, "revision": 1, "shelters": len(inputs.shelters)})
    session.commit()
    return present(record, plan, requested=data.language)


def survivor_gender(session: Session, *, actor: Principal, cipher: FieldCipher,
                    case_id: int) -> str | None:
    """The stated gender of the case's survivor: the household's first member, the person the
    intake is about (audited as a safety-planning read of the case)."""
    case = case_service.load_case_data(session, actor=actor, cipher=cipher, case_id=case_id,
                                       purpose="safety_planning")
    return str(case.household[0].gender) if case.household else None


def get_plan(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    language: str | None = None, discreet: bool = False, allow_language_fallback: bool = False,
) -> SafetyPlanPublic:
    record = visible_plan(session, actor, plan_id)
    lang = requested_language(language, allow_language_fallback)
    plan = open_plan(cipher, record)
    audit_plan(session, actor, plan_id, "read", {"version": record.version})
    session.commit()
    return present(record, plan, lang=lang, discreet=discreet, requested=language)



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
    max_segments: int = DEFAULT_SMS_SEGMENTS,
) -> Rendered:
    """The plan as html, pdf, txt, sms (or json) bytes with their media type.

    ``max_segments`` bounds the SMS form (see render.render_sms); other formats ignore it.
    """
    record = visible_plan(session, actor, plan_id)
    lang = requested_language(language, allow_language_fallback)
    rendered = render(open_plan(cipher, record), fmt, lang, discreet=discreet,
                      max_sms_segments=max_segments)
    audit_plan(session, actor, plan_id, "render",
               {"format": fmt, "discreet": discreet, "version": record.version})
    session.commit()
    return rendered


def edit_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, step_id: str, data: StepEdit,
) -> SafetyPlanPublic:
    record = visible_plan(session, actor, plan_id)
    if data.text is None and data.priority is None:
        raise PlanEditError("text", "give text and/or priority")
    plan, revision = change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="edit_step",
        edit=lambda p: editing.edit_step(p, step_id, text=data.text, priority=data.priority))
    return commit_change(session, actor, record, plan, "edit_step", revision)


def add_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, data: StepAdd,
) -> SafetyPlanPublic:
    record = visible_plan(session, actor, plan_id)
    plan, revision = change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="add_step",
        edit=lambda p: editing.add_step(p, data.section, data.text, priority=data.priority,
                                        after=data.after))
    return commit_change(session, actor, record, plan, "add_step", revision)


def remove_step(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    expected_version: int, step_id: str,
) -> SafetyPlanPublic:
    record = visible_plan(session, actor, plan_id)
    plan, revision = change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="remove_step", edit=lambda p: editing.remove_step(p, step_id))
    return commit_change(session, actor, record, plan, "remove_step", revision)


def list_revisions(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int, limit: int,
    offset: int,
) -> list[RevisionPublic]:
    visible_plan(session, actor, plan_id)
    rows = session.exec(
        select(PlanRevision).where(PlanRevision.plan_id == plan_id)
        .order_by(col(PlanRevision.revision)).limit(limit).offset(offset)).all()
    audit_plan(session, actor, plan_id, "read_revisions")
    session.commit()
    return [RevisionPublic(
        revision=r.revision, action=r.action, actor_account_id=r.actor_account_id, at=r.at,
        counts=r.counts,
        diff=(None if r.diff_sealed is None else
              json.loads(cipher.open(r.diff_sealed, field=REVISION_DIFF_FIELD))))
        for r in rows]


def get_revision(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int, revision: int,
    language: str | None = None, allow_language_fallback: bool = False,
) -> RevisionSnapshot:
    """The whole plan as it stood at one revision (every string resolved)."""
    visible_plan(session, actor, plan_id)
    lang = requested_language(language, allow_language_fallback)
    row = session.exec(select(PlanRevision).where(
        PlanRevision.plan_id == plan_id, PlanRevision.revision == revision)).first()
    if row is None:
        raise SafetyPlanNotFound(f"revision {revision} of plan {plan_id} not found")
    plan = Plan.model_validate_json(cipher.open(row.plan_sealed, field=REVISION_PLAN_FIELD))
    audit_plan(session, actor, plan_id, "read_revision", {"revision": revision})
    session.commit()
    return RevisionSnapshot(revision=row.revision, action=row.action,
                            actor_account_id=row.actor_account_id, at=row.at,
                            counts=row.counts, plan=to_json(plan, lang))
