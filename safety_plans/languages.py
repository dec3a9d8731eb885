"""What each plan language is and how far its catalogue can be trusted.

Every shipped language has a name (in English and in itself), a script, a direction and
the line-breaking rule its PDF needs. Its **translation status** comes from its catalogue's
header (``X-Translation-Status``: ``source`` for English, ``reviewed`` once a fluent reviewer
who knows hotline and immigration terms has signed it off, named in ``X-Reviewed-By``,
``draft`` otherwise; ``X-Translation-Origin``: ``human`` or ``machine``) and from the messages
it lacks, which are shown in English. A plan says all of this on every render, so a hotline can
choose to send a draft or to read it aloud through an interpreter, and a plan that fell back
to English because its language is not shipped says that too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from safety_plans.i18n import DEFAULT_LANGUAGE, available_languages, catalogue, catalogue_path

Script = Literal["latin", "arabic", "devanagari", "thai", "han", "hangul"]
Status = Literal["source", "reviewed", "draft"]


@dataclass(frozen=True, slots=True)
class Language:
    code: str
    name: str
    endonym: str
    script: Script
    direction: Literal["ltr", "rtl"] = "ltr"


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("en", "English", "English", "latin"),
        Language("es", "Spanish", "Español", "latin"),
        Language("zh", "Chinese (Simplified)", "简体中文", "han"),
        Language("vi", "Vietnamese", "Tiếng Việt", "latin"),
        Language("ko", "Korean", "한국어", "hangul"),
        Language("tl", "Tagalog", "Tagalog", "latin"),
        Language("ht", "Haitian Creole", "Kreyòl ayisyen", "latin"),
        Language("pt", "Portuguese", "Português", "latin"),
        Language("ru", "Russian", "Русский", "latin"),
        Language("ar", "Arabic", "العربية", "arabic", "rtl"),
        Language("fr", "French", "Français", "latin"),
        Language("th", "Thai", "ไทย", "thai"),
        Language("hi", "Hindi", "हिन्दी", "devanagari"),
    )
}


def language_info(code: str) -> Language:
    """A shipped language's metadata; one without an entry reads as Latin, left to right."""
    return LANGUAGES.get(code, Language(code, code, code, "latin"))


@dataclass(frozen=True, slots=True)
class TranslationStatus:
    """How far a rendered plan's wording can be trusted, said on every render."""

    language: str
    status: Status
    origin: Literal["human", "machine"]
    reviewed_by: str | None
    missing: tuple[str, ...]  # message ids shown in English instead
    requested: str | None = None  # the language asked for, when the plan fell back to English

    @property
    def fell_back(self) -> bool:
        return self.requested is not None

    @property
    def needs_note(self) -> bool:
        """A draft, a catalogue with gaps or a fallback is flagged on the document itself."""
        return self.status == "draft" or bool(self.missing) or self.fell_back

    def as_dict(self) -> dict[str, Any]:
        info = language_info(self.language)
        return {
            "language": self.language,
            "language_name": info.name,
            "status": self.status,
            "origin": self.origin,
            "reviewed_by": self.reviewed_by,
            "complete": not self.missing,
            "missing_messages": list(self.missing),
            "requested_language": self.requested,
            "fell_back_to_english": self.fell_back,
            "summary": self.summary(),
        }

    def summary(self) -> str:
        """One English line for advocates (and the foot of the first page of a PDF)."""
        info = language_info(self.language)
        if self.status == "source":
            text = f"{info.name}: source language"
        elif self.status == "reviewed":
            text = f"{info.name}: reviewed by {self.reviewed_by or 'a fluent reviewer'}"
        else:
            how = "machine translation" if self.origin == "machine" else "translation"
            text = f"{info.name}: draft {how}, not reviewed by a fluent speaker"
        if self.missing:
            text += f"; {len(self.missing)} passage(s) shown in English"
        if self.requested is not None:
            text = f"'{self.requested}' is not available, shown in English. " + text
        return text


_HEADER = re.compile(r'^"X-(Translation-Status|Translation-Origin|Reviewed-By): ?(.*?)\\n"$',
                     re.MULTILINE)


@cache
def _header(language: str) -> dict[str, str]:
    """The catalogue's X-… header fields (Babel keeps only the standard ones)."""
    text = catalogue_path(language).read_text(encoding="utf-8")
    head = text.split("\n\n", 1)[0]
    return {key: value.strip() for key, value in _HEADER.findall(head)}


@cache
def _missing(language: str) -> tuple[str, ...]:
    return tuple(sorted(set(catalogue(DEFAULT_LANGUAGE)) - set(catalogue(language))))


def translation_status(language: str, requested: str | None = None) -> TranslationStatus:
    """The status of a shipped language's catalogue; ``requested`` is the tag asked for when
    it differs from ``language`` by falling back (not a regional variant such as es-MX)."""
    header = _header(language)
    status = header.get("Translation-Status", "draft")
    reviewed_by = header.get("Reviewed-By") or None
    if status not in ("source", "reviewed", "draft") or (status == "reviewed" and not reviewed_by):
        status = "draft"  # a sign-off names its reviewer, or it is not one
    origin: Literal["human", "machine"] = (
        "machine" if header.get("Translation-Origin") == "machine" else "human")
    fell_back = requested is not None and _base(requested) != language
    return TranslationStatus(
        language=language, status=status,  # type: ignore[arg-type]
        origin=origin, reviewed_by=reviewed_by, missing=_missing(language),
        requested=requested if fell_back else None)


def _base(tag: str) -> str:
    return tag.strip().replace("_", "-").lower().split("-", 1)[0]


def statuses() -> list[TranslationStatus]:
    """Every shipped language's status, English first (for docs, pages and tests)."""
    return [translation_status(lang) for lang in available_languages()]
