"""Properties of the safety-plan engine over any valid set of screening answers and inputs."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from safety_plans.editing import apply_diff, diff_plans, propose_update
from safety_plans.planning import Plan, PlanInputs, SuggestedShelter, generate_plan
from safety_plans.render import render_sms, to_json
from safety_plans.rules import EMERGENCY_CONTACT_IDS, Section
from safety_plans.screening import ITEMS, ItemType, screen
from safety_plans.sms import GSM7_LIMIT, UCS2_LIMIT, gsm7_septets, ucs2_units


def _answer(item: Any) -> st.SearchStrategy[Any]:
    if item.type is ItemType.BOOL:
        return st.booleans()
    if item.type is ItemType.INT:
        return st.integers(item.minimum, item.maximum)
    return st.sampled_from(item.choices)


answers = st.fixed_dictionaries({}, optional={item.key: _answer(item) for item in ITEMS})
shelters = st.lists(
    st.builds(
        SuggestedShelter,
        id=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
        name=st.text(min_size=1, max_size=30).filter(str.strip),
        address=st.just("1 Main St"),
        phone=st.just("555-0100"),
        open_beds=st.integers(0, 20),
        distance_km=st.none() | st.floats(0, 500),
    ),
    max_size=3,
    unique_by=lambda s: s.id,
)
inputs = st.builds(
    PlanInputs,
    shelters=shelters.map(tuple),
    travel_planner_url=st.none() | st.just("https://example.org/trip/1"),
    priorities=st.lists(st.sampled_from(list(Section)), unique=True, max_size=4).map(tuple),
    code_word=st.none() | st.sampled_from(["apple", "bluebird", "casa"]),
)
languages = st.sampled_from(["en", "es"])


def _valid(plan: Plan) -> None:
    assert len(set(plan.step_ids)) == len(plan.step_ids)
    assert set(EMERGENCY_CONTACT_IDS) <= set(plan.step_ids)
    seen: list[Section] = []
    for step in plan.steps:
        if not seen or seen[-1] != step.section:
            assert step.section not in seen, "sections must be contiguous"
            seen.append(step.section)
    assert Plan.model_validate(plan.model_dump()) == plan


@settings(max_examples=150, deadline=None)
@given(answers, inputs, languages)
def test_any_valid_answers_give_a_valid_plan(
    raw: dict[str, Any], extra: PlanInputs, lang: str
) -> None:
    plan = generate_plan(raw, extra, language=lang)
    _valid(plan)
    data = to_json(plan)
    assert [s["id"] for sec in data["sections"] for s in sec["steps"]] == list(plan.step_ids)
    assert all(s["text"] for sec in data["sections"] for s in sec["steps"])
    assert plan.emergency == screen(raw).emergency


@settings(max_examples=150, deadline=None)
@given(answers, inputs)
def test_emergency_mode_puts_emergency_contacts_first(
    raw: dict[str, Any], extra: PlanInputs
) -> None:
    plan = generate_plan(raw, extra)
    if plan.emergency:
        assert plan.step_ids[: len(EMERGENCY_CONTACT_IDS)] == EMERGENCY_CONTACT_IDS
        assert plan.steps[len(EMERGENCY_CONTACT_IDS)].id == "immediate.emergency_now"


@settings(max_examples=60, deadline=None)
@given(answers, inputs, languages)
def test_sms_segments_respect_limits(raw: dict[str, Any], extra: PlanInputs, lang: str) -> None:
    for segment in render_sms(generate_plan(raw, extra, language=lang)):
        septets = gsm7_septets(segment)
        if septets is not None:
            assert septets <= GSM7_LIMIT
        else:
            assert ucs2_units(segment) <= UCS2_LIMIT


@settings(max_examples=60, deadline=None)
@given(answers, answers, inputs)
def test_accepting_a_whole_proposal_reaches_the_regenerated_plan(
    first: dict[str, Any], second: dict[str, Any], extra: PlanInputs
) -> None:
    current, regenerated = generate_plan(first, extra), generate_plan(second, extra)
    diff = propose_update(current, regenerated)
    updated = apply_diff(current, diff, accept=diff.step_ids)  # the whole proposal, named
    assert set(updated.step_ids) == set(regenerated.step_ids)
    assert updated.emergency == regenerated.emergency
    assert diff_plans(updated, regenerated).removed == ()
    _valid(updated)
