"""Open Referral HSDS 3.0 ↔ Homeward shelters: pure mapping both ways, and its validation.

An HSDS `service` (with its nested `organization`, first `service_at_locations[].location`,
`languages`, `schedules`, `phones`, `capacities` and `attributes`) becomes one shelter; an
agency becomes an `organization`. `service_capacity` (HSDS 3.1, one per bed type) carries the
counts. Homeward-only facts travel as `attributes` in a `homeward` taxonomy. A confidential
shelter is exported with its city and state only: no street address, no coordinates. Every
choice is documented in docs/interop.md. No database access here: the use cases live in
`logistics.interop.service`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from core.languages import language_name, normalise_language
from logistics.errors import InvalidHsds
from logistics.shelters.models import ShelterCreate
from logistics.vocabulary import WEEKDAYS, BedType, Population

TAXONOMY = "homeward"
NAMESPACE = uuid.UUID("6f1c2a4e-3b7d-5e8f-9a0b-1c2d3e4f5a6b")
RRULE_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
UNIT_NAMES = {BedType.FAMILY_UNIT: "family units"}
FLAGS = ("pets", "requires_photo_id", "requires_referral", "requires_sobriety",
         "confidential_location")
NUMBERS = ("children_max_age", "max_stay_days", "max_household")
TERMS = {
    "population": "A population the shelter serves",
    "specialisation": "Trafficking specialisation: sex, labor, both or none",
    "timezone": "IANA time zone of the shelter and of its schedules",
    "pets": "Pets accepted", "requires_photo_id": "Photo ID required at intake",
    "requires_referral": "Referral required", "requires_sobriety": "Sobriety required",
    "confidential_location": "Safe house: address and coordinates withheld",
    "children_max_age": "Accompanying children accepted up to this age",
    "max_stay_days": "Maximum stay in days",
    "max_household": "Largest household one family unit takes",
}
# Bed types that a capacity unit without a Homeward identifier falls back to, by unit name.
UNIT_FALLBACK = {"bed": BedType.ADULT_ANY, "beds": BedType.ADULT_ANY,
                 "family unit": BedType.FAMILY_UNIT, "family units": BedType.FAMILY_UNIT,
                 "unit": BedType.FAMILY_UNIT, "units": BedType.FAMILY_UNIT}
POPULATIONS_BY_BED = {
    BedType.ADULT_FEMALE: [Population.ADULT_WOMEN],
    BedType.ADULT_MALE: [Population.ADULT_MEN],
    BedType.ADULT_ANY: [Population.ADULT_WOMEN, Population.ADULT_MEN,
                        Population.TRANSGENDER_NONBINARY_ADULTS],
    BedType.YOUTH: [Population.YOUTH_12_17],
    BedType.FAMILY_UNIT: [Population.FAMILIES_WITH_CHILDREN],
}
# State or territory code -> (name, the time zone most of it keeps). Used when a record has no
# `homeward` timezone attribute; a state spanning zones gets its most populous one.
_STATES = """AL Alabama Chicago|AK Alaska Anchorage|AZ Arizona Phoenix|AR Arkansas Chicago|
CA California Los_Angeles|CO Colorado Denver|CT Connecticut New_York|DE Delaware New_York|
DC District_of_Columbia New_York|FL Florida New_York|GA Georgia New_York|HI Hawaii Honolulu|
ID Idaho Boise|IL Illinois Chicago|IN Indiana Indiana/Indianapolis|IA Iowa Chicago|
KS Kansas Chicago|KY Kentucky New_York|LA Louisiana Chicago|ME Maine New_York|
MD Maryland New_York|MA Massachusetts New_York|MI Michigan Detroit|MN Minnesota Chicago|
MS Mississippi Chicago|MO Missouri Chicago|MT Montana Denver|NE Nebraska Chicago|
NV Nevada Los_Angeles|NH New_Hampshire New_York|NJ New_Jersey New_York|NM New_Mexico Denver|
NY New_York New_York|NC North_Carolina New_York|ND North_Dakota Chicago|OH Ohio New_York|
OK Oklahoma Chicago|OR Oregon Los_Angeles|PA Pennsylvania New_York|RI Rhode_Island New_York|
SC South_Carolina New_York|SD South_Dakota Chicago|TN Tennessee Chicago|TX Texas Chicago|
UT Utah Denver|VT Vermont New_York|VA Virginia New_York|WA Washington Los_Angeles|
WV West_Virginia New_York|WI Wisconsin Chicago|WY Wyoming Denver|PR Puerto_Rico Puerto_Rico|
GU Guam Pacific/Guam|VI Virgin_Islands St_Thomas|AS American_Samoa Pacific/Pago_Pago|
MP Northern_Mariana_Islands Pacific/Saipan"""
STATES: dict[str, tuple[str, str]] = {}
for _entry in _STATES.replace("\n", "").split("|"):
    _code, _name, _zone = _entry.split()
    STATES[_code] = (_name.replace("_", " "),
                     _zone if "/" in _zone else f"America/{_zone}")
STATE_BY_NAME = {name.lower(): code for code, (name, _zone) in STATES.items()}


@dataclass(frozen=True)
class ImportedShelter:
    """One HSDS service ready to become a shelter, once its organization has an agency id."""

    path: str
    hsds_id: str
    organization_name: str
    data: ShelterCreate  # agency_id is a placeholder (0) until the organization is resolved


@dataclass
class ImportResult:
    shelters: list[ImportedShelter] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ExportedCapacity:
    bed_type: BedType
    total: int
    available: int
    max_household: int | None
    updated_at: datetime


@dataclass(frozen=True)
class ExportedShelter:
    """What the export may say about one shelter (addresses already withheld if confidential)."""

    id: int
    name: str
    agency_id: int
    agency_name: str
    confidential: bool
    lat: float | None
    lon: float | None
    street_address: str | None
    city: str
    state: str
    county: str | None
    zip_code: str | None
    timezone: str
    populations: list[Population]
    specialisation: str
    languages: list[str]
    accessible: bool
    pets: bool
    children_max_age: int | None
    max_stay_days: int | None
    intake_hours: dict[str, list[list[str]]] | None
    requires_photo_id: bool
    requires_referral: bool
    requires_sobriety: bool
    intake_phone: str | None
    capacities: list[ExportedCapacity]


# ---------------------------------------------------------------------------- import


def service_records(document: Any) -> list[tuple[str, Any]]:
    """The services of a dataset with their JSON paths.

    Accepted: one service; a list of them; an HSDA page (`contents`); an organization with
    nested `services`; a service_at_location with nested `service` (alone, listed or paged).
    """
    if isinstance(document, list):
        items = [(f"[{i}]", item) for i, item in enumerate(document)]
    elif isinstance(document, dict) and isinstance(document.get("contents"), list):
        items = [(f"contents[{i}]", item) for i, item in enumerate(document["contents"])]
    elif isinstance(document, dict) and isinstance(document.get("services"), list):
        organization = {k: v for k, v in document.items() if k != "services"}
        return [(f"services[{i}]", {"organization": organization, **item}
                 if isinstance(item, dict) and organization.get("name") else item)
                for i, item in enumerate(document["services"])]
    elif isinstance(document, dict):
        items = [("", document)]
    else:
        raise InvalidHsds([{"field": "body", "message": "expected HSDS services, "
                            "organizations with services, or services at locations"}])
    return [(path, _service_of(item)) for path, item in items]


def _service_of(item: Any) -> Any:
    """A service_at_location record turned inside out: its service, holding it as a location.

    Error paths then read as if the location were nested in the service.
    """
    if isinstance(item, dict) and isinstance(item.get("service"), dict):
        sal = {k: v for k, v in item.items() if k != "service"}
        return {**item["service"], "service_at_locations": [sal]}
    return item


def parse_dataset(document: Any) -> ImportResult:
    """Map every service of the dataset, or raise InvalidHsds listing every problem at once."""
    result = ImportResult()
    errors: list[dict[str, str]] = []
    for path, record in service_records(document):
        _parse_service(path, record, result, errors)
    if errors:
        raise InvalidHsds(errors)
    return result


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Problems:
    def __init__(self, path: str, errors: list[dict[str, str]],
                 warnings: list[dict[str, str]]) -> None:
        self.path, self.errors, self.warnings = path, errors, warnings

    def error(self, where: str, message: str) -> None:
        self.errors.append({"field": _join(self.path, where), "message": message})

    def warn(self, where: str, message: str) -> None:
        self.warnings.append({"field": _join(self.path, where), "message": message})


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _parse_service(path: str, record: Any, result: ImportResult,
                   errors: list[dict[str, str]]) -> None:
    out = _Problems(path, errors, result.warnings)
    before = len(errors)
    if not isinstance(record, dict):
        out.error("", "each service must be a JSON object")
        return
    status = record.get("status", "active")
    if status != "active":
        result.skipped.append({"field": path or "service",
                               "message": "service status is not 'active'"})
        return
    organization = record.get("organization")
    if not isinstance(organization, dict) or not str(organization.get("name") or "").strip():
        out.error("organization.name", "each service needs its organization with a name")
        return
    org_name = str(organization["name"]).strip()
    if len(org_name) > 200:
        out.error("organization.name", "an organization name has at most 200 characters")
    sals = _list(record.get("service_at_locations"))
    located = [(i, s) for i, s in enumerate(sals)
               if isinstance(s, dict) and isinstance(s.get("location"), dict)]
    if not located:
        out.error("service_at_locations", "a shelter needs one location")
        return
    if len(located) > 1:
        out.warn("service_at_locations", "only the first location is imported")
    index, sal = located[0]
    loc_path = f"service_at_locations[{index}].location"
    location = sal["location"]
    attrs = _attributes(record)
    fields, where = _location_fields(location, loc_path, out)
    fields["name"] = str(record.get("name") or "").strip()
    where["name"] = "name"
    fields["timezone"] = attrs.get("timezone", [None])[0] or STATES.get(
        str(fields.get("state")), ("", "America/New_York"))[1]
    where["timezone"] = "attributes"
    fields["languages"] = _languages(record, location, loc_path, out)
    where["languages"] = "languages"
    fields["accessible"] = bool(_list(location.get("accessibility")))
    schedules, sched_path = _schedules(record, sal, location, index)
    hours = _intake_hours(schedules, sched_path, out)
    fields["intake_hours"] = {"windows": hours} if hours else None
    where["intake_hours"] = sched_path
    phone = next((p for p in _list(record.get("phones"))
                  if isinstance(p, dict) and p.get("number")), None)
    if phone is not None:
        fields["intake_phone"] = str(phone["number"]).strip()
        where["intake_phone"] = "phones"
    beds, bed_paths = _capacities(record, out, attrs)
    fields["beds"] = beds
    _apply_attributes(fields, attrs, beds, out)
    for key in FLAGS + NUMBERS + ("populations", "specialisation"):
        where.setdefault(key, "attributes")
    try:
        data = ShelterCreate.model_validate({**fields, "agency_id": 0})
    except ValidationError as exc:
        reported = {e["field"] for e in errors[before:]}
        for err in exc.errors():
            loc = [str(part) for part in err["loc"]]
            if loc and loc[0] == "beds" and len(loc) > 1 and loc[1].isdigit():
                name = bed_paths[int(loc[1])]
            else:
                name = where.get(loc[0], loc[0]) if loc else "service"
            if _join(path, name) not in reported:
                out.error(name, str(err["msg"]))
        return
    if len(errors) == before:
        result.shelters.append(ImportedShelter(path=path or "service",
                                               hsds_id=str(record.get("id") or ""),
                                               organization_name=org_name, data=data))


def _location_fields(location: Mapping[str, Any], loc_path: str,
                     out: _Problems) -> tuple[dict[str, Any], dict[str, str]]:
    fields: dict[str, Any] = {}
    where: dict[str, str] = {"lat": f"{loc_path}.latitude", "lon": f"{loc_path}.longitude"}
    for key, name in (("lat", "latitude"), ("lon", "longitude")):
        value = location.get(name)
        if value is None:
            out.error(where[key], "Homeward needs the location's coordinates for search")
        fields[key] = value
    addresses = [a for a in _list(location.get("addresses")) if isinstance(a, dict)]
    chosen = next(((i, a) for i, a in enumerate(addresses)
                   if a.get("address_type") == "physical"), None)
    chosen = chosen or (next(iter(enumerate(addresses)), None))
    if chosen is None:
        out.error(f"{loc_path}.addresses", "a location needs an address with city and state")
        where.update(city=f"{loc_path}.addresses", state=f"{loc_path}.addresses")
        return fields, where
    i, address = chosen
    a_path = f"{loc_path}.addresses[{i}]"
    lines = [str(address.get(k) or "").strip() for k in ("address_1", "address_2")]
    fields["street_address"] = "\n".join(line for line in lines if line) or None
    fields["city"] = str(address.get("city") or "").strip()
    raw_state = str(address.get("state_province") or "").strip()
    state = raw_state.upper() if raw_state.upper() in STATES else STATE_BY_NAME.get(
        raw_state.lower())
    if state is None:
        out.error(f"{a_path}.state_province", "must be a US state or territory "
                  "(two-letter code or name)")
    fields["state"] = state or "XX"
    country = str(address.get("country") or "US").strip().upper()
    if country not in ("US", "USA"):
        out.error(f"{a_path}.country", "Homeward registers shelters in the United States")
    fields["zip_code"] = str(address.get("postal_code") or "").strip() or None
    fields["county"] = str(address.get("region") or "").strip() or None
    where.update(street_address=f"{a_path}.address_1", city=f"{a_path}.city",
                 state=f"{a_path}.state_province", zip_code=f"{a_path}.postal_code",
                 county=f"{a_path}.region")
    return fields, where


def _attributes(record: Mapping[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in _list(record.get("attributes")):
        term = item.get("taxonomy_term") if isinstance(item, dict) else None
        if isinstance(term, dict) and term.get("taxonomy") == TAXONOMY and term.get("code"):
            found.setdefault(str(term["code"]), []).append(str(item.get("value") or ""))
    return found


def _apply_attributes(fields: dict[str, Any], attrs: dict[str, list[str]],
                      beds: list[dict[str, Any]], out: _Problems) -> None:
    for flag in FLAGS:
        if flag in attrs:
            fields[flag] = attrs[flag][0].lower() == "true"
    for number in ("children_max_age", "max_stay_days"):
        if number in attrs:
            fields[number] = _attribute_number(attrs[number][0])
    if "specialisation" in attrs:
        fields["specialisation"] = attrs["specialisation"][0]
    if "population" in attrs:
        fields["populations"] = attrs["population"]
    elif beds:
        # Without Homeward's own attribute, who a shelter serves follows from its bed types.
        fields["populations"] = sorted({p.value for b in beds
                                        for p in POPULATIONS_BY_BED.get(b["bed_type"], [])})
        out.warn("attributes", "populations inferred from the capacity units")


def _attribute_number(text: str) -> int | str:
    """An HSDS attribute's value is text by the standard, so a whole number is read here; any
    other text goes on as it is, for the (strict) model to refuse naming the attribute."""
    stripped = text.strip()
    return int(stripped) if re.fullmatch(r"-?[0-9]{1,9}", stripped) else text


def _languages(record: Mapping[str, Any], location: Mapping[str, Any], loc_path: str,
               out: _Problems) -> list[str]:
    codes: list[str] = []
    for path, items in (("languages", record.get("languages")),
                        (f"{loc_path}.languages", location.get("languages"))):
        for i, item in enumerate(_list(items)):
            code = str(item.get("code") or "") if isinstance(item, dict) else ""
            try:
                codes.append(normalise_language(code))
            except ValueError:
                out.warn(f"{path}[{i}].code", "not an ISO 639 code Homeward knows; dropped")
    return sorted(set(codes))


def _schedules(record: Mapping[str, Any], sal: Mapping[str, Any], location: Mapping[str, Any],
               index: int) -> tuple[list[Any], str]:
    for items, path in ((record.get("schedules"), "schedules"),
                        (sal.get("schedules"), f"service_at_locations[{index}].schedules"),
                        (location.get("schedules"),
                         f"service_at_locations[{index}].location.schedules")):
        if _list(items):
            return _list(items), path
    return [], "schedules"


def _hhmm(text: Any) -> str | None:
    parts = str(text or "").strip()[:8].split(":")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        return None
    h, m = int(parts[0]), int(parts[1])
    if not (0 <= h <= 24 and 0 <= m < 60):
        return None
    return "24:00" if h * 60 + m >= 23 * 60 + 59 else f"{h:02d}:{m:02d}"


_IGNORED_RRULE_PARTS = ("count", "until", "byweekno", "bymonthday", "byyearday",
                        "valid_from", "valid_to")


def _intake_hours(schedules: list[Any], path: str,
                  out: _Problems) -> dict[str, list[tuple[str, str]]] | None:
    windows: dict[str, list[tuple[str, str]]] = {}
    for i, item in enumerate(schedules):
        here = f"{path}[{i}]"
        if not isinstance(item, dict):
            continue
        freq = str(item.get("freq") or "WEEKLY").upper()
        days = [d.strip().upper() for d in str(item.get("byday") or "").split(",") if d.strip()]
        opens, closes = _hhmm(item.get("opens_at")), _hhmm(item.get("closes_at"))
        if freq != "WEEKLY" or not days or not set(days) <= set(RRULE_DAYS):
            out.warn(here, "only WEEKLY rules with plain BYDAY days are imported; skipped")
            continue
        if opens is None or closes is None:
            out.error(f"{here}.opens_at", "opens_at and closes_at must be times (HH:MM)")
            continue
        ignored = [p for p in _IGNORED_RRULE_PARTS if item.get(p) not in (None, "")]
        if ignored or int(item.get("interval") or 1) != 1:
            out.warn(here, "weekly windows imported; ignored: " + ", ".join(
                ignored + (["interval"] if int(item.get("interval") or 1) != 1 else [])))
        for day in days:
            d = RRULE_DAYS.index(day)
            if opens < closes:
                windows.setdefault(WEEKDAYS[d], []).append((opens, closes))
            elif opens != closes:  # overnight: runs past midnight into the next day
                windows.setdefault(WEEKDAYS[d], []).append((opens, "24:00"))
                if closes != "00:00":
                    windows.setdefault(WEEKDAYS[(d + 1) % 7], []).append(("00:00", closes))
    if not windows:
        if schedules:
            out.warn(path, "no usable weekly schedule: intake treated as 24/7")
        return None
    merged = {day: _merge(spans) for day, spans in windows.items()}
    if all(merged.get(day) == [("00:00", "24:00")] for day in WEEKDAYS):
        return None
    return {day: merged[day] for day in WEEKDAYS if day in merged}


def _merge(spans: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    merged: list[tuple[str, str]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        return None
    return int(value)


def _capacities(record: Mapping[str, Any], out: _Problems,
                attrs: dict[str, list[str]]) -> tuple[list[dict[str, Any]], list[str]]:
    key = "capacities" if "capacities" in record else "service_capacity"
    beds: list[dict[str, Any]] = []
    paths: list[str] = []
    seen: set[BedType] = set()
    for i, item in enumerate(_list(record.get(key))):
        here = f"{key}[{i}]"
        unit = item.get("unit") if isinstance(item, dict) else None
        if not isinstance(unit, dict):
            out.error(f"{here}.unit", "each capacity needs its unit")
            continue
        ident, name = str(unit.get("identifier") or ""), str(unit.get("name") or "").lower()
        bed_type = (BedType(ident) if ident in {b.value for b in BedType}
                    else UNIT_FALLBACK.get(name.strip()))
        if bed_type is None:
            out.error(f"{here}.unit", "unit must be a Homeward bed type or 'beds'/'family units'")
            continue
        if bed_type in seen:
            out.error(f"{here}.unit", f"bed type {bed_type.value} appears twice")
            continue
        seen.add(bed_type)
        maximum, available = _count(item.get("maximum")), _count(item.get("available"))
        if maximum is None or maximum < 0:
            out.error(f"{here}.maximum", "maximum must be a whole number of beds, 0 or more")
            continue
        if available is None or available < 0:
            out.error(f"{here}.available", "available must be a whole number, 0 or more")
            continue
        if available > maximum:
            out.error(f"{here}.available",
                      f"available ({available}) cannot exceed maximum ({maximum})")
            continue
        household = attrs.get("max_household")
        max_household = _attribute_number(household[0]) if household else None
        beds.append({"bed_type": bed_type, "total": maximum, "occupied": maximum - available,
                     "max_household": (max_household if bed_type is BedType.FAMILY_UNIT
                                       else None)})
        paths.append(here)
    return beds, paths


# ---------------------------------------------------------------------------- export


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


def _attribute(service_id: str, code: str, value: object) -> dict[str, Any]:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return {"id": _id(service_id, "attribute", code, text), "link_id": service_id,
            "link_type": TAXONOMY, "link_entity": "service", "value": text,
            "taxonomy_term": {"id": _id("term", code), "code": code, "name": code,
                              "description": TERMS[code], "taxonomy": TAXONOMY}}


def organization_to_hsds(agency_id: int, name: str) -> dict[str, Any]:
    return {"id": _id("agency", agency_id), "name": name, "description": ""}


def _schedules_out(service_id: str, shelter: ExportedShelter) -> list[dict[str, Any]]:
    offset = datetime.now(ZoneInfo(shelter.timezone)).utcoffset()
    hours = offset.total_seconds() / 3600 if offset is not None else 0
    base = {"freq": "WEEKLY", "timezone": hours,
            "description": f"Intake hours, local time ({shelter.timezone})"}
    if shelter.intake_hours is None:
        return [{"id": _id(service_id, "schedule", "24/7"), **base,
                 "byday": ",".join(RRULE_DAYS), "opens_at": "00:00", "closes_at": "23:59",
                 "description": "Intake 24 hours a day, 7 days a week"}]
    by_window: dict[tuple[str, str], list[str]] = {}
    for d, day in enumerate(WEEKDAYS):
        for start, end in shelter.intake_hours.get(day, []):
            by_window.setdefault((start, end), []).append(RRULE_DAYS[d])
    return [{"id": _id(service_id, "schedule", start, end), **base, "byday": ",".join(days),
             "opens_at": start, "closes_at": "23:59" if end == "24:00" else end}
            for (start, end), days in sorted(by_window.items(),
                                             key=lambda kv: (RRULE_DAYS.index(kv[1][0]), kv[0]))]


def _location_out(service_id: str, shelter: ExportedShelter) -> dict[str, Any]:
    lines = (shelter.street_address or "").split("\n", 1)
    address = {"id": _id(service_id, "address"), "address_1": lines[0],
               "city": shelter.city, "state_province": shelter.state,
               "postal_code": shelter.zip_code or "", "country": "US",
               "address_type": "physical"}
    if len(lines) > 1:
        address["address_2"] = lines[1]
    if shelter.county:
        address["region"] = shelter.county
    location: dict[str, Any] = {
        "id": _id(service_id, "location"), "location_type": "physical",
        "name": "Confidential location" if shelter.confidential else shelter.name,
        "addresses": [address],
        "accessibility": ([{"id": _id(service_id, "accessibility"),
                            "description": "Accessible to people with disabilities"}]
                          if shelter.accessible else []),
    }
    if shelter.confidential:
        location["description"] = ("Confidential safe house: street address and coordinates "
                                   "are withheld; only the city and state are published.")
    else:
        location["latitude"], location["longitude"] = shelter.lat, shelter.lon
    return location


def shelter_to_hsds(shelter: ExportedShelter) -> dict[str, Any]:
    """One shelter as an HSDS 3.0 service with nested organization and location."""
    if shelter.confidential:
        # Belt and braces: even a caller that forgot to withhold them never publishes these.
        shelter = _withheld(shelter)
    sid = _id("shelter", shelter.id)
    attrs: list[dict[str, Any]] = [_attribute(sid, "population", p.value)
                                   for p in shelter.populations]
    attrs += [_attribute(sid, "specialisation", shelter.specialisation),
              _attribute(sid, "timezone", shelter.timezone)]
    attrs += [_attribute(sid, flag, getattr(shelter, flag if flag != "confidential_location"
                                            else "confidential")) for flag in FLAGS]
    for number in ("children_max_age", "max_stay_days"):
        if getattr(shelter, number) is not None:
            attrs.append(_attribute(sid, number, getattr(shelter, number)))
    for cap in shelter.capacities:
        if cap.max_household is not None:
            attrs.append(_attribute(sid, "max_household", cap.max_household))
    service: dict[str, Any] = {
        "id": sid, "name": shelter.name, "status": "active",
        "organization": organization_to_hsds(shelter.agency_id, shelter.agency_name),
        "languages": [{"id": _id(sid, "language", code), "code": code,
                       "name": language_name(code)} for code in shelter.languages],
        "schedules": _schedules_out(sid, shelter),
        "service_at_locations": [{"id": _id(sid, "service_at_location"),
                                  "location": _location_out(sid, shelter)}],
        "capacities": [{
            "id": _id(sid, "capacity", cap.bed_type.value),
            "unit": {"id": _id("unit", cap.bed_type.value),
                     "name": UNIT_NAMES.get(cap.bed_type, "beds"), "scheme": TAXONOMY,
                     "identifier": cap.bed_type.value},
            "maximum": cap.total, "available": cap.available,
            "description": f"{cap.bed_type.value.replace('_', ' ')} "
                           f"{UNIT_NAMES.get(cap.bed_type, 'beds')}",
            "updated": cap.updated_at.isoformat(timespec="milliseconds"),
        } for cap in shelter.capacities],
        "attributes": attrs,
    }
    if shelter.intake_phone:
        service["phones"] = [{"id": _id(sid, "phone"), "number": shelter.intake_phone,
                              "type": "voice", "description": "Intake line"}]
    if shelter.requires_photo_id:
        service["required_documents"] = [{"id": _id(sid, "document", "photo_id"),
                                          "document": "Photo ID"}]
    return service


def _withheld(shelter: ExportedShelter) -> ExportedShelter:
    return replace(shelter, lat=None, lon=None, street_address=None, zip_code=None, county=None)


def page_envelope(contents: list[dict[str, Any]], *, total: int, page: int,
                  per_page: int) -> dict[str, Any]:
    """The HSDA list envelope (total_items, total_pages, page_number, contents...)."""
    pages = max(1, -(-total // per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page,
            "size": len(contents), "first_page": page == 1, "last_page": page >= pages,
            "empty": not contents, "contents": contents}


