"""The fonts a plan's PDF embeds: bundled Noto subsets, one family per script, parsed once.

`safety_plans/fonts/` holds Noto Sans (Latin with Vietnamese, Greek and Cyrillic), Noto Sans
Arabic, Devanagari and Thai, and Noto Sans CJK SC cut down to common hanzi and every Hangul
syllable (built by ``python -m fixtures.prepare_fonts``; SIL Open Font License, ``OFL.txt``).
A PDF registers the family of its language's script and, as fpdf2 fallbacks, the families
that draw any character of its text that family lacks (a shelter's name in Chinese in an
English plan), so every character is drawn with a real glyph.

Parsing a font costs tens to hundreds of milliseconds (the CJK one most), so each file is
parsed once per process into a template; a document gets a copy that shares the parsed
character map, widths and HarfBuzz face, with its own font tables, because fpdf2 subsets a
document's fonts in place when it writes them out.

Subsetting is the rest of a PDF's cost: fpdf2 reads a font's whole character map, glyph
table and metrics to keep the glyphs a document uses, for every document (a quarter of a
second for the 2.5 MB CJK font). So once per process and per (family, style, language) a
**prepared subset** is cut: the glyphs of every character in that language's catalogue
(with their layout closure: Arabic joining forms, Devanagari conjuncts), ASCII, Latin-1 and
common punctuation, about a hundred kilobytes at most. A document whose glyphs all lie in
it is subset from the prepared font; one that needs a glyph outside it (a shelter's or a
person's name in another script) is subset from the whole bundled font, slower but with
every character drawn. Prepared subsets keep the bundled font's glyph names, which is how
fpdf2 finds a document's glyphs in either.

Thread safety: workers render PDFs concurrently in threads. Templates and prepared subsets
are built under a lock and read-only afterwards; everything fpdf2 mutates while writing a
document (its glyph map, font descriptor, font tables) is the document's own.
"""

from __future__ import annotations

import copy
import io
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

from fontTools import subset as ftsubset  # type: ignore[import-untyped]
from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.fonts import Glyph, SubsetMap, TTFFont

from safety_plans.i18n import all_text
from safety_plans.languages import language_info

FONT_DIR = Path(__file__).resolve().parent / "fonts"
FAMILIES: dict[str, str] = {
    "latin": "NotoSans-{style}.ttf",
    "arabic": "NotoSansArabic-{style}.ttf",
    "devanagari": "NotoSansDevanagari-{style}.ttf",
    "thai": "NotoSansThai-{style}.ttf",
    "cjk": "NotoSansCJKsc-{style}.ttf",
}
STYLES = {"": "Regular", "B": "Bold"}
# Scripts whose glyphs HarfBuzz must choose (joining, conjuncts, stacked marks).
COMPLEX = frozenset({"arabic", "devanagari", "thai"})
_DROPPED = ("GSUB", "GPOS", "GDEF")
# Characters every prepared subset holds besides its language's catalogue: ASCII, Latin-1,
# general punctuation and the format characters shaping and line breaking insert.
_COMMON = frozenset([*range(0x20, 0x7F), *range(0xA0, 0x100), *range(0x2000, 0x2070),
                     0x20AC, 0x2116, 0x2122, 0x25CC])
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


def fallbacks(family: str, text: str) -> list[str]:
    """The other families needed to draw ``text`` in ``family``: those that have a glyph for
    a character ``family`` lacks (Latin beside Thai, CJK for a Chinese name in an English
    plan). fpdf2 checks the script of every character of a document that has fallback fonts,
    so a plan that needs none (Chinese and its ASCII, English) is drawn without any."""
    main = _template(family, "").cmap
    lacking = {ord(char) for char in set(text) if ord(char) not in main and char not in "\n\t"}
    needed = []
    for other in FAMILIES:
        if other != family and lacking:
            cmap = _template(other, "").cmap
            if any(code in cmap for code in lacking):
                needed.append(other)
                lacking = {code for code in lacking if code not in cmap}
    return needed


_LOCK = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A font file cut to the glyphs a language's plans need, and those glyphs' names."""

    data: bytes
    names: frozenset[str]


_T = TypeVar("_T")


class _Once(Generic[_T]):
    """Like functools.cache, but a value is built by one thread only: the others wait for it
    instead of each parsing the same font again (a burst of first PDFs after a restart)."""

    def __init__(self, build: Callable[..., _T]) -> None:
        self.build = build
        self.built: dict[tuple[str, ...], _T] = {}

    def __call__(self, *key: str) -> _T:
        value = self.built.get(key)
        if value is None:
            with _LOCK:
                value = self.built.get(key)
                if value is None:
                    value = self.built[key] = self.build(*key)
        return value

    def clear(self) -> None:
        """Forget every value (tests: to race threads on building them)."""
        with _LOCK:
            self.built = {}


@cache
def _file_bytes(path: Path) -> bytes:
    return path.read_bytes()


@_Once
def _template(family: str, style: str) -> TTFFont:
    holder = FPDF()
    holder.add_font(family, style, str(_path(family, style)))
    font = holder.fonts[f"{family}{style}"]
    assert isinstance(font, TTFFont)
    font.hbfont  # noqa: B018  (load the HarfBuzz face once, shared by every copy)
    # Shaping reads glyph names and advances from these while drawing, in every thread:
    # decompiled now, they are only read afterwards (lazy loading seeks a shared file).
    font.ttfont.getGlyphOrder()
    font.ttfont["hmtx"]
    return font


def _path(family: str, style: str) -> Path:
    return FONT_DIR / FAMILIES[family].format(style=STYLES[style])


@_Once
def _prepared(family: str, style: str, language: str) -> _Prepared:
    font = TTFont(io.BytesIO(_file_bytes(_path(family, style))), recalcTimestamp=False)
    options = ftsubset.Options(notdef_outline=True, recommended_glyphs=True, glyph_names=True,
                               hinting=False)
    options.layout_features = ["*"]  # so the closure keeps every shaped form
    options.name_IDs = ["*"]
    subsetter = ftsubset.Subsetter(options)
    subsetter.populate(unicodes=_COMMON | {ord(c) for c in all_text(language)})
    subsetter.subset(font)
    for table in _DROPPED:  # after the closure, which needed them
        if table in font:
            del font[table]
    # Keep the glyph names (post format 2): fpdf2 finds a document's glyphs by name.
    post = font["post"]
    post.formatType, post.mapping, post.extraNames = 2.0, {}, []
    out = io.BytesIO()
    font.save(out)
    return _Prepared(out.getvalue(), frozenset(font.getGlyphOrder()))


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
        # fpdf2 gives the descriptor its object id and font file while writing a document:
        # each document needs its own, or two threads writing at once mix their references.
        font.desc = copy.copy(template.desc)
        pdf.fonts[key] = font
        if font.is_cff and font.is_cid_keyed:
            pdf._set_min_pdf_version("1.6")  # as fpdf2's own add_font does for CID fonts


def attach_tables(pdf: FPDF, language: str) -> None:
    """Give each font of a drawn document the tables fpdf2 will subset when writing it: the
    language's prepared subset when it holds every glyph used, else the whole bundled font.
    fpdf2 subsets them in place, so each document reads its own copy from bytes."""
    for family in FAMILIES:
        for style in STYLES:
            font = pdf.fonts.get(f"{family}{style}")
            if not isinstance(font, TTFFont):
                continue
            used = {glyph.glyph_name for glyph, _ in font.subset.items() if glyph is not None}
            prepared = _prepared(family, style, language)
            if used <= prepared.names:
                data = prepared.data
            else:
                data = _file_bytes(_path(family, style))
            font.ttfont = TTFont(io.BytesIO(data), lazy=True, recalcTimestamp=False,
                                 recalcBBoxes=False)
            if data is not prepared.data:
                for table in _DROPPED:
                    # HarfBuzz shapes from its own face and fpdf2 drops these tables when
                    # it writes the font; removing them first spares the subsetter reading.
                    if table in font.ttfont:
                        del font.ttfont[table]


def warm(languages: tuple[str, ...] = ()) -> None:
    """Parse every bundled font, and cut the prepared subsets of ``languages`` (the script
    family of each and Latin), now rather than on the first PDF that needs them."""
    for family in FAMILIES:
        for style in STYLES:
            _template(family, style)
    for language in languages:
        for family in {"latin", FAMILY_OF_SCRIPT[language_info(language).script]}:
            for style in STYLES:
                _prepared(family, style, language)
