"""A survivor's copy carries nothing internal: no web or API address, no ids, no case reference.

Every render a survivor may hold (HTML, PDF, plain text, SMS; normal and discreet; every
language) of a plan with a travel link and shelters is scanned for addresses and references.
"""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from safety_plans.i18n import available_languages
from safety_plans.inputs import travel_link
from safety_plans.planning import PlanInputs, generate_plan
from safety_plans.render import render
from safety_plans.screening import screen

from .cases import LABOR_PASSPORT, SHELTERS

CASE_ID = 4711
SURVIVOR_FORMATS = ("html", "pdf", "txt", "sms")
# Web and API addresses, paths of the API, query strings naming a case, and internal ids.
INTERNAL = re.compile(
    r"https?://|www\.|/v1/|case_id|case[ -]?#?\s*" + str(CASE_ID) + r"|\b" + str(CASE_ID)
    + r"\b|127\.0\.0\.1|localhost|casa-esperanza|harbor-house|leaving\.shelter",
    re.IGNORECASE,
)


def survivor_text(fmt: str, body: bytes) -> str:
    if fmt == "pdf":
        return " ".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)
    if fmt == "sms":
        return "\n".join(s["text"] for s in json.loads(body)["segments"])
    return body.decode("utf-8")


def travel_plan_inputs() -> PlanInputs:
    link = travel_link("http://127.0.0.1:8101", CASE_ID, screen(LABOR_PASSPORT))
    assert link is not None and "/v1/travel-plans" in link
    return PlanInputs(shelters=SHELTERS, travel_planner_url=link)


@pytest.mark.parametrize("discreet", [False, True])
@pytest.mark.parametrize("fmt", SURVIVOR_FORMATS)
@pytest.mark.parametrize("language", available_languages())
def test_no_address_id_or_case_reference_in_any_render(
    language: str, fmt: str, discreet: bool
) -> None:
    plan = generate_plan(LABOR_PASSPORT, travel_plan_inputs(), language=language)
    assert plan.step("home.route") is not None
    text = survivor_text(fmt, render(plan, fmt, discreet=discreet).body)
    found = INTERNAL.findall(text)
    assert not found, found


TRIP_HOME = {"en": "advocate will text you", "es": "le enviará por mensaje",
             "fr": "vous enverra par SMS", "pt": "enviará por mensagem", "vi": "sẽ nhắn tin",
             "tl": "ite-text sa iyo", "ht": "voye tikè a", "ru": "пришлёт вам билет",
             "zh": "用短信把车票", "ko": "문자로 보내", "ar": "برسالة نصية",
             "th": "จะส่งตั๋ว", "hi": "मैसेज से"}


@pytest.mark.parametrize("language", available_languages())
def test_the_trip_home_says_what_to_do_instead_of_a_link(language: str) -> None:
    plan = generate_plan(LABOR_PASSPORT, travel_plan_inputs(), language=language)
    text = render(plan, "txt").body.decode()
    expected = TRIP_HOME[language]
    assert expected in text
