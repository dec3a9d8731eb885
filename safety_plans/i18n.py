"""Message catalogues: language resolution and lookup of translated, parameterised text.

Every user-facing string of a plan (questions, section titles, steps, labels) is a symbolic
message id such as ``step.immediate.call_911`` looked up in a gettext catalogue at
``safety_plans/locale/<lang>/LC_MESSAGES/messages.po``. Catalogues are parsed at runtime with
Babel's ``read_po`` and cached, so shipping a language is adding one .po file and no compile
step is needed. Placeholders use ``str.format`` syntax (``{hotline_phone}``) and must be the
same in every language; the unit tests enforce that and that no message is missing.

Where a language makes words agree with the person (Spanish "acompañarla" / "acompañarlo"),
the plain entry is gender-neutral and gettext contexts (``msgctxt "feminine"`` /
``"masculine"``) carry the variants, chosen from the survivor's stated gender.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

from safety_plans.errors import UnknownLanguageError

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DEFAULT_LANGUAGE = "en"
DOMAIN = "messages"


def catalogue_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def available_languages() -> tuple[str, ...]:
    """Languages with a shipped catalogue, English first."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if catalogue_path(p.name).is_file())
    return tuple(sorted(found, key=lambda lang: lang != DEFAULT_LANGUAGE))


def resolve_language(
    requested: str | None, *, allow_fallback: bool = False, field: str = "language"
) -> str:
    """Map a requested tag ("es", "es-MX", "ES_us") to a shipped language.

    An unsupported language raises UnknownLanguageError naming ``field``, unless the caller
    allows falling back to English.
    """
    available = available_languages()
    tag = (requested or "").strip().replace("_", "-").lower()
    candidates = [tag, tag.split("-", 1)[0]] if tag else []
    for candidate in candidates:
        if candidate in available:
            return candidate
    if allow_fallback:
        return DEFAULT_LANGUAGE
    raise UnknownLanguageError(requested or "", available, field=field)


@cache
def _parsed(language: str) -> dict[tuple[str | None, str], str]:
    """(context, message id) -> translated text (fuzzy and empty entries skipped)."""
    path = catalogue_path(language)
    if language not in available_languages():
        raise UnknownLanguageError(language, available_languages())
    with path.open("rb") as fh:
        parsed = read_po(fh, locale=language, domain=DOMAIN)
    return {
        (m.context, str(m.id)): str(m.string)
        for m in parsed
        if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string
        if not m.fuzzy
    }


@cache
def catalogue(language: str) -> Mapping[str, str]:
    """Message id -> translated text for one language, without contextual variants."""
    return {mid: text for (ctx, mid), text in _parsed(language).items() if ctx is None}


def all_text(language: str) -> str:
    """Every message of a language with its variants, and English's (shown for any gap):
    what its documents can draw besides the user's own words."""
    texts = [*_parsed(language).values(), *_parsed(DEFAULT_LANGUAGE).values()]
    return "\n".join(texts)


def variant(language: str, message_id: str, context: str | None) -> str | None:
    """A message's variant for a gettext context ("feminine", "masculine"), if the language
    has one: Spanish needs them where a word agrees with the person, English does not."""
    if context is None:
        return None
    return _parsed(language).get((context, message_id))


def placeholders(text: str) -> frozenset[str]:
    """Names of the ``{placeholder}`` fields in a message."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name)


def has_message(language: str, message_id: str) -> bool:
    return message_id in catalogue(language)


def message(language: str, message_id: str, context: str | None = None) -> str:
    """Raw text of a message (its ``context`` variant when there is one), falling back to
    English only if a catalogue lacks it.

    A message missing from English too is a bug in the engine, not bad input, so it raises
    LookupError rather than a SafetyPlanError.
    """
    text = variant(language, message_id, context) or catalogue(language).get(message_id)
    if text is None:
        text = catalogue(DEFAULT_LANGUAGE).get(message_id)
    if text is None:
        raise LookupError(f"no message {message_id!r} in any catalogue")
    return text


def translate(
    language: str,
    message_id: str,
    params: Mapping[str, str] | None = None,
    *,
    context: str | None = None,
) -> str:
    """Translated text (its ``context`` variant if any) with placeholders from ``params``."""
    text = message(language, message_id, context)
    return text.format_map(dict(params or {})) if "{" in text else text
