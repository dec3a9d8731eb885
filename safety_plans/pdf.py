"""A printable PDF of a plan, drawn with fpdf2 from the same localized view as the HTML.

The built-in core fonts (Helvetica) need no font files and cover Latin-1, which is enough for
English and Spanish. Text outside Latin-1 (a shelter name in another script, curly quotes,
emoji) is degraded gracefully: punctuation is mapped to ASCII look-alikes, accented letters lose
their accent, and anything else becomes "?" rather than failing the whole document. A caller who
needs full Unicode can pass a TrueType font file instead.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from safety_plans.errors import RenderError
from safety_plans.planning import Plan
from safety_plans.render import PlanView, localize

_ASCII_LOOKALIKES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u2022": "-",
        "\u20ac": "EUR",
        "\u00a0": " ",
        "\u2010": "-",
        # Letters NFKD cannot decompose but readers recognise without the stroke.
        "\u0141": "L",
        "\u0142": "l",
        "\u0110": "D",
        "\u0111": "d",
        "\u0131": "i",
        "\u0152": "OE",
        "\u0153": "oe",
    }
)
MARGIN_MM = 18
LINE_MM = 5.5


def to_latin1(text: str) -> str:
    """Text the core fonts can draw: look-alikes, then accents stripped, then "?"."""
    text = text.translate(_ASCII_LOOKALIKES)
    if all(ord(ch) < 256 for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        decomposed = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in decomposed if ord(c) < 256 and not unicodedata.combining(c))
        out.append(base or "?")
    return "".join(out)


class _PlanPDF(FPDF):
    def __init__(self, page_label: str, unicode_font: bool) -> None:
        super().__init__(format="Letter", unit="mm")
        self.page_label = page_label
        self.family = "plan" if unicode_font else "helvetica"
        self.unicode_font = unicode_font

    def clean(self, text: str) -> str:
        return text if self.unicode_font else to_latin1(text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        label = self.page_label.replace("{page}", str(self.page_no()))
        self.cell(0, 6, self.clean(label), align="C")


def _write_body(pdf: _PlanPDF, view: PlanView) -> None:
    width = pdf.w - 2 * MARGIN_MM
    if view.emergency_banner:
        pdf.set_font(pdf.family, "B", 11)
        pdf.multi_cell(width, LINE_MM + 0.5, pdf.clean(view.emergency_banner), border=1, padding=2)
        pdf.ln(2)
    pdf.set_font(pdf.family, "", 10)
    pdf.multi_cell(width, LINE_MM, pdf.clean(view.danger_text))
    for section in view.sections:
        # Keep a heading with at least its first step instead of stranding it at a page foot.
        if pdf.get_y() > pdf.h - pdf.b_margin - 25:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font(pdf.family, "B", 13)
        pdf.multi_cell(width, 7, pdf.clean(section.title))
        pdf.set_draw_color(0)
        pdf.line(MARGIN_MM, pdf.get_y(), MARGIN_MM + width, pdf.get_y())
        pdf.ln(1.5)
        for step in section.steps:
            pdf.set_font(pdf.family, "B" if step.priority == 1 else "", 10.5)
            pdf.set_x(MARGIN_MM)
            pdf.cell(5, LINE_MM, "-")
            pdf.multi_cell(
                width - 5,
                LINE_MM,
                pdf.clean(f"{step.priority_label}: {step.text}"),
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
            )
            pdf.ln(0.8)
    pdf.ln(4)
    pdf.set_font(pdf.family, "I" if not pdf.unicode_font else "", 9)
    pdf.multi_cell(width, 4.5, pdf.clean(view.disclaimer))


def render_pdf(
    plan: Plan,
    language: str | None = None,
    *,
    discreet: bool = False,
    font_path: str | Path | None = None,
) -> bytes:
    """The plan as PDF bytes; discreet mode puts only an innocuous cover on page one."""
    view = localize(plan, language, discreet=discreet)
    pdf = _PlanPDF(view.page_label, unicode_font=font_path is not None)
    if font_path is not None:
        path = Path(font_path)
        if not path.is_file():
            raise RenderError("font_path", f"no font file at {path}")
        for style in ("", "B"):
            pdf.add_font("plan", style, str(path))
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=18)
    # The metadata title is visible in viewers' title bars, so it follows discreet mode too.
    pdf.set_title(pdf.clean(view.title))
    pdf.set_lang(view.language)
    pdf.set_creator("")
    pdf.set_producer("")
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 18)
    pdf.multi_cell(0, 9, pdf.clean(view.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    if discreet:
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, LINE_MM, pdf.clean(view.cover_note))
        pdf.add_page()
    _write_body(pdf, view)
    return bytes(pdf.output())
