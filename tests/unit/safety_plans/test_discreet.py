"""Discreet means discreet everywhere: no give-away word, code word or shelter name anywhere in
a discreet render (HTML, PDF, text, SMS), in every language.

The give-away words of each language are in its catalogue (``discreet.giveaway_words``); the
minimum lists below keep a catalogue from weakening the check by emptying its list.
"""

from __future__ import annotations

import re

import pytest

from safety_plans.i18n import available_languages, message
from safety_plans.planning import PlanInputs, generate_plan
from safety_plans.render import render
from safety_plans.sms import fold_to_gsm7

from .cases import IMMEDIATE_DANGER, LABOR_PASSPORT, MINOR, MOTHER, SHELTERS, TRAVEL_URL
from .test_survivor_copy import survivor_text

MINIMUM = {
    "en": ("trafficker", "trafficking", "T visa", "shelter", "hotline"),
    "es": ("tratante", "trata", "visa T", "refugio", "albergue", "línea directa"),
}
CODE_WORD = "bluebird"
SITUATIONS = {"labor": LABOR_PASSPORT, "minor": MINOR, "mother": MOTHER,
              "danger": IMMEDIATE_DANGER}


def giveaways(language: str) -> list[str]:
    listed = [w for w in message(language, "discreet.giveaway_words").split("|") if w]
    words = [*listed, *MINIMUM.get(language, ()), CODE_WORD, *(s.name for s in SHELTERS)]
    words += [a.address for a in SHELTERS]
    return words


def found_giveaways(text: str, language: str) -> list[str]:
    # SMS folds "línea" to "linea" (GSM-7), so the folded spelling gives it away as well.
    words = {form for w in giveaways(language) for form in (w, fold_to_gsm7(w))}
    return sorted(w for w in words if re.search(_start(w) + re.escape(w), text, re.IGNORECASE))


def _start(word: str) -> str:
    """A give-away word starts a word; in Thai and Chinese, written without spaces between
    words, any position may start one."""
    return "" if re.match(r"[\u0e00-\u0e7f\u3400-\u9fff]", word) else r"(?<!\w)"


def test_every_language_lists_at_least_the_minimum() -> None:
    for language in available_languages():
        listed = message(language, "discreet.giveaway_words").split("|")
        assert set(MINIMUM.get(language, ())) <= set(listed), language


@pytest.mark.parametrize("fmt", ["html", "pdf", "txt", "sms"])
@pytest.mark.parametrize("situation", sorted(SITUATIONS))
@pytest.mark.parametrize("language", available_languages())
def test_a_discreet_render_gives_nothing_away(language: str, situation: str, fmt: str) -> None:
    inputs = PlanInputs(shelters=SHELTERS, travel_planner_url=TRAVEL_URL, code_word=CODE_WORD)
    plan = generate_plan(SITUATIONS[situation], inputs, language=language)
    text = survivor_text(fmt, render(plan, fmt, discreet=True).body)
    assert not found_giveaways(text, language)
    # The normal render does say them: the scan is not vacuous.
    plain = survivor_text(fmt, render(plan, fmt).body)
    assert found_giveaways(plain, language)
