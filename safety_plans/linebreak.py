"""Where a line may break in scripts that do not put spaces between words.

The PDF library wraps lines at spaces and at ZERO WIDTH SPACE (U+200B), so text in Thai and
Chinese gets a U+200B at each place a line may end before it is laid out:
- Thai between words, found by PyThaiNLP's dictionary-based ``newmm`` tokenizer (Thai has no
  spaces between words; a break inside a word splits a syllable);
- Chinese between ideographs, as UAX #14 allows, except before closing punctuation (。，、）」…)
  or after opening punctuation (（「…): the usual rule that a line never starts with a comma
  nor ends with an opening bracket.
Korean and every other shipped script separate words with spaces already. The marks are for
layout only: text extraction removes them (``strip_marks``) and no other render carries them.
"""

# ruff: noqa: RUF001, RUF002
from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

ZWSP = "\u200b"
_THAI = re.compile(r"[\u0e00-\u0e7f]+")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# A line may not start with these (closing and middle punctuation) ...
_NO_BREAK_BEFORE = set("、。，．・：；？！）」』】〕〉》〗〙〛’”…‥〜ー々〻,.:;?!)]}%")
# ... nor end with these (opening punctuation).
_NO_BREAK_AFTER = set("（「『【〔〈《〖〘〚‘“([{")


def _is_cjk_breakable(ch: str) -> bool:
    return bool(_HAN.match(ch)) or ch in _NO_BREAK_BEFORE or ch in _NO_BREAK_AFTER


def break_cjk(text: str) -> str:
    """Allow a break between two CJK characters unless punctuation forbids it."""
    if not _HAN.search(text):
        return text
    out: list[str] = []
    for prev, ch in zip(" " + text[:-1], text, strict=True):
        if (_is_cjk_breakable(prev) and _is_cjk_breakable(ch)
                and (_HAN.match(prev) or _HAN.match(ch))
                and ch not in _NO_BREAK_BEFORE and prev not in _NO_BREAK_AFTER):
            out.append(ZWSP)
        out.append(ch)
    return "".join(out)


@cache
def _thai_tokenizer() -> object:
    # Imported on first use: the dictionary takes a moment to load and only Thai needs it.
    from pythainlp.tokenize import word_tokenize

    return word_tokenize


def _thai_words(run: str) -> str:
    word_tokenize = _thai_tokenizer()
    words = word_tokenize(run, engine="newmm", keep_whitespace=True)  # type: ignore[operator]
    return ZWSP.join(w for w in words if w)


def break_thai(text: str) -> str:
    """Allow a break between Thai words."""
    return _THAI.sub(lambda m: _thai_words(m.group(0)), text)


def with_break_opportunities(text: str, script: str) -> str:
    """``text`` with U+200B wherever its script lets a line break between words."""
    text = text.replace(ZWSP, "")
    if script == "thai" or _THAI.search(text):
        text = break_thai(text)
    if _HAN.search(text):
        text = break_cjk(text)
    return text


def strip_marks(text: str) -> str:
    return text.replace(ZWSP, "")


def wrap(text: str, max_width: float, measure: Callable[[str], float]) -> list[str]:
    """Greedy lines of ``text`` (with break marks) no wider than ``max_width``.

    A line ends only at a space, a break mark or an existing newline; marks are removed from
    the result. Only a word wider than a whole line (a long number or address) is split
    between characters. ``measure`` gives a string's width; each distinct segment is measured
    once.
    """
    widths: dict[str, float] = {}

    def word_width(word: str) -> float:
        if word not in widths:
            widths[word] = measure(word)
        return widths[word]

    def width(segment: str) -> float:
        # A segment is a word and its trailing spaces: measure the word, add the spaces.
        word = segment.rstrip(" ")
        spaces = len(segment) - len(word)
        return word_width(word) + (spaces * word_width(" ") if spaces else 0.0)

    lines: list[str] = []
    for paragraph in text.split("\n"):
        segments = [s for s in re.split(r"(?<=[ \u200b])", paragraph) if s]
        line: list[str] = []
        used = 0.0
        for segment in _fit(segments, max_width, width):
            shown = segment.replace(ZWSP, "")
            needed = width(shown.rstrip(" "))
            if line and used + needed > max_width:
                lines.append("".join(line).rstrip(" "))
                line, used = [], 0.0
            line.append(shown)
            used += width(shown)
        lines.append("".join(line).rstrip(" "))
    return lines


def _fit(segments: list[str], max_width: float, width: Callable[[str], float]) -> list[str]:
    """The segments, with any wider than a line cut into pieces that fit."""
    out: list[str] = []
    for segment in segments:
        if width(segment.replace(ZWSP, "").rstrip(" ")) <= max_width or len(segment) < 2:
            out.append(segment)
            continue
        piece = ""
        for ch in segment:
            if piece and width(piece + ch) > max_width:
                out.append(piece)
                piece = ""
            piece += ch
        out.append(piece)
    return out
