"""Turning form fields and CSV rows into the API's own input models, with readable errors.

The pages accept compact text where a person types: a household as "34F 9M 6F" (age and
F/M/T/N for female, male, transgender, non-binary), lists as comma-separated words. They are
parsed into exactly the models the JSON API takes, so validation is the API's; errors name
the field and never repeat the value typed (it may be personal data).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from logistics.matching.models import MatchCase

GENDER_LETTERS = {"f": "female", "m": "male", "t": "transgender", "n": "nonbinary"}
_MEMBER = re.compile(r"^(\d{1,3})\s*([fmtn])$", re.IGNORECASE)
CSV_COLUMNS = ("case_ref", "members", "lat", "lon", "city", "state", "languages",
               "has_photo_id", "needs")
MAX_CSV_ROWS = 500


class FormError(ValueError):
    """Input a person can correct: each entry is (field, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {m}" for f, m in errors))
        self.errors = errors


def members(text: str, field: str = "members") -> list[dict[str, Any]]:
    found = []
    for part in re.split(r"[\s,;]+", text.strip()):
        if not part:
            continue
        match = _MEMBER.match(part)
        if match is None:
            raise FormError([(field, 'write each person as age and F, M, T or N, e.g. "34F 9M"')])
        found.append({"age": int(match.group(1)), "gender": GENDER_LETTERS[match.group(2).lower()]})
    if not found:
        raise FormError([(field, "give at least one person")])
    return found


def words(text: str | None) -> list[str]:
    return [w.strip() for w in (text or "").split(",") if w.strip()]


def number(text: str | None, field: str) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise FormError([(field, "must be a number")]) from None


def yes(text: str | None) -> bool:
    return (text or "").strip().lower() in ("1", "true", "yes", "y", "on", "si", "sí")


def location(lat: str | None, lon: str | None, city: str | None,
             state: str | None) -> dict[str, Any]:
    found: dict[str, Any] = {}
    la, lo = number(lat, "lat"), number(lon, "lon")
    if la is not None or lo is not None:
        found.update(lat=la, lon=lo)
    if (city or "").strip() or (state or "").strip():
        found.update(city=(city or "").strip() or None, state=(state or "").strip().upper() or None)
    return found


def validation_errors(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for err in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "form"
        out.append((prefix + where, str(err["msg"])))
    return out


def case_row(row: dict[str, str], line: int) -> MatchCase:
    """One CSV row as the batch matcher's inline case."""
    prefix = f"line {line}: "
    try:
        body: dict[str, Any] = {
            "case_ref": (row.get("case_ref") or "").strip(),
            "household": members(row.get("members") or "", prefix + "members"),
            "location": location(row.get("lat"), row.get("lon"), row.get("city"),
                                 row.get("state")),
            "has_photo_id": yes(row.get("has_photo_id")),
            "needs": words(row.get("needs")),
        }
    except FormError as exc:
        raise FormError([(f if f.startswith(prefix) else prefix + f, m)
                         for f, m in exc.errors]) from None
    languages = words(row.get("languages"))
    if languages:
        body["languages"] = languages
    try:
        return MatchCase.model_validate(body)
    except ValidationError as exc:
        raise FormError(validation_errors(exc, prefix)) from None


def households_csv(text: str) -> list[MatchCase]:
    """Parse the households CSV (header row first; see CSV_COLUMNS); all errors at once."""
    reader = csv.DictReader(io.StringIO(text.strip()))
    if reader.fieldnames is None or "case_ref" not in reader.fieldnames:
        raise FormError([("csv", "the first line must name the columns: "
                                 + ",".join(CSV_COLUMNS))])
    cases: list[MatchCase] = []
    errors: list[tuple[str, str]] = []
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_CSV_ROWS:
            errors.append(("csv", f"at most {MAX_CSV_ROWS} households at once"))
            break
        try:
            cases.append(case_row(row, index))
        except FormError as exc:
            errors.extend(exc.errors)
    if errors:
        raise FormError(errors[:20])
    if not cases:
        raise FormError([("csv", "no households given")])
    return cases
