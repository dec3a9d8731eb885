"""Grammar that fits the person beyond Spanish: Portuguese, French, Russian, Arabic and Hindi.

Where one of these languages makes a word agree with the survivor ("obrigada" / "obrigado",
"prête" / "prêt", "гражданка" / "гражданин", "ملزمة" / "ملزمًا", "सकती" / "सकते"), its catalogue
carries "feminine" and "masculine" variants; the plain entry stays neutral for an unknown or
non-binary gender (Hindi's plain entry is the honorific plural, which is also the masculine).
A woman's and a man's plan differ in exactly the steps listed here, and each PDF holds its form.
Vietnamese, Tagalog, Haitian Creole, Chinese, Korean and Thai address the survivor without
gender agreement in these catalogues, and stay the same whatever the gender.
"""

from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from safety_plans.pdf import render_pdf
from safety_plans.planning import PlanInputs, generate_plan
from safety_plans.render import PlanView, localize, wording

from .cases import LABOR_INPUTS, LABOR_PASSPORT

SCREENING = {**LABOR_PASSPORT, "money": "none", "can_leave_on_foot": False,
             "has_transport": False, "has_safe_phone": False}

# message id -> (feminine form, masculine form) as found in the rendered step.
EXPECTED: dict[str, dict[str, tuple[str, str]]] = {
    "pt": {
        "step.money.debt": ("não é obrigada a", "não é obrigado a"),
        "step.legal.t_visa": ("não é cidadã dos", "não é cidadão dos"),
        "step.home.plan_trip": ("estiver pronta,", "estiver pronto,"),
        "step.leaving.when": ("sem ser notada.", "sem ser notado."),
    },
    "fr": {
        "step.money.debt": ("pas obligée de", "pas obligé de"),
        "step.legal.t_visa": ("pas citoyenne des", "pas citoyen des"),
        "step.home.plan_trip": ("serez prête,", "serez prêt,"),
        "step.leaving.when": ("être remarquée.", "être remarqué."),
    },
    "ru": {
        "step.legal.t_visa": ("вы не гражданка США", "вы не гражданин США"),
    },
    "ar": {
        "step.money.debt": ("لستِ ملزمة", "لست ملزمًا"),
        "step.legal.t_visa": ("تكونين مؤهلة", "تكون مؤهلًا"),
        "step.home.plan_trip": ("تكونين مستعدة", "تكون مستعدًا"),
        "step.home.consulate": ("كنتِ تريدين", "كنت تريد"),
        "step.leaving.secret": ("بأنكِ تنوين", "بأنك تنوي"),
        "step.money.free_help": ("لا تحتاجين إلى", "لا تحتاج إلى"),
    },
    "hi": {
        "step.legal.t_visa": ("की पात्र हो सकती हैं", "के पात्र हो सकते हैं"),
        "step.legal.continued_presence": ("काम कर सकती हैं", "काम कर सकते हैं"),
        "step.home.consulate": ("लौटना चाहती हैं", "लौटना चाहते हैं"),
        "step.leaving.secret": ("सोच रही हैं", "सोच रहे हैं"),
        "step.leaving.transport": ("नहीं निकल सकतीं", "नहीं निकल सकते"),
        "step.staying.exits": ("रहती और काम करती हैं", "रहते और काम करते हैं"),
        "step.immediate.text_hotline": ("नहीं कर सकतीं", "नहीं कर सकते"),
        "plan.disclaimer": ("जानती हैं", "जानते हैं"),
    },
}
# One form per language that a PDF's extracted text must hold (Arabic: a word).
IN_PDF = {"pt": ("obrigada", "obrigado a"), "fr": ("obligée", "obligé de"),
          "ru": ("гражданка", "гражданин"), "ar": ("ملزمة", "ملزمًا"),
          "hi": ("चाहती", "चाहते")}


def _view(language: str, gender: str | None, *, discreet: bool = False) -> PlanView:
    inputs = LABOR_INPUTS.model_copy(update={"gender": gender})
    return localize(generate_plan(SCREENING, inputs, language=language), discreet=discreet)


def _texts(view: PlanView, language: str, discreet: bool) -> dict[str, str]:
    """Rendered text by base message id (steps, and the disclaimer)."""
    texts = {"plan.disclaimer": view.disclaimer}
    for step in view.steps:
        if step.step.message_id is not None:
            texts[step.step.message_id] = step.text
            assert wording(language, step.step.message_id, discreet=discreet)
    return texts


@pytest.mark.parametrize("discreet", [False, True])
@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_a_woman_and_a_man_differ_exactly_where_expected(language: str, discreet: bool) -> None:
    female = _texts(_view(language, "female", discreet=discreet), language, discreet)
    male = _texts(_view(language, "male", discreet=discreet), language, discreet)
    assert female.keys() == male.keys()
    expected = EXPECTED[language]
    assert len(expected.keys() & female.keys()) >= len(expected) - 1  # the screening hits them
    differing = {mid for mid in female if female[mid] != male[mid]}
    assert differing == expected.keys() & female.keys()
    for mid in differing:
        feminine, masculine = expected[mid]
        assert feminine in female[mid] and masculine not in female[mid], mid
        assert masculine in male[mid] and feminine not in male[mid], mid


@pytest.mark.parametrize("gender", [None, "nonbinary", "transgender"])
@pytest.mark.parametrize("language", sorted(EXPECTED))
def test_unknown_or_other_gender_reads_neutral(language: str, gender: str | None) -> None:
    neutral = _texts(_view(language, gender), language, False)
    for mid, (feminine, masculine) in EXPECTED[language].items():
        if mid not in neutral:
            continue
        assert feminine not in neutral[mid], (mid, neutral[mid])
        if language != "hi":  # Hindi's neutral is its honorific plural, the masculine form
            assert masculine not in neutral[mid], (mid, neutral[mid])


@pytest.mark.parametrize("language", ["vi", "tl", "ht", "zh", "ko", "th", "en"])
def test_languages_without_agreement_are_unchanged_by_gender(language: str) -> None:
    views = [_view(language, gender) for gender in ("female", "male", None)]
    assert len({tuple(s.text for s in view.steps) for view in views}) == 1


def _pdf_text(language: str, gender: str) -> str:
    inputs = LABOR_INPUTS.model_copy(update={"gender": gender})
    plan = generate_plan(SCREENING, inputs, language=language)
    pages = PdfReader(io.BytesIO(render_pdf(plan))).pages
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in pages))


@pytest.mark.parametrize("language", sorted(IN_PDF))
def test_each_pdf_holds_its_own_form(language: str) -> None:
    feminine, masculine = IN_PDF[language]
    squash = (lambda text: re.sub(r"\s+", "", text)) if language == "hi" else (lambda t: t)
    female, male = squash(_pdf_text(language, "female")), squash(_pdf_text(language, "male"))
    assert squash(feminine) in female and squash(masculine) not in female
    assert squash(masculine) in male and squash(feminine) not in male


def test_gender_is_part_of_the_plan_inputs() -> None:
    assert PlanInputs.model_validate({"gender": "female"}).gender == "female"


# Arabic second-person forms that only address a man (unvocalised, the others read for both).
ARABIC_MASCULINE = re.compile(r"\bتثق\b|\bثق\b|\bتصبح\b|\bتحتاج\b|ملزمًا|مستعدًا|مؤهلًا|\bتُخبر\b")  # noqa: RUF001


@pytest.mark.parametrize("discreet", [False, True])
@pytest.mark.parametrize("gender", ["female", None, "nonbinary"])
def test_arabic_addresses_a_woman_or_an_unknown_gender_without_masculine_forms(
        gender: str | None, discreet: bool) -> None:
    view = _view("ar", gender, discreet=discreet)
    text = "\n".join([view.disclaimer, *(s.text for s in view.steps)])
    assert not ARABIC_MASCULINE.findall(text)
