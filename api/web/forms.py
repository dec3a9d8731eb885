"""Turning form fields and CSV rows into the API's own input models, with readable errors.

The pages accept compact text where a person types: a household as "34F 9M 6F" (age and
F/M/T/N for female, male, transgender, non-binary), lists as comma-separated words. They are
parsed into exactly the models the JSON API takes, so validation is the API's; errors name
the field and never repeat the value typed (it may be personal data). Each message is a
`wording.Phrase`, so the page says it in its own language (the API's stay English).
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from pydantic import ValidationError

from api.web.wording import Phrase, from_validation
from logistics.matching.models import MatchCase

GENDER_LETTERS = {"f": "female", "m": "male", "t": "transgender", "n": "nonbinary"}
_MEMBER = re.compile(r"^(\d{1,3})\s*([fmtn])$", re.IGNORECASE)
CSV_COLUMNS = ("case_ref", "members", "lat", "lon", "city", "state", "languages",
               "has_photo_id", "needs", "exclude_lat", "exclude_lon", "exclude_radius_km")
MAX_CSV_ROWS = 500


Problems = list[tuple[str, Phrase]]


class FormError(ValueError):
    """Input a person can correct: each entry is (field, message: a msgid or a Phrase)."""

    def __init__(self, errors: list[tuple[str, str]] | list[tuple[str, Phrase]]) -> None:
        found: Problems = [(f, m if isinstance(m, Phrase) else Phrase(m)) for f, m in errors]
        super().__init__("; ".join(f"{f}: {m.text}" for f, m in found))
        self.errors = found


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


def validation_errors(exc: ValidationError, prefix: str = "") -> Problems:
    """The API's validation errors, each keyed on pydantic's type (see `wording`)."""
    return from_validation(exc, prefix)


# Form field names of the case form, and where the API's error locations land among them.
CASE_FIELD_OF = (("household", "members"), ("location.lat", "lat"), ("location.lon", "lon"),
                 ("location.city", "city"), ("location.state", "state"),
                 ("location", "location"), ("exclusions.points", "exclusion_points"),
                 ("exclusions.cities", "exclusion_cities"),
                 ("exclusions.states", "exclusion_states"),
                 ("exclusions", "exclusion_points"), ("languages", "languages"),
                 ("needs", "needs"), ("urgency", "urgency"), ("notes", "notes"),
                 ("max_travel_km", "max_travel_km"), ("case_ref", "case_ref"),
                 ("trafficking_type", "trafficking_type"), ("has_photo_id", "has_photo_id"))


FORM_FIELDS = frozenset(name for _, name in CASE_FIELD_OF)


def form_field(api_field: str) -> str:
    """The form field an API error location (e.g. `exclusions.points.0.radius_km`) belongs to."""
    if api_field in FORM_FIELDS:
        return api_field
    for prefix, name in CASE_FIELD_OF:
        if api_field == prefix or api_field.startswith(prefix + "."):
            return name
    return "form"


def by_field(errors: Problems) -> dict[str, list[Phrase]]:
    """Errors grouped by form field, for messages shown beside each field."""
    grouped: dict[str, list[Phrase]] = {}
    for field, message in errors:
        grouped.setdefault(form_field(field), []).append(message)
    return grouped


def exclusion_points(text: str | None, field: str = "exclusions.points") -> list[dict[str, Any]]:
    """Zones to keep away from, one per line (or ";"): "lat, lon, radius_km"."""
    found: list[dict[str, Any]] = []
    for index, part in enumerate(re.split(r"[;\n]+", text or "")):
        if not part.strip():
            continue
        bits = [b for b in re.split(r"[,\s]+", part.strip()) if b]
        if len(bits) != 3:
            raise FormError([(f"{field}.{index}",
                              'write each zone as "latitude, longitude, radius in km"')])
        values = [number(b, f"{field}.{index}") for b in bits]
        found.append({"lat": values[0], "lon": values[1], "radius_km": values[2]})
    return found


def lines(text: str | None) -> list[str]:
    """One entry per line or ";" (a city is "Name, ST", so commas stay inside entries)."""
    return [p.strip() for p in re.split(r"[;\n]+", text or "") if p.strip()]


def whole(text: str | None, field: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise FormError([(field, "must be a whole number")]) from None


def case_body(form: dict[str, str], needs: list[str]) -> dict[str, Any]:
    """The case form as the JSON body `POST /v1/cases` takes (validation is the API's)."""
    errors: Problems = []
    body: dict[str, Any] = {"case_ref": (form.get("case_ref") or "").strip(),
                            "trafficking_type": form.get("trafficking_type") or "sex",
                            "languages": words(form.get("languages")) or ["en"],
                            "needs": needs, "has_photo_id": yes(form.get("has_photo_id")),
                            "notes": (form.get("notes") or "").strip() or None}
    steps: list[tuple[str, Any]] = [
        ("household", lambda: members(form.get("members") or "", "household")),
        ("location", lambda: location(form.get("lat"), form.get("lon"), form.get("city"),
                                      form.get("state"))),
        ("urgency", lambda: whole(form.get("urgency"), "urgency")),
        ("max_travel_km", lambda: whole(form.get("max_travel_km"), "max_travel_km")),
        ("exclusions", lambda: {
            "points": exclusion_points(form.get("exclusion_points")),
            "cities": lines(form.get("exclusion_cities")),
            "states": [s.upper() for s in words(form.get("exclusion_states"))]}),
    ]
    for key, step in steps:
        try:
            value = step()
        except FormError as exc:
            errors.extend(exc.errors)
            continue
        if value is not None:
            body[key] = value
    if errors:
        raise FormError(errors)
    return body


def raid_site(lat: str | None, lon: str | None, radius_km: str | None) -> list[dict[str, Any]]:
    """The shared exclusion (a raid site) every household of a mass rescue is kept away from."""
    given = [v for v in (lat, lon, radius_km) if v and v.strip()]
    if not given:
        return []
    if len(given) != 3:
        raise FormError([("raid_site", "give the raid site's latitude, longitude and radius")])
    return [{"lat": number(lat, "raid_lat"), "lon": number(lon, "raid_lon"),
             "radius_km": number(radius_km, "raid_radius_km")}]


def _row_exclusions(row: dict[str, str]) -> list[dict[str, Any]]:
    given = [row.get(k) for k in ("exclude_lat", "exclude_lon", "exclude_radius_km")]
    if not any(v and v.strip() for v in given):
        return []
    if not all(v and v.strip() for v in given):
        raise FormError([("exclusions", "give exclude_lat, exclude_lon and exclude_radius_km "
                                        "together")])
    return [{"lat": number(given[0], "exclude_lat"), "lon": number(given[1], "exclude_lon"),
             "radius_km": number(given[2], "exclude_radius_km")}]


def case_row(row: dict[str, str], line: int,
             shared: list[dict[str, Any]] | None = None) -> MatchCase:
    """One CSV row as the batch matcher's inline case (plus the shared exclusion zones)."""
    prefix = f"line {line}: "
    try:
        body: dict[str, Any] = {
            "case_ref": (row.get("case_ref") or "").strip(),
            "household": members(row.get("members") or "", prefix + "members"),
            "location": location(row.get("lat"), row.get("lon"), row.get("city"),
                                 row.get("state")),
            "has_photo_id": yes(row.get("has_photo_id")),
            "needs": words(row.get("needs")),
            "exclusions": {"points": _row_exclusions(row) + list(shared or [])},
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


def households_csv(text: str, shared: list[dict[str, Any]] | None = None) -> list[MatchCase]:
    """Parse the households CSV (header row first; see CSV_COLUMNS); all errors at once."""
    reader = csv.DictReader(io.StringIO(text.strip()))
    if reader.fieldnames is None or "case_ref" not in reader.fieldnames:
        raise FormError([("csv", Phrase("the first line must name the columns: {columns}",
                                        {"columns": ",".join(CSV_COLUMNS)}))])
    cases: list[MatchCase] = []
    errors: Problems = []
    for index, row in enumerate(reader, start=2):
        if index - 1 > MAX_CSV_ROWS:
            errors.append(("csv", Phrase("at most {n} households at once", {"n": MAX_CSV_ROWS})))
            break
        try:
            cases.append(case_row(row, index, shared))
        except FormError as exc:
            errors.extend(exc.errors)
    if errors:
        raise FormError(errors[:50])
    if not cases:
        raise FormError([("csv", "no households given")])
    return cases
