"""Grammar that fits the person: Spanish steps agree with the survivor's stated gender through
gettext contexts ("feminine", "masculine"), and are neutral when it is unknown or neither."""

from __future__ import annotations

import pytest

from safety_plans.planning import PlanInputs, generate_plan
from safety_plans.render import localize

from .cases import LABOR_INPUTS, LABOR_PASSPORT

MASCULINE_ONLY = ("acompañarlo", "recibirlo", "controlarlo", "obligarlo", "lo remitan",
                  "Si no es ciudadano ")


def spanish(gender: str | None) -> str:
    inputs = LABOR_INPUTS.model_copy(update={"gender": gender})
    plan = generate_plan({**LABOR_PASSPORT, "money": "none"}, inputs, language="es")
    return "\n".join(s.text for s in localize(plan).steps)


@pytest.mark.parametrize("gender", [None, "transgender", "nonbinary"])
def test_unknown_or_other_gender_reads_neutral(gender: str | None) -> None:
    text = spanish(gender)
    assert not [w for w in MASCULINE_ONLY if w in text]
    assert "acompañarle" in text


def test_a_woman_reads_the_feminine() -> None:
    text = spanish("female")
    assert "acompañarla" in text and "controlarla" in text and "ciudadana" in text
    assert not [w for w in MASCULINE_ONLY if w in text]


def test_a_man_reads_the_masculine() -> None:
    text = spanish("male")
    assert "acompañarlo" in text and "ciudadano" in text


def test_english_is_unchanged_by_gender() -> None:
    inputs = LABOR_INPUTS.model_copy(update={"gender": "female"})
    with_gender = generate_plan(LABOR_PASSPORT, inputs)
    without = generate_plan(LABOR_PASSPORT, LABOR_INPUTS)
    assert [s.text for s in localize(with_gender).steps] == [
        s.text for s in localize(without).steps]


def test_gender_is_validated() -> None:
    with pytest.raises(ValueError):
        PlanInputs.model_validate({"gender": "f"})


def test_variants_are_well_formed_in_every_catalogue() -> None:
    from safety_plans.i18n import _parsed, available_languages, catalogue, placeholders

    for language in available_languages():
        for (context, message_id), text in _parsed(language).items():
            if context is None:
                continue
            assert context in ("feminine", "masculine"), (language, context)
            assert message_id in catalogue(language), (language, message_id)
            neutral = catalogue(language)[message_id]
            assert placeholders(text) == placeholders(neutral), (language, message_id)
