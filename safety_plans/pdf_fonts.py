"""The fonts a plan's PDF embeds: bundled Noto subsets, one family per script, parsed once.

`safety_plans/fonts/` holds Noto Sans (Latin with Vietnamese, Greek and Cyrillic), Noto Sans
Arabic, Devanagari and Thai, and Noto Sans CJK SC cut down to common hanzi and every Hangul
syllable (built by ``python -m fixtures.prepare_fonts``; SIL Open Font License, ``OFL.txt``).
A PDF registers the family of its language's script and, as fpdf2 fallbacks, the families of
any other script its text contains (a shelter's name in Chinese in an English plan), so every
character is drawn with a real glyph.

Parsing a font costs tens to hundreds of milliseconds (the CJK one most), so each file is
parsed once per process into a template; a document gets a copy that shares the parsed
character map, widths and HarfBuzz face, with its own lazily opened font tables, because
fpdf2 subsets a document's fonts in place when it writes them out.
"""

from __future__ import annotations

import copy
import io
import re
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import Glyph, SubsetMap, TTFFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILIES: dict[str, str] = {
    "latin": "NotoSans-{style}.ttf",
    "arabic": "NotoSansArabic-{style}.ttf",
    "devanagari": "NotoSansDevanagari-{style}.ttf",
    "thai": "NotoSansThai-{style}.ttf",
    "cjk": "NotoSansCJKsc-{style}.ttf",
}
STYLES = {"": "Regular", "B": "Bold"}
# Which family draws a character outside Latin/Cyrillic, by Unicode block.
_SCRIPT_OF = (
    ("arabic", re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")),
    ("devanagari", re.compile(r"[\u0900-\u097f\ua8e0-\ua8ff]")),
    ("thai", re.compile(r"[\u0e00-\u0e7f]")),
    ("cjk", re.compile(r"[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af"
                       r"\uf900-\ufaff\uff00-\uffef]")),
)
# Scripts whose glyphs HarfBuzz must choose (joining, conjuncts, stacked marks).
COMPLEX = frozenset({"arabic", "devanagari", "thai"})
_DROPPED = ("GSUB", "GPOS", "GDEF")
FAMILY_OF_SCRIPT = {"latin": "latin", "arabic": "arabic", "devanagari": "devanagari",
                    "thai": "thai", "han": "cjk", "hangul": "cjk"}


class _SubsetMap(SubsetMap):
    """fpdf2's map of the glyphs a document uses, giving text to every shaped glyph.

    HarfBuzz turns a cluster such as Hindi "कि" into several glyphs; fpdf2 gives the
    cluster's text to the first and none to the others, which then have no ToUnicode entry
    and come out of text extraction (copy, search, screen readers) as stray bytes. Here they
    carry a ZERO WIDTH SPACE instead, which extraction ignores.
    """

    @cache  # noqa: B019  (as fpdf2's own: one map per document, freed with it)
    def get_glyph(self, glyph: int | None = None, unicode: int | tuple[int, ...] | None = None,
                  glyph_name: str | None = None, glyph_width: int | None = None,
                  ) -> Glyph | None:
        if glyph and unicode == () and glyph_name is not None and glyph_width is not None:
            unicode = (0x200B,)
        return super().get_glyph(glyph, unicode, glyph_name, glyph_width)


def families_in(text: str) -> set[str]:
    """The non-Latin families needed to draw ``text``."""
    return {family for family, pattern in _SCRIPT_OF if pattern.search(text)}


@cache
def _file_bytes(path: Path) -> bytes:
    return path.read_bytes()


@cache
def _template(family: str, style: str) -> TTFFont:
    holder = FPDF()
    holder.add_font(family, style, str(FONT_DIR / FAMILIES[family].format(style=STYLES[style])))
    font = holder.fonts[f"{family}{style}"]
    assert isinstance(font, TTFFont)
    font.hbfont  # noqa: B018  (load the HarfBuzz face once, shared by every copy)
    return font


def install(pdf: FPDF, family: str) -> None:
    """Register ``family`` (regular and bold) on ``pdf`` from the parsed templates."""
    for style in STYLES:
        key = f"{family}{style}"
        if key in pdf.fonts:
            continue
        template = _template(family, style)
        # Share what is read-only once parsed (cmap, glyph ids, widths, HarfBuzz face); the
        # glyphs a document uses and misses are its own.
        font = copy.copy(template)
        font.subset = _SubsetMap(font)
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font.i = len(pdf.fonts) + 1
        # fpdf2 subsets the font tables of a document in place when writing it: give each
        # document its own (lazily read) tables so the template stays whole.
        font.ttfont = TTFont(io.BytesIO(_file_bytes(Path(template.ttffile))), lazy=True,
                             recalcTimestamp=False, recalcBBoxes=False)
        for table in _DROPPED:
            # HarfBuzz shapes from its own face and fpdf2 drops these tables when it writes
            # the font; removing them first spares the subsetter from reading them.
            if table in font.ttfont:
                del font.ttfont[table]
        pdf.fonts[key] = font
        if font.is_cff and font.is_cid_keyed:
            pdf._set_min_pdf_version("1.6")  # as fpdf2's own add_font does for CID fonts


def warm() -> None:
    """Parse every bundled font now rather than on the first PDF that needs it."""
    for family in FAMILIES:
        for style in STYLES:
            _template(family, style)
