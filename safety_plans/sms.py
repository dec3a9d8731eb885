"""SMS encoding arithmetic (GSM 03.38) and splitting text into standalone SMS segments.

A segment here is one standalone message (no concatenation header), so it may carry 160 GSM-7
septets, or 70 UCS-2 code units when any character is outside the GSM 03.38 default alphabet
and its extension table. Extension characters (``^{}\\[~]|€`` and form feed) are sent as an
escape plus the character and so count two septets. The encoding is chosen per segment: a
Spanish plan may send its ASCII-only segments as GSM-7 and the accented ones as UCS-2.
"""

from __future__ import annotations

from collections.abc import Iterable

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[]~|€")
GSM7_LIMIT = 160
UCS2_LIMIT = 70
# "(12/12) " is the widest counter we emit; reserving it up front keeps the split one pass.
COUNTER_RESERVE = 8
MAX_SEGMENTS = 99


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


def encoding_of(text: str) -> str:
    return "GSM-7" if gsm7_septets(text) is not None else "UCS-2"


def fits(text: str, reserve: int = 0) -> bool:
    """Whether ``text`` fits one segment, keeping ``reserve`` characters free for a counter."""
    septets = gsm7_septets(text)
    if septets is not None:
        return septets + reserve <= GSM7_LIMIT
    return ucs2_units(text) + reserve <= UCS2_LIMIT


def _split_long(unit: str, reserve: int) -> list[str]:
    """Split a unit that fits no segment on its own: at spaces, else between characters."""
    pieces: list[str] = []
    current = ""
    for word in unit.split(" "):
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


def split_segments(units: Iterable[str], *, numbered: bool = True) -> list[str]:
    """Pack text units (lines) into segments in order, never reordering them.

    Units are joined by newlines; a unit too long for one segment is split at word
    boundaries. With ``numbered`` every segment of a multi-part result starts "(i/n) ".
    """
    reserve = COUNTER_RESERVE if numbered else 0
    segments: list[str] = []
    current = ""
    for unit in (u.strip() for u in units):
        if not unit:
            continue
        candidate = f"{current}\n{unit}" if current else unit
        if fits(candidate, reserve):
            current = candidate
            continue
        if current:
            segments.append(current)
        if fits(unit, reserve):
            current = unit
        else:
            *full, current = _split_long(unit, reserve)
            segments.extend(full)
    if current:
        segments.append(current)
    if numbered and 1 < len(segments) <= MAX_SEGMENTS:
        total = len(segments)
        segments = [f"({n}/{total}) {seg}" for n, seg in enumerate(segments, start=1)]
    return segments
