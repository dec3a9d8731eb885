"""Rendering: JSON, printable HTML, a PDF that parses and contains the steps, plain text, and
discreet mode keeping hotline and organisation names off the first page."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from safety_plans.errors import RenderError, UnknownLanguageError
from safety_plans.pdf import render_pdf
from safety_plans.planning import PlanInputs, SuggestedShelter, generate_plan
from safety_plans.render import SENSITIVE_NAMES, localize, render, render_html, render_text
from safety_plans.render import to_json as plan_json

from .cases import IMMEDIATE_DANGER, LABOR_INPUTS, LABOR_PASSPORT, MOTHER, MOTHER_INPUTS

FORBIDDEN_ON_COVER = (*SENSITIVE_NAMES, "Hotline", "Línea", "Trafficking", "Trata", "1-888")


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text without its "Page n" footer, so steps that span pages read whole."""
    pages = [squash(p.extract_text()) for p in PdfReader(io.BytesIO(data)).pages]
    return [re.sub(r" ?(Page|Página) \d+$", "", page) for page in pages]


@pytest.mark.parametrize("language", ["en", "es"])
def test_pdf_parses_and_contains_every_step(language: str) -> None:
    plan = generate_plan(LABOR_PASSPORT, LABOR_INPUTS, language=language)
    data = render_pdf(plan)
    assert data.startswith(b"%PDF-")
    text = " ".join(pdf_pages(data))
    view = localize(plan)
    assert view.title in text
    for step in view.steps:
        assert squash(step.text) in text, step.id
    for section in view.sections:
        assert section.title in text


def test_pdf_draws_names_in_any_script_with_a_real_font() -> None:
    # Bundled Noto fonts with fallbacks: a Polish or Chinese shelter name prints as written in
    # an English plan instead of degrading to look-alikes or "?".
    shelter = SuggestedShelter(
        id="s1",
        name="Dom Nadziei “Łódź” 东京",
        address="ul. Ściegiennego 5",
        phone="1",
        open_beds=1,
    )
    plan = generate_plan({}, PlanInputs(shelters=(shelter,)))
    text = " ".join(pdf_pages(render_pdf(plan)))
    assert "Dom Nadziei “Łódź”" in text
    assert "东" in text and "京" in text
    assert "ul. Ściegiennego 5" in text


@pytest.mark.parametrize("language", ["en", "es"])
def test_discreet_pdf_has_no_hotline_or_organisation_name_on_page_one(language: str) -> None:
    plan = generate_plan(IMMEDIATE_DANGER, language=language)
    pages = pdf_pages(render_pdf(plan, discreet=True))
    assert len(pages) >= 2
    assert localize(plan, discreet=True).title in pages[0]
    for name in FORBIDDEN_ON_COVER:
        assert name.lower() not in pages[0].lower(), name
    assert "911" in pages[1]
    normal = pdf_pages(render_pdf(plan))
    assert localize(plan).title in normal[0] and "1-888-373-7888" in normal[0]
    reader = PdfReader(io.BytesIO(render_pdf(plan, discreet=True)))
    assert reader.metadata is not None
    assert reader.metadata.title == localize(plan, discreet=True).title


@pytest.mark.parametrize("language", ["en", "es"])
def test_html_is_printable_and_escaped(language: str) -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS.model_copy(update={"code_word": "<b>x</b>"}))
    html = render_html(plan, language)
    assert html.startswith("<!DOCTYPE html>") and f'<html lang="{language}" dir="ltr">' in html
    assert "@page" in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    assert html.index('id="section-children"') < html.index('id="section-immediate_safety"')
    assert "data-step-id" not in html and 'id="step-' not in html


def test_discreet_html_cover_has_no_names() -> None:
    plan = generate_plan(IMMEDIATE_DANGER)
    html = render_html(plan, discreet=True)
    head, _, body = html.partition('id="end-of-first-page"')
    assert "<title>My notes</title>" in head
    for name in FORBIDDEN_ON_COVER:
        assert name not in head, name
    assert "1-888-373-7888" in body and "National Human Trafficking Hotline" not in body


def test_text_and_discreet_text() -> None:
    plan = generate_plan(IMMEDIATE_DANGER)
    text = render_text(plan, "es")
    assert text.startswith("Plan de seguridad\n") and "Nivel de peligro: grave" in text
    cover, _, rest = render_text(plan, discreet=True).partition("\f")
    assert cover.startswith("My notes") and rest
    for name in FORBIDDEN_ON_COVER:
        assert name not in cover


def test_json_is_serialisable_and_complete() -> None:
    plan = generate_plan(LABOR_PASSPORT, LABOR_INPUTS, language="es")
    data = plan_json(plan)
    assert json.loads(json.dumps(data)) == data
    ids = [s["id"] for sec in data["sections"] for s in sec["steps"]]
    assert ids == list(plan.step_ids)
    step = data["sections"][0]["steps"][0]
    assert set(step) >= {"id", "text", "priority", "triggered_by", "source", "edited"}
    assert plan_json(plan, "en")["sections"][0]["title"] == "Immediate safety"


@pytest.mark.parametrize("fmt", ["json", "html", "pdf", "txt", "sms"])
def test_render_dispatch(fmt: str) -> None:
    out = render(generate_plan(IMMEDIATE_DANGER), fmt, "es")
    assert out.body and out.media_type
    if fmt == "sms":
        segments = json.loads(out.body)["segments"]
        assert {s["encoding"] for s in segments} <= {"GSM-7", "UCS-2"}


def test_render_rejects_unknown_format_and_language() -> None:
    plan = generate_plan({})
    with pytest.raises(RenderError) as caught:
        render(plan, "docx")
    assert caught.value.field == "format"
    with pytest.raises(UnknownLanguageError):
        render(plan, "txt", "de")
    assert localize(plan, "de", allow_language_fallback=True).language == "en"
