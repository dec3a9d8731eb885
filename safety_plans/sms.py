"""SMS encoding arithmetic (GSM 03.38) and splitting text into standalone SMS segments.

A segment here is one standalone message (no concatenation header), so it may carry 160 GSM-7
septets, or 70 UCS-2 code units when any character is outside the GSM 03.38 default alphabet
and its extension table. Plan lines are first folded to GSM-7 where look-alikes suffice
(:func:`fold_to_gsm7`). Extension characters (``^{}\\[~]|€`` and form feed) are sent as an
escape plus the character and so count two septets. The encoding is chosen per segment: a
Spanish plan may send its ASCII-only segments as GSM-7 and the accented ones as UCS-2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")
# Letters and marks GSM-7 lacks, sent as their nearest GSM-7 character, as carriers' "smart
# encoding" does: a Spanish line then fits 160 septets instead of 70 UCS-2 units, and "línea"
# read as "linea" is still plain Spanish.
_GSM7_FOLD = str.maketrans({
    "á": "a", "í": "i", "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
    "ç": "Ç", "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ï": "i", "ë": "e",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "«": '"', "»": '"',
    "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ",
})
GSM7_LIMIT = 160
UCS2_LIMIT = 70
# A sentence ends at ., !, ? or ; (and Spanish closing marks) followed by a space.
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+")


def gsm7_septets(text: str) -> int | None:
    """Septets needed to send ``text`` in GSM-7, or None if it needs UCS-2."""
    total = 0
    for ch in text:
        if ch in GSM7_BASIC:
            total += 1
        elif ch in GSM7_EXTENSION:
            total += 2
        else:
            return None
    return total


def ucs2_units(text: str) -> int:
    """UTF-16 code units: characters outside the BMP (emoji) take two."""
    return len(text.encode("utf-16-le")) // 2


def fold_to_gsm7(text: str) -> str:
    """``text`` with look-alikes folded into GSM-7, if that makes all of it GSM-7; else as is."""
    folded = text.translate(_GSM7_FOLD)
    return folded if gsm7_septets(folded) is not None else text


def encoding_of(text: str) -> str:
    return "GSM-7" if gsm7_septets(text) is not None else "UCS-2"


def fits(text: str, reserve: int = 0) -> bool:
    """Whether ``text`` fits one segment, keeping ``reserve`` characters free for a counter."""
    septets = gsm7_septets(text)
    if septets is not None:
        return septets + reserve <= GSM7_LIMIT
    return ucs2_units(text) + reserve <= UCS2_LIMIT


def _split_words(text: str, reserve: int) -> list[str]:
    """Last resort for one sentence too long for any segment: at spaces, else characters."""
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if fits(candidate, reserve):
            current = candidate
            continue
        if current:
            pieces.append(current)
        current = ""
        for ch in word:
            if fits(current + ch, reserve):
                current += ch
            else:
                pieces.append(current)
                current = ch
    if current:
        pieces.append(current)
    return pieces


def _pack(units: list[str], reserve: int) -> list[str]:
    """Pack sentences greedily: a segment ends only at a line or sentence end.

    Only a sentence too long for a segment by itself (a long Spanish sentence in UCS-2, whose
    70 units hold little) is split further, at words.
    """
    segments: list[str] = []
    current = ""
    for unit in units:
        for n, sentence in enumerate(SENTENCE_END.split(unit)):
            separator = " " if n else "\n"
            candidate = f"{current}{separator}{sentence}" if current else sentence
            if fits(candidate, reserve):
                current = candidate
                continue
            if current:
                segments.append(current)
            if fits(sentence, reserve):
                current = sentence
            else:
                *full, current = _split_words(sentence, reserve)
                segments.extend(full)
    if current:
        segments.append(current)
    return segments


def counter_width(total: int) -> int:
    """Characters of the widest counter of a ``total``-part message, "(n/n) "."""
    return len(f"({total}/{total}) ")


def split_segments(units: Iterable[str], *, numbered: bool = True) -> list[str]:
    """Pack text units (lines) into segments in order, never reordering them.

    Units are joined by newlines; a unit too long for one segment is split at sentence ends
    (and only a sentence longer than a segment at words). With ``numbered`` every segment of a
    multi-part result starts "(i/n) ", whatever n: the space kept for the counter grows with
    the count's digits until the split is stable.
    """
    cleaned = [u for u in (u.strip() for u in units) if u]
    reserve = 0
    segments = _pack(cleaned, reserve)
    while numbered and len(segments) > 1 and counter_width(len(segments)) > reserve:
        reserve = counter_width(len(segments))
        segments = _pack(cleaned, reserve)
    if numbered and len(segments) > 1:
        total = len(segments)
        segments = [f"({n}/{total}) {seg}" for n, seg in enumerate(segments, start=1)]
    return segments
