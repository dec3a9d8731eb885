"""Use cases of proposals: what a new screening or new inputs would change in a plan.

Neither overwrites the plan. A proposal stores the diff against the plan's current version
(`editing.propose_update`, which spares advocates' own, edited and removed steps); an
advocate applies all or some of it as a new revision, once, and only to that version. A
proposal from new inputs (priorities, code word, refreshed shelters from the matcher) keeps
the proposed inputs sealed beside the diff; applying it makes them the plan's inputs.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import update
from sqlmodel import Session, col

from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import Conflict
from core.principal import Principal
from logistics.cases.service import CASE_WORKERS
from safety_plans import editing
from safety_plans.access import (
    PROPOSAL_DIFF_FIELD,
    PROPOSAL_INPUTS_FIELD,
    audit_plan,
    change,
    commit_change,
    open_inputs,
    open_plan,
    open_screening,
    screening_of_case,
    visible_plan,
)
from safety_plans.errors import SafetyPlanNotFound, StaleProposal
from safety_plans.inputs import matched_shelters
from safety_plans.models import (
    InputsUpdate,
    PlanProposal,
    ProposalPublic,
    SafetyPlanPublic,
    SafetyPlanRecord,
    ScreeningRecord,
)
from safety_plans.planning import Plan, PlanInputs, generate_plan, parse_inputs


def _diff(cipher: FieldCipher, current: Plan, screening_record: ScreeningRecord,
          inputs: PlanInputs, language: str) -> editing.PlanDiff:
    screening = open_screening(cipher, screening_record)
    regenerated = generate_plan(screening, inputs, language=language)
    return editing.propose_update(current, regenerated, answers=screening.answers)


def _public(proposal: PlanProposal, diff: editing.PlanDiff) -> ProposalPublic:
    assert proposal.id is not None
    return ProposalPublic(
        id=proposal.id, plan_id=proposal.plan_id, screening_id=proposal.screening_id,
        base_version=proposal.base_version,
        kind="screening" if proposal.inputs_sealed is None else "inputs",
        status=proposal.status, danger_level=proposal.danger_level,
        emergency=proposal.emergency, step_ids=list(diff.step_ids),
        diff=diff.model_dump(mode="json"), created_at=proposal.created_at,
        applied_at=proposal.applied_at, applied_revision=proposal.applied_revision)


def _store(session: Session, actor: Principal, cipher: FieldCipher, record: SafetyPlanRecord,
           screening_record: ScreeningRecord, diff: editing.PlanDiff,
           inputs: PlanInputs | None, action: str) -> ProposalPublic:
    assert record.id is not None and screening_record.id is not None
    proposal = PlanProposal(
        plan_id=record.id, screening_id=screening_record.id, base_version=record.version,
        danger_level=screening_record.danger_level, emergency=screening_record.emergency,
        diff_sealed=cipher.seal(diff.model_dump_json(), field=PROPOSAL_DIFF_FIELD),
        inputs_sealed=(None if inputs is None else
                       cipher.seal(inputs.model_dump_json(), field=PROPOSAL_INPUTS_FIELD)),
        created_by=actor.account_id)
    session.add(proposal)
    session.flush()
    audit_plan(session, actor, record.id, action,
               {"proposal_id": proposal.id, "base_version": record.version})
    session.commit()
    return _public(proposal, diff)


def propose(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    screening_id: int,
) -> ProposalPublic:
    """What a newer screening of the case would change in the plan, stored, not applied."""
    record = visible_plan(session, actor, plan_id)
    actor.require_role(*CASE_WORKERS)
    screening_record = screening_of_case(session, actor, screening_id, record.case_id)
    diff = _diff(cipher, open_plan(cipher, record), screening_record,
                 open_inputs(cipher, record), record.language)
    return _store(session, actor, cipher, record, screening_record, diff, None, "propose")


def propose_inputs(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    data: InputsUpdate,
) -> ProposalPublic:
    """What new priorities, a new code word or refreshed shelters would change in the plan."""
    record = visible_plan(session, actor, plan_id)
    actor.require_role(*CASE_WORKERS)
    current = open_inputs(cipher, record)
    raw = current.model_dump(mode="json")
    if data.priorities is not None:
        raw["priorities"] = data.priorities
    if data.clear_code_word:
        raw["code_word"] = None
    elif data.code_word is not None:
        raw["code_word"] = data.code_word
    if data.refresh_shelters:
        raw["shelters"] = matched_shelters(session, actor=actor, cipher=cipher,
                                           case_id=record.case_id, limit=data.shelter_limit)
    inputs = parse_inputs(raw)
    screening_record = session.get(ScreeningRecord, record.screening_id)
    assert screening_record is not None
    diff = _diff(cipher, open_plan(cipher, record), screening_record, inputs, record.language)
    return _store(session, actor, cipher, record, screening_record, diff, inputs,
                  "propose_inputs")


def _proposal(session: Session, plan_id: int, proposal_id: int) -> PlanProposal:
    proposal = session.get(PlanProposal, proposal_id)
    if proposal is None or proposal.plan_id != plan_id:
        raise SafetyPlanNotFound(f"proposal {proposal_id} of plan {plan_id} not found")
    return proposal


def get_proposal(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    proposal_id: int,
) -> ProposalPublic:
    visible_plan(session, actor, plan_id)
    proposal = _proposal(session, plan_id, proposal_id)
    diff = editing.PlanDiff.model_validate_json(
        cipher.open(proposal.diff_sealed, field=PROPOSAL_DIFF_FIELD))
    audit_plan(session, actor, plan_id, "read_proposal", {"proposal_id": proposal_id})
    session.commit()
    return _public(proposal, diff)


def apply_proposal(
    session: Session, *, actor: Principal, cipher: FieldCipher, plan_id: int,
    proposal_id: int, expected_version: int, accept: Collection[str] | None,
    accept_header: bool = True,
) -> SafetyPlanPublic:
    """Apply the accepted steps of a proposal as a new revision; ``accept=None`` applies
    nothing and says so (PlanEditError on the field ``accept``)."""
    record = visible_plan(session, actor, plan_id)
    proposal = _proposal(session, plan_id, proposal_id)
    if proposal.status != "open":
        raise Conflict(f"proposal {proposal_id} was already applied")
    if proposal.base_version != record.version:
        raise StaleProposal(f"proposal {proposal_id} was made for version "
                            f"{proposal.base_version}; the plan is at {record.version}")
    screening_record = session.get(ScreeningRecord, proposal.screening_id)
    assert screening_record is not None
    inputs = (open_inputs(cipher, record) if proposal.inputs_sealed is None else
              PlanInputs.model_validate_json(
                  cipher.open(proposal.inputs_sealed, field=PROPOSAL_INPUTS_FIELD)))

    def edit(current: Plan) -> Plan:
        # The plan is unchanged since the proposal (same version) and generation is pure, so
        # regenerating gives exactly the stored diff, with its values in their proper types.
        diff = _diff(cipher, current, screening_record, inputs, record.language)
        return editing.apply_diff(current, diff, accept=accept, accept_header=accept_header)

    plan, revision = change(
        session, actor=actor, cipher=cipher, record=record, expected_version=expected_version,
        action="apply_proposal", edit=edit,
        screening_id=proposal.screening_id if accept_header else None,
        inputs=None if proposal.inputs_sealed is None else inputs)
    session.execute(update(PlanProposal).where(col(PlanProposal.id) == proposal_id)
                    .values(status="applied", applied_at=utcnow(), applied_revision=revision))
    return commit_change(session, actor, record, plan, "apply_proposal", revision)
