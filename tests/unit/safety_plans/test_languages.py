"""Every plan says how far its wording can be trusted: the catalogue's review status, the
messages shown in English instead, and a fallback to English, in JSON, HTML, text and PDF."""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from safety_plans import i18n
from safety_plans.languages import LANGUAGES, statuses, translation_status
from safety_plans.pdf import render_pdf
from safety_plans.planning import generate_plan
from safety_plans.render import render_html, render_text, to_json

from .cases import MOTHER, MOTHER_INPUTS

ISSUE_LANGUAGES = {"zh", "vi", "ko", "tl", "ht", "pt", "ru", "ar", "fr", "th", "hi"}


def test_the_issue_languages_ship_beside_english_and_spanish() -> None:
    assert ISSUE_LANGUAGES | {"en", "es"} == set(i18n.available_languages())
    assert set(i18n.available_languages()) <= set(LANGUAGES)


def test_english_is_the_source_and_every_unsigned_catalogue_is_a_draft() -> None:
    by_language = {s.language: s for s in statuses()}
    assert by_language["en"].status == "source" and not by_language["en"].needs_note
    for language in ISSUE_LANGUAGES | {"es"}:
        status = by_language[language]
        # No fluent reviewer has signed these off: they are machine drafts and say so.
        assert (status.status, status.origin, status.reviewed_by) == ("draft", "machine", None)
        assert status.missing == () and status.needs_note


def test_a_reviewed_status_without_a_reviewer_is_still_a_draft(monkeypatch) -> None:
    from safety_plans import languages

    monkeypatch.setattr(languages, "_header", lambda lang: {"Translation-Status": "reviewed"})
    assert translation_status("fr").status == "draft"
    monkeypatch.setattr(languages, "_header", lambda lang: {
        "Translation-Status": "reviewed", "Reviewed-By": "A. Reviewer, 2026-11-30"})
    reviewed = translation_status("fr")
    assert reviewed.status == "reviewed" and "A. Reviewer" in reviewed.summary()


def test_missing_messages_are_listed_and_shown_in_english(monkeypatch) -> None:
    from safety_plans import languages

    monkeypatch.setattr(languages, "_missing", lambda lang: ("step.money.cash",))
    status = translation_status("pt")
    assert status.as_dict()["complete"] is False
    assert status.as_dict()["missing_messages"] == ["step.money.cash"]
    assert "1 passage(s) shown in English" in status.summary()


@pytest.mark.parametrize("language", sorted(ISSUE_LANGUAGES | {"es"}))
def test_every_render_of_a_draft_says_so(language: str) -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language=language)
    payload = to_json(plan)["translation_status"]
    assert payload["status"] == "draft" and payload["origin"] == "machine"
    assert payload["fell_back_to_english"] is False and payload["complete"] is True
    note = i18n.translate(language, "plan.translation_note")
    assert note in render_text(plan)
    assert 'id="translation-note"' in render_html(plan)
    first_page = PdfReader(io.BytesIO(render_pdf(plan))).pages[0].extract_text()
    assert "draft machine translation" in re.sub(r"\s+", " ", first_page)


def test_an_english_plan_carries_no_note() -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language="en")
    assert to_json(plan)["translation_status"]["status"] == "source"
    assert 'id="translation-note"' not in render_html(plan)
    assert "machine" not in render_text(plan)


def test_a_fallback_to_english_is_said_not_silent() -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language="am", allow_language_fallback=True)
    payload = to_json(plan, "am", allow_language_fallback=True)["translation_status"]
    assert payload["language"] == "en" and payload["requested_language"] == "am"
    assert payload["fell_back_to_english"] is True
    assert "'am' is not available, shown in English" in payload["summary"]
    # A regional tag of a shipped language is that language, not a fallback.
    regional = to_json(generate_plan(MOTHER, language="es-MX"), "es-MX")["translation_status"]
    assert regional["fell_back_to_english"] is False
