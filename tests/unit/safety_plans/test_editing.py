"""Advocate edits, plan diffs, and a new screening proposing changes instead of overwriting."""

from __future__ import annotations

import pytest

from safety_plans.editing import (
    add_step,
    apply_diff,
    diff_plans,
    edit_step,
    propose_update,
    remove_step,
)
from safety_plans.errors import PlanEditError
from safety_plans.planning import Plan, generate_plan
from safety_plans.render import localize
from safety_plans.rules import EMERGENCY_CONTACT_IDS, Priority, Section

from .cases import IMMEDIATE_DANGER, MONITORED_INPUTS, MONITORED_PHONE


@pytest.fixture
def plan() -> Plan:
    return generate_plan(MONITORED_PHONE, MONITORED_INPUTS)


def test_edit_step_overrides_text_in_every_language(plan: Plan) -> None:
    edited = edit_step(plan, "tech.basic", text="Use the library computer.", priority=1)
    step = edited.step("tech.basic")
    assert step is not None and step.edited and step.priority is Priority.URGENT
    assert {s.id: s.text for s in localize(edited, "es").steps}["tech.basic"] == (
        "Use the library computer."
    )
    assert edited.step_ids == plan.step_ids and plan.step("tech.basic").text is None  # type: ignore[union-attr]


def test_edit_rejects_bad_input(plan: Plan) -> None:
    with pytest.raises(PlanEditError) as caught:
        edit_step(plan, "nope", text="x")
    assert caught.value.field == "step_id"
    with pytest.raises(PlanEditError, match="priority"):
        edit_step(plan, "tech.basic", priority=7)
    with pytest.raises(PlanEditError, match="text"):
        edit_step(plan, "tech.basic", text="   ")


def test_add_step_lands_in_its_section_with_a_stable_id(plan: Plan) -> None:
    added = add_step(plan, Section.DOCUMENTS, "Ask the consulate about an appointment.")
    ids = list(added.step_ids)
    assert ids[ids.index("documents.copies") + 1] == "custom.1"
    second = add_step(added, "technology", "Keep the old phone charged.", after="tech.location")
    assert (
        list(second.step_ids).index("custom.2") == list(second.step_ids).index("tech.location") + 1
    )
    removed = remove_step(second, "custom.2")
    assert add_step(removed, "money", "Open a bank account.").step_ids[-1] != "custom.2"
    with pytest.raises(PlanEditError) as caught:
        add_step(plan, "technology", "x", after="documents.copies")
    assert caught.value.field == "after"
    with pytest.raises(PlanEditError) as caught:
        add_step(plan, "nowhere", "x")
    assert caught.value.field == "section"


def test_remove_step_and_protect_emergency_contacts(plan: Plan) -> None:
    smaller = remove_step(plan, "tech.accounts")
    assert "tech.accounts" not in smaller.step_ids
    assert smaller.removed_step_ids == ("tech.accounts",)
    assert "immediate.call_911" not in remove_step(plan, "immediate.call_911").step_ids
    danger = generate_plan(IMMEDIATE_DANGER)
    for step_id in EMERGENCY_CONTACT_IDS:
        with pytest.raises(PlanEditError):
            remove_step(danger, step_id)


def test_emergency_contacts_stay_first_after_edits() -> None:
    danger = generate_plan(IMMEDIATE_DANGER)
    edited = add_step(
        danger, Section.IMMEDIATE_SAFETY, "Go to the neighbour.", after="immediate.call_911"
    )
    assert edited.step_ids[:3] == EMERGENCY_CONTACT_IDS


def test_diff_plans(plan: Plan) -> None:
    changed = edit_step(remove_step(plan, "tech.accounts"), "tech.basic", text="Mine.")
    changed = add_step(changed, "money", "Open an account.")
    diff = diff_plans(plan, changed)
    assert [s.id for s in diff.added] == ["custom.1"]
    assert [s.id for s in diff.removed] == ["tech.accounts"]
    assert [(c.step_id, c.fields) for c in diff.changed] == [("tech.basic", ("text",))]
    assert diff_plans(plan, plan).is_empty


def test_new_screening_proposes_changes_and_spares_advocate_work(plan: Plan) -> None:
    current = edit_step(plan, "tech.history", text="Only delete texts from Ana.")
    current = remove_step(current, "tech.accounts")
    current = add_step(current, "money", "Open an account.")
    rescreened = generate_plan(
        {**MONITORED_PHONE, "documents_held": True, "phone_monitored": False}, MONITORED_INPUTS
    )
    proposal = propose_update(current, rescreened)
    added = [s.id for s in proposal.added]
    assert "documents.held" in added and "tech.accounts" not in added
    removed = [s.id for s in proposal.removed]
    assert "tech.monitored_phone" in removed
    assert "custom.1" not in removed and "tech.history" not in removed
    assert current.step("documents.held") is None  # proposing never overwrites

    accepted = apply_diff(current, proposal, accept=["documents.held", "tech.location"])
    assert "documents.held" in accepted.step_ids and "tech.location" not in accepted.step_ids
    assert "tech.monitored_phone" in accepted.step_ids and "custom.1" in accepted.step_ids
    assert accepted.step("tech.history").text == "Only delete texts from Ana."  # type: ignore[union-attr]

    everything = apply_diff(current, proposal, accept=proposal.step_ids)
    assert set(everything.step_ids) == (set(rescreened.step_ids) - {"tech.accounts"}) | {
        "custom.1",
        "tech.history",
    }
    with pytest.raises(PlanEditError) as caught:
        apply_diff(current, proposal, accept=["not.in.diff"])
    assert caught.value.field == "accept"


def test_proposal_switches_to_emergency_mode(plan: Plan) -> None:
    rescreened = generate_plan({**MONITORED_PHONE, "might_kill": True}, MONITORED_INPUTS)
    proposal = propose_update(plan, rescreened)
    assert proposal.header["emergency"] is True
    updated = apply_diff(plan, proposal, accept=proposal.step_ids)
    assert updated.emergency and updated.step_ids[:3] == EMERGENCY_CONTACT_IDS
    assert updated.step_ids[3] == "immediate.emergency_now"
