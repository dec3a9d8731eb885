"""Re-screening cannot erase a plan by omission: an unanswered question is unknown, never "no";
a proposal removes only steps whose triggers were answered; applying needs an explicit accept."""

from __future__ import annotations

import pytest

from safety_plans.editing import apply_diff, propose_update
from safety_plans.errors import PlanEditError
from safety_plans.planning import generate_plan
from safety_plans.screening import screen

from .cases import IMMEDIATE_DANGER, MOTHER, MOTHER_INPUTS


def test_a_follow_up_answering_one_question_proposes_no_removal() -> None:
    current = generate_plan(MOTHER, MOTHER_INPUTS)
    follow_up = screen({"needs_medical": True})
    regenerated = generate_plan(follow_up, MOTHER_INPUTS)
    proposal = propose_update(current, regenerated, answers=follow_up.answers)
    assert proposal.removed == ()
    assert current.step("children.plan") is not None


def test_a_trigger_answered_no_does_propose_removing_its_step() -> None:
    current = generate_plan(MOTHER, MOTHER_INPUTS)
    assert "children_count" in current.step("children.plan").triggered_by  # type: ignore[union-attr]
    follow_up = screen({"children_count": 0})
    regenerated = generate_plan(follow_up, MOTHER_INPUTS)
    proposal = propose_update(current, regenerated, answers=follow_up.answers)
    removed = {s.id for s in proposal.removed}
    assert "children.plan" in removed
    for step in proposal.removed:
        asked = [k for k in step.triggered_by if not k.startswith("input.")]
        assert asked and all(k in follow_up.answers for k in asked), step.id


def test_applying_without_accept_applies_nothing_and_says_so() -> None:
    current = generate_plan(MOTHER, MOTHER_INPUTS)
    follow_up = screen({"children_count": 0})
    proposal = propose_update(current, generate_plan(follow_up, MOTHER_INPUTS),
                              answers=follow_up.answers)
    with pytest.raises(PlanEditError) as caught:
        apply_diff(current, proposal)
    assert caught.value.field == "accept" and "nothing" in str(caught.value)
    assert apply_diff(current, proposal, accept=[], accept_header=False) == current


def test_emergency_mode_ends_only_when_its_triggers_are_answered() -> None:
    current = generate_plan(IMMEDIATE_DANGER)
    assert current.emergency
    follow_up = screen({"needs_medical": True})
    proposal = propose_update(current, generate_plan(follow_up), answers=follow_up.answers)
    assert "emergency" not in proposal.header and "danger_level" not in proposal.header
    assert proposal.removed == ()
    answered = screen({"threatened_to_kill": False, "weapon_threat": False})
    lowered = propose_update(current, generate_plan(answered), answers=answered.answers)
    assert lowered.header.get("emergency") is False
