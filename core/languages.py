"""Language codes and time zones as input fields: ISO 639 codes checked against Babel's CLDR
data (stored in lower case), and IANA time-zone names checked against the zone database.

`LanguageCodes` and `TimeZoneName` are annotated types, so every model that takes them
validates them the same way.
"""

from __future__ import annotations

from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from babel import Locale, UnknownLocaleError
from pydantic import AfterValidator

from core.errors import RuleBroken


def normalise_language(code: str) -> str:
    """The ISO 639 code in lower case, or ValueError when CLDR does not know it."""
    cleaned = code.strip().replace("-", "_").lower()
    try:
        Locale.parse(cleaned)
    except (UnknownLocaleError, ValueError) as exc:
        raise RuleBroken("language-code", "unknown language code (use ISO 639, e.g. 'es')") from exc
    return cleaned.split("_")[0]


def language_name(code: str, *, in_language: str = "en") -> str:
    return Locale.parse(code).get_display_name(in_language) or code


def normalise_languages(codes: list[str]) -> list[str]:
    return sorted({normalise_language(code) for code in codes})


@cache
def known_timezones() -> frozenset[str]:
    # Reading the zone database takes milliseconds; bulk imports validate thousands of rows.
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    if value not in known_timezones():
        raise RuleBroken("time-zone",
                         "unknown time zone (use an IANA name such as America/Chicago)")
    return value


LanguageCodes = Annotated[list[str], AfterValidator(normalise_languages)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
