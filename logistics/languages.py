"""Language codes: ISO 639 codes checked against Babel's CLDR data, stored in lower case."""

from __future__ import annotations

from babel import Locale, UnknownLocaleError


def normalise_language(code: str) -> str:
    """The ISO 639 code in lower case, or ValueError when CLDR does not know it."""
    cleaned = code.strip().replace("-", "_").lower()
    try:
        Locale.parse(cleaned)
    except (UnknownLocaleError, ValueError) as exc:
        raise ValueError("unknown language code (use ISO 639, e.g. 'es')") from exc
    return cleaned.split("_")[0]


def language_name(code: str, *, in_language: str = "en") -> str:
    return Locale.parse(code).get_display_name(in_language) or code
