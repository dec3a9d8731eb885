"""Each language's PDF holds its catalogue's words, in reading order, drawn with real glyphs.

Text is extracted with pypdf. Arabic is compared word by word (extraction returns the words
in logical order, but a run of digits inside a right-to-left line may come back reordered);
Thai and Chinese, written without spaces between words, and Hindi, whose shaped clusters the
extractor sometimes spaces apart, are compared with all spacing removed (in reading order:
a substring); every other language as text with runs of spaces squashed. A page of each
script is also rendered to an image (pdfium) and must show ink: a missing font would leave
blank boxes or nothing.
"""

from __future__ import annotations

import io
import re
from collections import Counter

import pytest
from pypdf import PdfReader

from safety_plans.i18n import available_languages
from safety_plans.languages import language_info
from safety_plans.pdf import render_pdf
from safety_plans.planning import generate_plan
from safety_plans.render import localize

from .cases import MOTHER, MOTHER_INPUTS

ARABIC_WORD = re.compile(r"[\u0600-\u06ff]+")


def _spaced(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("\u200b", "")).strip()


def _unspaced(text: str) -> str:
    return re.sub(r"[\s\u200b]+", "", text)


def _extract(data: bytes) -> str:
    """The text of every page without its footer (its last line), so that a step running
    over a page break reads whole."""
    pages = [p.extract_text().rsplit("\n", 1)[0] for p in PdfReader(io.BytesIO(data)).pages]
    return "\n".join(pages)


def _in_order(needles: list[str], haystack: list[str]) -> bool:
    """Every needle appears in haystack, in the same order (a subsequence)."""
    it = iter(haystack)
    return all(any(word == n for word in it) for n in needles)


@pytest.mark.parametrize("language", available_languages())
def test_the_pdf_holds_every_string_in_reading_order(language: str) -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language=language)
    view = localize(plan)
    text = _extract(render_pdf(plan))
    strings = [view.title, view.danger_text, view.disclaimer]
    strings += [s.title for s in view.sections] + [s.text for s in view.steps]
    script = language_info(language).script
    for string in strings:
        if script == "arabic":
            words = ARABIC_WORD.findall(text)
            wanted = ARABIC_WORD.findall(string)
            if re.search(r"\d", string):
                # The extractor rebuilds a line holding a left-to-right number out of order
                # around it: every word must be there, order is checked on the others.
                assert not Counter(wanted) - Counter(words), string
            else:
                assert _in_order(wanted, words), string
        elif script in ("thai", "han", "devanagari"):
            assert _unspaced(string) in _unspaced(text), string
        else:
            assert _spaced(string) in _spaced(text), string


def test_arabic_lines_read_right_to_left_and_are_right_aligned() -> None:
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language="ar")
    page = PdfReader(io.BytesIO(render_pdf(plan))).pages[0]
    starts: list[float] = []

    def visit(text: str, cm: object, tm: list[float], *_: object) -> None:
        if ARABIC_WORD.search(text):
            starts.append(tm[4])

    page.extract_text(visitor_text=visit)
    # Right-aligned paragraphs start at different x (their left end is ragged), and the
    # first step's words come out in the catalogue's order.
    assert len(set(round(x) for x in starts)) > 5
    title = localize(plan).title
    assert _in_order(ARABIC_WORD.findall(title), ARABIC_WORD.findall(page.extract_text()))


@pytest.mark.parametrize("language", ["en", "ar", "hi", "th", "zh", "ko", "ru", "vi"])
def test_a_page_of_each_script_renders_with_ink(language: str) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    plan = generate_plan(MOTHER, MOTHER_INPUTS, language=language)
    document = pdfium.PdfDocument(render_pdf(plan))
    image = document[0].render(scale=1).to_pil().convert("L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert buffer.getvalue().startswith(b"\x89PNG")
    dark = image.point(lambda value: 255 if value < 128 else 0).histogram()[255]
    assert dark > 0.005 * image.width * image.height  # text drawn, not an empty page
