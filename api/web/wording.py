"""Error messages a page shows, said in the page's language, keyed on what went wrong.

A field error is a `Phrase`: an English msgid with `{placeholders}`, their values, and the
catalogue context that keys it. Pydantic's errors are keyed on their `type` (context
`pydantic:<type>`, msgid pydantic's own message template for that type, filled from `ctx`),
validators' refusals on the `RuleBroken` code they raise (`rule:<code>`), domain errors on
their `code` (`problem:<code>`), and the pages' own messages are plain msgids. The JSON API
never passes through here: its messages stay English. A phrase the catalogue lacks is shown
in English, marked `lang="en"` so a screen reader says it right; it is never blank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, NamedTuple

from babel.messages.pofile import read_po
from markupsafe import Markup, escape
from pydantic import ValidationError
from pydantic_core import PydanticKnownError

from core.errors import DomainError, RuleBroken

NO_PARAMS: Mapping[str, object] = {}


class Phrase(NamedTuple):
    """One message for a person: English text (the msgid unless `key` is given), its values,
    the catalogue context, and `key`, the msgid when the English text is not stable (a domain
    error's code, whose detail is made at run time)."""

    text: str
    params: Mapping[str, object] = NO_PARAMS
    context: str = ""
    key: str = ""


def _ctx_text(value: object) -> object:
    # As pydantic writes them: a whole float as an integer ("greater than 0"), else as text.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int | float | str) else str(value)


def from_pydantic(error: Mapping[str, Any]) -> Phrase:
    """A pydantic error (`ValidationError.errors()` item) as a phrase keyed on its type."""
    kind = str(error["type"])
    ctx = dict(error.get("ctx") or {})
    if kind == "value_error":
        cause = ctx.get("error")
        if isinstance(cause, RuleBroken):
            return Phrase(str(cause), NO_PARAMS, f"rule:{cause.code}")
        # A validator that gave no code: its English message, shown as such.
        return Phrase(str(error["msg"]).removeprefix("Value error, "), NO_PARAMS, "rule:")
    params = {k: _ctx_text(v) for k, v in ctx.items()}
    try:
        template = PydanticKnownError(kind, params or None).message_template  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError):
        return Phrase(str(error["msg"]), NO_PARAMS, f"pydantic:{kind}")
    return Phrase(template, params, f"pydantic:{kind}")


def from_validation(exc: ValidationError, prefix: str = "") -> list[tuple[str, Phrase]]:
    """Each error of a ValidationError as (field location, phrase)."""
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "form"
        out.append((prefix + where, from_pydantic(err)))
    return out


def from_domain(exc: DomainError) -> Phrase:
    """A domain error keyed on its code (context `problem`, msgid the code); the values its
    `extra` carries fill the translation; the English detail is the fallback. Codes shared by
    many different refusals (`invalid-input`, `conflict`, ...) are left untranslated, so the
    precise English detail shows rather than a vague translation."""
    params = {k: v for k, v in exc.extra.items() if isinstance(v, int | float | str)}
    return Phrase(exc.detail, params, "problem", exc.code)


def place(field: str) -> Phrase:
    """Where a CSV error is, "line 3: members", as a phrase (the field's name stays as is)."""
    line, sep, rest = field.partition(": ")
    if sep and line.startswith("line ") and line[5:].isdigit():
        return Phrase("line {n}: {field}", {"n": int(line[5:]), "field": rest})
    return Phrase("{field}", {"field": field})


def _key(context: str | None, msgid: str) -> tuple[str, str]:
    return (context or "", msgid)


@cache
def table(language: str, path: str) -> Mapping[tuple[str, str], str]:
    """(context, msgid) -> translation, for every translated entry of a .po file."""
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return {}
    with fh:
        parsed = read_po(fh, locale=language, domain="web")
    return {_key(m.context, str(m.id)): str(m.string) for m in parsed
            if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string
            and not m.fuzzy}


def fill(text: str, params: Mapping[str, object]) -> str | None:
    """The text with its values, or None when it needs one that is not given."""
    try:
        return text.format(**params) if params else text.format()
    except (KeyError, IndexError, ValueError):
        return None


def plural(text: str, params: Mapping[str, object]) -> Mapping[str, object]:
    # Pydantic's length templates say "character{expected_plural}" without it in ctx.
    if "{expected_plural}" not in text:
        return params
    count = params.get("min_length", params.get("max_length", 0))
    return {**params, "expected_plural": "" if count == 1 else "s"}


Say = Callable[[object], Markup]


def sayer(entries: Mapping[tuple[str, str], str], language: str) -> Say:
    """A function that renders a Phrase (or a plain msgid) in `language`, escaped."""

    def say(item: object) -> Markup:
        phrase = item if isinstance(item, Phrase) else Phrase(str(item))
        found = entries.get((phrase.context, phrase.key or phrase.text))
        said = fill(found, phrase.params) if found is not None else None
        if said is not None:
            return escape(said)
        english = None if phrase.key else fill(phrase.text, plural(phrase.text, phrase.params))
        if english is None:  # a domain error's detail is already filled in
            english = phrase.text
        if language == "en":
            return escape(english)
        return Markup('<span lang="en">{}</span>').format(english)

    return say
