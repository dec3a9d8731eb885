"""A printable PDF of a plan, drawn with fpdf2 from the same localized view as the HTML.

Every language is drawn with the bundled Noto fonts (`safety_plans.pdf_fonts`): the family
of the plan's script, plus fallbacks for any other script in its text, so a shelter's name
in Chinese prints in an English plan. Arabic, Devanagari and Thai are shaped by HarfBuzz
(fpdf2's text shaping through uharfbuzz: joining forms, conjuncts, stacked marks); Arabic
is laid out right to left with fpdf2's Unicode bidi algorithm, right-aligned, bullets on the
right. Thai and Chinese get their line-break opportunities from `safety_plans.linebreak`.
A plan whose wording is a draft, has gaps or fell back to English says so under its title.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import cache

from fpdf import FPDF
from fpdf.enums import Align, TextDirection, XPos, YPos
from fpdf.line_break import Fragment
from fpdf.output import OutputProducer

from safety_plans import pdf_fonts
from safety_plans.languages import language_info
from safety_plans.linebreak import with_break_opportunities, wrap
from safety_plans.planning import Plan
from safety_plans.render import PlanView, localize

MARGIN_MM = 18
LINE_MM = 5.5
# Widths of words by (font, size, shaping, text): deterministic, shared by every document.
_WIDTHS: dict[tuple[str, float, bool, str], float] = {}
_WIDTHS_MAX = 200_000


class _PlanPDF(FPDF):
    def __init__(self, view: PlanView) -> None:
        super().__init__(format="Letter", unit="mm")
        info = language_info(view.language)
        self.page_label = view.page_label
        self.language = view.language
        self.script = info.script
        self.rtl = info.direction == "rtl"
        self.align = Align.R if self.rtl else Align.L
        self.family = pdf_fonts.FAMILY_OF_SCRIPT[info.script]
        fallbacks = pdf_fonts.fallbacks(self.family, _all_text(view))
        for family in [self.family, *fallbacks]:
            pdf_fonts.install(self, family)
        if fallbacks:
            self.set_fallback_fonts(fallbacks, exact_match=False)
        if {self.family, *fallbacks} & pdf_fonts.COMPLEX:
            self.set_text_shaping(True, direction="rtl" if self.rtl else None)

    def para(self, height: float, text: str, width: float = 0, *, pad: float = 0) -> None:
        """A paragraph, wrapped here and drawn one line per cell.

        Lines break at spaces, and in Thai and Chinese at the marks `linebreak` inserts; each
        distinct word is measured once (fpdf2's own multi_cell re-measures a line at every
        break opportunity, quadratic in its length, which made Thai and Chinese pages slow).
        """
        x = self.get_x()
        width = width or self.w - self.r_margin - x
        room = width - 2 * (self.c_margin + pad) - 0.5
        for line in wrap(with_break_opportunities(text, self.script), room, self.measure):
            self.set_x(x + pad)
            self.cell(width - 2 * pad, height, line, align=self.align,
                      new_x=XPos.LEFT, new_y=YPos.NEXT)
        self.set_x(self.l_margin)

    def _preload_bidirectional_text(self, text: str, markdown: bool) -> Sequence[Fragment]:
        """fpdf2 runs the Unicode bidi algorithm on every shaped line (a quarter of a Hindi or
        Thai page's time). A left-to-right plan's line without a right-to-left character
        or a bidi control is one left-to-right run whatever it finds, so it is skipped
        there; Arabic plans, and any line holding Arabic, still go through it."""
        if self.text_shaping and not self.rtl and not markdown and text \
                and _left_to_right_only(text):
            self.text_shaping["paragraph_direction"] = TextDirection.LTR
            self.text_shaping["fragment_direction"] = TextDirection.LTR
            return self._preload_font_styles(text, markdown)
        return super()._preload_bidirectional_text(text, markdown)

    def measure(self, text: str) -> float:
        """A word's width, remembered across documents: the same catalogue words recur in
        every plan, and measuring shaped right-to-left text runs the bidi algorithm."""
        key = (self.current_font.fontkey if self.current_font else "", self.font_size_pt,
               self.text_shaping is not None, text)
        width = _WIDTHS.get(key)
        if width is None:
            if len(_WIDTHS) > _WIDTHS_MAX:
                _WIDTHS.clear()
            width = _WIDTHS[key] = self.get_string_width(text)
        return width

    def boxed(self, height: float, text: str, *, full: bool) -> None:
        """A paragraph in a box (full) or with a rule at its start edge (a note)."""
        x, top, width = self.l_margin, self.get_y(), self.w - self.l_margin - self.r_margin
        self.set_y(top + (1.5 if full else 0))
        self.para(height, text, pad=2)
        bottom = self.get_y() + (1.5 if full else 0)
        if full:
            self.rect(x, top, width, bottom - top)
        else:
            edge = x + width if self.rtl else x
            self.line(edge, top, edge, bottom)
        self.set_y(bottom)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        label = self.page_label.replace("{page}", str(self.page_no()))
        self.cell(0, 6, label, align="C")


# Bidi classes that leave a left-to-right paragraph one left-to-right run: strong L, and the
# weak and neutral classes, which resolve to L when no R, AL or AN is present (W7, N1-N2).
_LTR_CLASSES = frozenset({"L", "EN", "ES", "ET", "CS", "NSM", "BN", "B", "S", "WS", "ON"})


@cache
def _ltr_char(char: str) -> bool:
    return unicodedata.bidirectional(char) in _LTR_CLASSES


def _left_to_right_only(text: str) -> bool:
    return all(_ltr_char(char) for char in text)


class _PlanOutput(OutputProducer):
    """fpdf2's writer, started once every page (footers too) is drawn: only then is the set
    of glyphs known that picks each font's tables (`pdf_fonts.attach_tables`)."""

    def __init__(self, fpdf: FPDF) -> None:
        assert isinstance(fpdf, _PlanPDF)
        pdf_fonts.attach_tables(fpdf, fpdf.language)
        super().__init__(fpdf)


def _all_text(view: PlanView) -> str:
    parts = [view.title, view.cover_note, view.danger_text, view.disclaimer, view.page_label,
             view.emergency_banner or "", view.translation_note or ""]
    for section in view.sections:
        parts.append(section.title)
        parts += [f"{s.priority_label} {s.text}" for s in section.steps]
    return "\n".join(parts)


def _write_body(pdf: _PlanPDF, view: PlanView) -> None:
    width = pdf.w - 2 * MARGIN_MM
    if view.translation_note:
        pdf.set_font(pdf.family, "", 8.5)
        pdf.boxed(4.2, view.translation_note, full=False)
        pdf.ln(2)
    if view.emergency_banner:
        pdf.set_font(pdf.family, "B", 11)
        pdf.boxed(LINE_MM + 0.5, view.emergency_banner, full=True)
        pdf.ln(2)
    pdf.set_font(pdf.family, "", 10)
    pdf.para(LINE_MM, view.danger_text)
    for section in view.sections:
        # Keep a heading with at least its first step instead of stranding it at a page foot.
        if pdf.get_y() > pdf.h - pdf.b_margin - 25:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font(pdf.family, "B", 13)
        pdf.para(7, section.title)
        pdf.set_draw_color(0)
        pdf.line(MARGIN_MM, pdf.get_y(), MARGIN_MM + width, pdf.get_y())
        pdf.ln(1.5)
        for step in section.steps:
            pdf.set_font(pdf.family, "B" if step.priority == 1 else "", 10.5)
            top = pdf.get_y()
            # The bullet sits where a line starts: on the left, or on the right in Arabic.
            pdf.set_xy(MARGIN_MM + width - 5 if pdf.rtl else MARGIN_MM, top)
            pdf.cell(5, LINE_MM, "-", align=Align.C)
            pdf.set_xy(MARGIN_MM if pdf.rtl else MARGIN_MM + 5, top)
            pdf.para(LINE_MM, f"{step.priority_label}: {step.text}", width=width - 5)
            pdf.ln(0.8)
    pdf.ln(4)
    pdf.set_font(pdf.family, "", 9)
    pdf.para(4.5, view.disclaimer)


def render_pdf(plan: Plan, language: str | None = None, *, discreet: bool = False) -> bytes:
    """The plan as PDF bytes; discreet mode puts only an innocuous cover on page one."""
    view = localize(plan, language, discreet=discreet)
    pdf = _PlanPDF(view)
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.set_auto_page_break(True, margin=18)
    # The metadata title is visible in viewers' title bars, so it follows discreet mode too.
    pdf.set_title(view.title)
    pdf.set_lang(view.language)
    pdf.set_creator("")
    pdf.set_producer("")
    pdf.add_page()
    pdf.set_font(pdf.family, "B", 18)
    pdf.para(9, view.title)
    pdf.ln(2)
    if discreet:
        pdf.set_font(pdf.family, "", 10)
        pdf.para(LINE_MM, view.cover_note)
        pdf.add_page()
    _write_body(pdf, view)
    return bytes(pdf.output(output_producer_class=_PlanOutput))
