"""Catalogue completeness: every message the engine can use exists in every shipped language
with the same placeholders, and language resolution behaves as documented."""

from __future__ import annotations

import pytest

from safety_plans.errors import SafetyPlanError, UnknownLanguageError
from safety_plans.i18n import (
    available_languages,
    catalogue,
    placeholders,
    resolve_language,
    translate,
)
from safety_plans.rules import RULES, SHELTER_MESSAGE_ID, SHELTER_MESSAGE_NO_DISTANCE_ID, Section
from safety_plans.screening import DangerLevel

UI = ["plan.title", "plan.title_discreet", "plan.discreet_cover", "plan.emergency"]
UI += ["plan.danger_level", "plan.disclaimer", "plan.page", "sms.header", "sms.header_discreet"]
UI += ["sms.more"]


def used_message_ids() -> set[str]:
    from safety_plans.screening import ITEMS

    ids = {f"step.{r.step_id}" for r in RULES if r.step_id != "contacts.code_word"}
    ids |= {"step.contacts.code_word", "step.contacts.code_word_set"}
    ids |= {SHELTER_MESSAGE_ID, SHELTER_MESSAGE_NO_DISTANCE_ID}
    ids |= {m for m in catalogue("en") if m.endswith(".discreet")}
    ids.add("discreet.giveaway_words")
    ids |= {i.message_id for i in ITEMS}
    ids |= {f"choice.{i.key}.{c}" for i in ITEMS for c in i.choices}
    ids |= {f"section.{s}" for s in Section}
    ids |= {f"level.{lvl}" for lvl in DangerLevel}
    ids |= {f"priority.{p}" for p in (1, 2, 3)}
    return ids | set(UI)


def test_english_and_spanish_are_shipped() -> None:
    assert available_languages()[0] == "en"
    assert {"en", "es"} <= set(available_languages())


@pytest.mark.parametrize("language", available_languages())
def test_every_message_exists_in_every_language(language: str) -> None:
    missing = used_message_ids() - set(catalogue(language))
    assert missing == set()
    assert set(catalogue(language)) == set(catalogue("en"))


@pytest.mark.parametrize("language", available_languages())
def test_placeholders_match_english(language: str) -> None:
    english = catalogue("en")
    for message_id, text in catalogue(language).items():
        assert placeholders(text) == placeholders(english[message_id]), message_id


# Words several languages borrow from English as they are (and the level words that happen to
# match), which may rightly equal the English entry.
BORROWED = {"priority.2", "discreet.giveaway_words", "section.documents", "priority.1"}


@pytest.mark.parametrize("language", [lang for lang in available_languages() if lang != "en"])
def test_translations_are_not_english_copies(language: str) -> None:
    english, translated = catalogue("en"), catalogue(language)
    same = [k for k in english if english[k] == translated[k] and placeholders(english[k]) == set()
            and k not in BORROWED]
    assert same == []


@pytest.mark.parametrize(
    ("requested", "expected"),
    [("en", "en"), ("es", "es"), ("ES", "es"), ("es-MX", "es"), ("es_US", "es"), (" en-us ", "en")],
)
def test_language_tags_resolve(requested: str, expected: str) -> None:
    assert resolve_language(requested) == expected


@pytest.mark.parametrize("requested", ["de", "", "xx-YY", "klingon"])
def test_unknown_language_raises_naming_the_field(requested: str) -> None:
    with pytest.raises(UnknownLanguageError) as caught:
        resolve_language(requested)
    assert caught.value.field == "language"
    assert isinstance(caught.value, SafetyPlanError)
    assert resolve_language(requested, allow_fallback=True) == "en"


def test_unknown_language_in_generate_plan() -> None:
    from safety_plans.planning import generate_plan

    with pytest.raises(UnknownLanguageError):
        generate_plan({}, language="de")
    assert generate_plan({}, language="de", allow_language_fallback=True).language == "en"


def test_translate_fills_placeholders() -> None:
    text = translate("es", "plan.danger_level", {"level": "grave"})
    assert text == "Nivel de peligro: grave"


def test_missing_message_is_a_bug_not_bad_input() -> None:
    with pytest.raises(LookupError):
        translate("en", "step.does.not.exist")
