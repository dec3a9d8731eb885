"""An SMS plan designed for a phone: a short form (6 segments by default, up to 20 on request)
leading with the emergency steps, the hotline and the next action; counters on every segment
whatever their count; splits at sentence or line boundaries; each segment within its limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from safety_plans.errors import RenderError
from safety_plans.planning import generate_plan
from safety_plans.render import DEFAULT_SMS_SEGMENTS, MAX_SMS_SEGMENTS, localize, render_sms
from safety_plans.rules import EMERGENCY_CONTACT_IDS, HOTLINE_PHONE
from safety_plans.sms import fits, fold_to_gsm7, split_segments

from .cases import IMMEDIATE_DANGER, LABOR_INPUTS, LABOR_PASSPORT, MOTHER, MOTHER_INPUTS
from .test_sms import segment_cost_ok

COUNTER = re.compile(r"^\((\d+)/(\d+)\) ")
SITUATIONS = [(LABOR_PASSPORT, LABOR_INPUTS), (IMMEDIATE_DANGER, None), (MOTHER, MOTHER_INPUTS)]


def body(segment: str) -> str:
    return COUNTER.sub("", segment)


@pytest.mark.parametrize("discreet", [False, True])
@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("situation", range(len(SITUATIONS)))
def test_the_default_is_a_short_form_with_the_essentials_first(
    situation: int, language: str, discreet: bool
) -> None:
    answers, inputs = SITUATIONS[situation]
    plan = generate_plan(answers, inputs, language=language)
    segments = render_sms(plan, discreet=discreet)
    assert DEFAULT_SMS_SEGMENTS == 6 and 1 <= len(segments) <= 6
    assert all(segment_cost_ok(s) for s in segments)
    joined = "\n".join(body(s) for s in segments)
    assert HOTLINE_PHONE in joined and "911" in joined
    view = localize(plan, discreet=discreet)
    texts = {v.id: v.text for v in view.steps}
    contacts = [texts[i] for i in EMERGENCY_CONTACT_IDS if i in texts]
    next_action = next(v.text for v in view.steps if v.id not in EMERGENCY_CONTACT_IDS)
    lines = [line.removeprefix("- ") for line in joined.replace("\n", " \n").split("\n")]
    flat = " ".join(" ".join(lines).split())
    order = [flat.index(" ".join(fold_to_gsm7(t).split())) for t in [*contacts, next_action]]
    assert order == sorted(order)


def test_max_segments_up_to_20_and_checked() -> None:
    plan = generate_plan(LABOR_PASSPORT, LABOR_INPUTS, language="es")
    long = render_sms(plan, max_segments=MAX_SMS_SEGMENTS)
    assert MAX_SMS_SEGMENTS == 20 and 6 < len(long) <= 20
    for bad in (0, 21):
        with pytest.raises(RenderError) as caught:
            render_sms(plan, max_segments=bad)
        assert caught.value.field == "max_segments"


def test_counters_are_kept_above_99() -> None:
    segments = split_segments([f"Sentence number {n} is here." for n in range(400)] * 2)
    assert len(segments) > 99
    total = len(segments)
    for n, segment in enumerate(segments, start=1):
        assert segment.startswith(f"({n}/{total}) ")
        assert segment_cost_ok(segment)


SENTENCE = st.text(
    alphabet=st.sampled_from("abcdeñáéíóúxyz ABC123,€{"), min_size=1, max_size=50
).map(lambda s: " ".join(s.split()) or "x").map(lambda s: s + ".")
UNIT = st.lists(SENTENCE, min_size=1, max_size=6).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(UNIT, min_size=1, max_size=12), st.booleans())
def test_splitting_keeps_every_word_in_order_within_limits_at_sentence_ends(
    units: list[str], numbered: bool
) -> None:
    segments = split_segments(units, numbered=numbered)
    assert all(segment_cost_ok(s) for s in segments)
    if numbered and len(segments) > 1:
        assert all(COUNTER.match(s) for s in segments)
    bodies = [body(s) if numbered else s for s in segments]
    assert " ".join(bodies).split() == " ".join(units).split()
    # Every sentence here fits a segment alone, so every segment ends at a sentence end.
    if all(fits(sentence + ".", 10) for u in units for sentence in u.split(". ")):
        assert all(b.rstrip().endswith(".") for b in bodies)
