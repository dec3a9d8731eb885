"""The PDF fonts: prepared per-language subsets, the whole-font path for any other glyph, and
documents rendered in several threads at once.

A plan's PDF is subset from its language's prepared font unless it draws a glyph outside it
(a name in another script, a rare character); then from the whole bundled font. Either way
every character must be drawn with its own glyph: checked by extracting the text (the
ToUnicode map) and, for scripts drawn without shaping, by finding each character in the
character map of a font the PDF embeds, with an outline. Rendering in threads must give the
same bytes as rendering one after another (but for the creation date).
"""

from __future__ import annotations

import io
import re
import threading

import pytest
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from pypdf import PdfReader

from safety_plans import pdf_fonts
from safety_plans.i18n import all_text
from safety_plans.pdf import render_pdf
from safety_plans.planning import Plan, PlanInputs, SuggestedShelter, generate_plan

from .cases import LABOR_PASSPORT, MOTHER, MOTHER_INPUTS


def _uncommon_hanzi(count: int) -> str:
    """Hanzi the bundled CJK font draws but no catalogue uses: outside every prepared subset."""
    used = {ord(char) for char in all_text("zh") + all_text("ko")}
    cmap = pdf_fonts._template("cjk", "").cmap
    return "".join(chr(code) for code in sorted(cmap)
                   if 0x4E00 <= code <= 0x9FFF and code not in used)[:count]


def _plan(language: str, name: str, address: str = "1 Main St") -> Plan:
    shelter = SuggestedShelter(id="s1", name=name, address=address, phone="555-0100",
                               open_beds=2)
    return generate_plan({**LABOR_PASSPORT, "needs_shelter": True},
                         PlanInputs(shelters=(shelter,)), language=language)


def _text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _embedded_glyphs(data: bytes) -> dict[int, bool]:
    """Code point -> whether the embedded glyph has an outline, over every embedded font."""
    drawn: dict[int, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            file = TTFont(io.BytesIO(descriptor["/FontFile2"].get_object().get_data()))
            glyf = file["glyf"]
            for code, name in file.getBestCmap().items():
                drawn[code] = drawn.get(code, False) or glyf[name].numberOfContours != 0
    return drawn


def _normalised(data: bytes) -> bytes:
    """The document without its creation date and the file id hashed from it."""
    data = re.sub(rb"/CreationDate \(D:\d+Z?\)", b"", data)
    return re.sub(rb"/ID \[<[0-9A-F]+><[0-9A-F]+>\]", b"", data)


@pytest.mark.parametrize("language", ["zh", "en", "ko"])
def test_a_name_with_characters_outside_the_prepared_subset_is_drawn(language: str) -> None:
    rare = _uncommon_hanzi(4)
    name = f"{rare} 안전한 집 Nhà Bình An"
    data = render_pdf(_plan(language, name))
    drawn = _embedded_glyphs(data)
    missing = [char for char in name if not char.isspace() and not drawn.get(ord(char))]
    assert not missing
    assert rare in _text(data).replace("\n", "")


@pytest.mark.parametrize("language", ["en", "es", "zh"])
def test_arabic_devanagari_and_thai_names_in_another_language_are_drawn(language: str) -> None:
    name = "مأوى الأمل आशा घर บ้านสุข"
    text = _text(render_pdf(_plan(language, name)))
    for word in ("مأوى", "الأمل"):
        assert word in text
    unspaced = re.sub(r"\s+", "", text)
    assert "आशाघर" in unspaced and "บ้านสุข" in unspaced


def test_a_plan_within_its_catalogue_uses_the_prepared_subset() -> None:
    """The fast path is taken: every glyph of an ordinary Chinese plan is in the prepared
    subset, which is far smaller than the bundled font."""
    from safety_plans.pdf import _PlanPDF, _write_body
    from safety_plans.render import localize

    view = localize(generate_plan(MOTHER, MOTHER_INPUTS, language="zh"))
    pdf = _PlanPDF(view)
    pdf.add_page()
    _write_body(pdf, view)
    font = pdf.fonts["cjk"]
    used = {glyph.glyph_name for glyph, _ in font.subset.items() if glyph is not None}
    prepared = pdf_fonts._prepared("cjk", "", "zh")
    assert used and used <= prepared.names
    whole = (pdf_fonts.FONT_DIR / "NotoSansCJKsc-Regular.ttf").stat().st_size
    assert len(prepared.data) * 5 < whole


def test_threads_rendering_different_languages_match_serial_output() -> None:
    """Four threads, each rotating through eight languages (and the whole-font path), so
    documents in different scripts are written at the same moment. Before each document had
    its own font descriptor, this failed within a few dozen documents (fpdf2 raised KeyError
    on a swapped object id, or wrote another document's font reference)."""
    plans = {lang: generate_plan(MOTHER, MOTHER_INPUTS, language=lang)
             for lang in ("en", "zh", "ar", "ko", "hi", "th", "ru", "es")}
    plans["zh-rare"] = _plan("zh", _uncommon_hanzi(3))
    serial = {key: _normalised(render_pdf(plan)) for key, plan in plans.items()}
    keys = list(plans)
    # Forget every parsed font and prepared subset, so the threads also race to build them.
    pdf_fonts._template.clear()
    pdf_fonts._prepared.clear()
    threads, rounds = 4, 12
    start = threading.Barrier(threads)
    mismatches: list[str] = []
    errors: list[BaseException] = []

    def worker(first: int) -> None:
        start.wait()  # every thread begins together, on a different language
        try:
            for n in range(rounds):
                key = keys[(first * 2 + n) % len(keys)]
                if _normalised(render_pdf(plans[key])) != serial[key]:
                    mismatches.append(key)
        except BaseException as error:  # noqa: BLE001  (a thread's error must fail the test)
            errors.append(error)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert not errors
    assert not mismatches


@pytest.mark.parametrize(("language", "name"), [
    ("hi", "आशा घर (Asha) 12-B"), ("th", "บ้านสุข 5/7"), ("en", "मिलन 7 — Casa «Sol»"),
    ("th", "مأوى الأمل 3"), ("vi", "Nhà Bình An 2°"),
])
def test_skipping_bidi_on_left_to_right_lines_changes_no_byte(
        monkeypatch: pytest.MonkeyPatch, language: str, name: str) -> None:
    """Shaped left-to-right lines skip fpdf2's bidi pass (speed); the PDF must be the same."""
    from safety_plans import pdf

    plan = _plan(language, name)
    fast = _normalised(render_pdf(plan))
    monkeypatch.setattr(pdf, "_left_to_right_only", lambda text: False)
    assert _normalised(render_pdf(plan)) == fast
