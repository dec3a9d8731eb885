"""Screening: item documentation, strict validation naming the field, scoring and triggers."""

from __future__ import annotations

import pytest

from safety_plans.errors import InvalidAnswerError, SafetyPlanError
from safety_plans.i18n import available_languages, has_message
from safety_plans.screening import (
    ITEMS,
    OTHER_DANGER_KEYS,
    TRIGGER_KEYS,
    DangerLevel,
    Group,
    ItemType,
    danger_level_for,
    screen,
)


def test_every_item_is_documented_in_every_language() -> None:
    assert {i.group for i in ITEMS} == set(Group)
    for item in ITEMS:
        for lang in available_languages():
            assert has_message(lang, item.message_id), (lang, item.key)
        for choice in item.choices:
            assert has_message("en", f"choice.{item.key}.{choice}")


def test_first_three_danger_items_are_the_triggers() -> None:
    danger = [i.key for i in ITEMS if i.group is Group.DANGER]
    assert TRIGGER_KEYS == tuple(danger[:3])
    assert OTHER_DANGER_KEYS == tuple(danger[3:])


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"passport_held": True}, "passport_held"),
        ({"documents_held": "yes"}, "documents_held"),
        ({"documents_held": 1}, "documents_held"),
        ({"age": "16"}, "age"),
        ({"age": True}, "age"),
        ({"age": -1}, "age"),
        ({"children_count": 21}, "children_count"),
        ({"money": "lots"}, "money"),
        ({"money": 3}, "money"),
    ],
)
def test_bad_answers_are_rejected_naming_the_field(answers: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidAnswerError) as caught:
        screen(answers)
    assert caught.value.field == field
    assert isinstance(caught.value, SafetyPlanError)
    assert field in str(caught.value)


def test_unknown_key_message_says_unknown() -> None:
    with pytest.raises(InvalidAnswerError, match="unknown screening item"):
        screen({"documents_held": True, "favourite_colour": "blue"})


def test_no_answers_is_a_standard_screening() -> None:
    result = screen({})
    assert (result.score, result.danger_level, result.emergency) == (0, DangerLevel.STANDARD, False)


def test_unanswered_items_are_dropped_and_none_is_unanswered() -> None:
    assert screen({"age": None, "documents_held": False}).answers == {"documents_held": False}


@pytest.mark.parametrize("key", ["weapon_threat", "threatened_to_kill", "might_kill"])
def test_any_trigger_alone_means_emergency(key: str) -> None:
    result = screen({key: True})
    assert result.emergency and result.emergency_triggers == (key,)
    assert result.danger_level is DangerLevel.SEVERE


def test_four_other_danger_items_mean_emergency_three_do_not() -> None:
    three = dict.fromkeys(OTHER_DANGER_KEYS[:3], True)
    assert not screen(three).emergency
    four = dict.fromkeys(OTHER_DANGER_KEYS[:4], True)
    result = screen(four)
    assert result.emergency and result.emergency_triggers == OTHER_DANGER_KEYS[:4]


def test_score_is_the_sum_of_weights_of_yes_answers() -> None:
    answers = {"documents_held": True, "threats_to_family": True, "gun_access": True}
    assert screen(answers).score == 1 + 2 + 3
    assert screen({**answers, "gun_access": False}).score == 3
    assert all(i.weight == 0 for i in ITEMS if i.type is not ItemType.BOOL)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, "standard"),
        (2, "standard"),
        (3, "elevated"),
        (6, "elevated"),
        (7, "high"),
        (11, "high"),
        (12, "severe"),
        (40, "severe"),
    ],
)
def test_danger_bands(score: int, level: str) -> None:
    assert danger_level_for(score, emergency=False) == level
    assert danger_level_for(score, emergency=True) is DangerLevel.SEVERE


def test_non_mapping_answers_are_rejected() -> None:
    with pytest.raises(InvalidAnswerError) as caught:
        screen(["documents_held"])  # type: ignore[arg-type]
    assert caught.value.field == "answers"
