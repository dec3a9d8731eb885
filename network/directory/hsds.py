"""Open Referral HSDS 3.0 ↔ the directory: mapping both ways, and the import/export use cases.

An organisation becomes an HSDS `organization` with its office as the first `locations[]`
entry (coordinates, address, languages, schedules), its phone, email and website, and its
services nested under `services` (each with languages, schedules and human-readable
`service_areas`). Directory-only facts travel as `attributes` in the `homeward` taxonomy:
kind, law-enforcement body, specialisation, time zone, each service's type, and each area in a
compact form (`city|TX|Houston|29.7633|-95.3633|15`), so an export re-imports unchanged. A
service without a `service_type` attribute gets its type from keywords of its name and
description, or is skipped with a warning. Imports are all or nothing: `InvalidHsds` names
every bad field. Helpers shared with the shelter mapping come from `logistics.interop.hsds`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, func, select

from core import audit
from core.languages import language_name, normalise_language
from core.principal import Principal
from logistics.errors import InvalidHsds
from logistics.interop.hsds import (
    NAMESPACE,
    RRULE_DAYS,
    STATE_BY_NAME,
    STATES,
    TAXONOMY,
    _intake_hours,  # the shelter mapping's RRULE reader; the directory reads schedules alike
    _Problems,
    page_envelope,
)
from logistics.vocabulary import WEEKDAYS
from network.directory.models import (
    AreaKind,
    AreaPublic,
    CoverageArea,
    Organization,
    OrganizationCreate,
    OrganizationKind,
    OrganizationPublic,
    ServiceType,
)
from network.directory.service import add_organization, present_many

KEYWORDS: tuple[tuple[str, ServiceType], ...] = (
    ("immigra", ServiceType.IMMIGRATION), ("visa", ServiceType.IMMIGRATION),
    ("legal", ServiceType.LEGAL), ("law", ServiceType.LEGAL),
    ("mental", ServiceType.MENTAL_HEALTH), ("counsel", ServiceType.MENTAL_HEALTH),
    ("therap", ServiceType.MENTAL_HEALTH), ("medical", ServiceType.MEDICAL),
    ("health", ServiceType.MEDICAL), ("clinic", ServiceType.MEDICAL),
    ("case manag", ServiceType.CASE_MANAGEMENT), ("interpret", ServiceType.INTERPRETATION),
    ("translat", ServiceType.INTERPRETATION), ("housing", ServiceType.HOUSING),
    ("shelter", ServiceType.HOUSING), ("labor", ServiceType.LABOR_RIGHTS),
    ("labour", ServiceType.LABOR_RIGHTS), ("wage", ServiceType.LABOR_RIGHTS),
    ("compensation", ServiceType.VICTIM_COMPENSATION),
)
ORG_TERMS = ("kind", "law_body", "specialisation", "timezone", "area")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "directory/" + "/".join(str(p) for p in parts)))


def _attr(link_id: str, entity: str, code: str, value: str) -> dict[str, Any]:
    return {"id": _id(link_id, code, value), "link_id": link_id, "link_type": TAXONOMY,
            "link_entity": entity, "value": value,
            "taxonomy_term": {"id": _id("term", code), "code": code, "name": code,
                              "taxonomy": TAXONOMY}}


def _attrs(record: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in record.get("attributes") or []:
        term = item.get("taxonomy_term") if isinstance(item, dict) else None
        if isinstance(term, dict) and term.get("taxonomy") == TAXONOMY and term.get("code"):
            found.setdefault(str(term["code"]), []).append(str(item.get("value") or ""))
    return found


# ---------------------------------------------------------------------------- export


def area_code(area: AreaPublic) -> str:
    parts: list[object] = [area.kind.value, area.state or "", area.county or "", area.city or ""]
    if area.lat is not None and area.lon is not None and area.radius_km is not None:
        parts += [f"{area.lat:.5f}", f"{area.lon:.5f}", f"{area.radius_km:g}"]
    return "|".join(str(p) for p in parts)


def area_label(area: AreaPublic) -> str:
    if area.kind is AreaKind.NATIONAL:
        return "United States (national)"
    if area.kind is AreaKind.RADIUS:
        return f"Within {area.radius_km:g} km of {area.lat:.4f}, {area.lon:.4f}"
    place = area.city or area.county
    return f"{place}, {area.state}" if place else str(area.state)


def _schedules(oid: str, org: OrganizationPublic) -> list[dict[str, Any]]:
    if org.hours is None:
        return [{"id": _id(oid, "schedule", "24/7"), "freq": "WEEKLY",
                 "byday": ",".join(RRULE_DAYS), "opens_at": "00:00", "closes_at": "23:59",
                 "description": f"Open 24 hours a day, 7 days a week ({org.timezone})"}]
    by_window: dict[tuple[str, str], list[str]] = {}
    for d, day in enumerate(WEEKDAYS):
        for start, end in org.hours.windows.get(day, []):
            by_window.setdefault((start, end), []).append(RRULE_DAYS[d])
    return [{"id": _id(oid, "schedule", start, end), "freq": "WEEKLY", "byday": ",".join(days),
             "opens_at": start, "closes_at": "23:59" if end == "24:00" else end,
             "description": f"Local time ({org.timezone})"}
            for (start, end), days in sorted(by_window.items())]


def organization_to_hsds(org: OrganizationPublic) -> dict[str, Any]:
    oid = org.external_id or _id("organization", org.id)
    languages = [{"id": _id(oid, "language", c), "code": c, "name": language_name(c)}
                 for c in org.languages]
    attrs = [_attr(oid, "organization", "kind", org.kind.value),
             _attr(oid, "organization", "specialisation", org.specialisation.value),
             _attr(oid, "organization", "timezone", org.timezone)]
    if org.law_body is not None:
        attrs.append(_attr(oid, "organization", "law_body", org.law_body.value))
    attrs += [_attr(oid, "organization", "area", area_code(a)) for a in org.areas]
    address: dict[str, Any] = {"id": _id(oid, "address"), "address_1": "", "city": org.city,
                               "state_province": org.state, "postal_code": "",
                               "country": "US", "address_type": "physical"}
    if org.county:
        address["region"] = org.county
    schedules = _schedules(oid, org)
    out: dict[str, Any] = {
        "id": oid, "name": org.name, "description": org.description or "",
        "email": org.email, "website": org.website,
        "phones": ([{"id": _id(oid, "phone"), "number": org.phone, "type": "voice"}]
                   if org.phone else []),
        "locations": [{"id": _id(oid, "location"), "location_type": "physical",
                       "name": org.name, "latitude": org.lat, "longitude": org.lon,
                       "addresses": [address], "languages": languages,
                       "schedules": schedules}],
        "attributes": attrs,
        "services": [{
            "id": _id(oid, "service", s.id), "name": s.name, "status": "active",
            "description": s.description or "", "languages": languages,
            "schedules": schedules,
            "service_areas": [{"id": _id(oid, "service", s.id, "area", i),
                               "name": area_label(a), "extent_type": TAXONOMY,
                               "extent": area_code(a)} for i, a in enumerate(org.areas)],
            "attributes": [_attr(_id(oid, "service", s.id), "service", "service_type",
                                 s.service_type.value)],
        } for s in org.services],
    }
    return out


# ---------------------------------------------------------------------------- import


@dataclass
class DirectoryImport:
    organizations: list[OrganizationCreate] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def _organization_records(document: Any) -> list[tuple[str, Any]]:
    if isinstance(document, list):
        return [(f"[{i}]", item) for i, item in enumerate(document)]
    if isinstance(document, dict) and isinstance(document.get("contents"), list):
        return [(f"contents[{i}]", item) for i, item in enumerate(document["contents"])]
    if isinstance(document, dict):
        return [("", document)]
    raise InvalidHsds([{"field": "body", "message": "expected HSDS organizations"}])


def parse_area(text: str) -> CoverageArea:
    parts = text.split("|")
    kind, state, county, city = [*parts, "", "", "", ""][:4]
    values: dict[str, Any] = {"kind": kind, "state": state or None, "county": county or None,
                              "city": city or None}
    if len(parts) >= 7:
        values.update(lat=float(parts[4]), lon=float(parts[5]), radius_km=float(parts[6]))
    return CoverageArea.model_validate(values)


def _service_type(record: dict[str, Any]) -> ServiceType | None:
    codes = _attrs(record).get("service_type")
    if codes and codes[0] in {t.value for t in ServiceType}:
        return ServiceType(codes[0])
    text = f"{record.get('name') or ''} {record.get('description') or ''}".lower()
    return next((kind for word, kind in KEYWORDS if word in text), None)


def _parse_organization(path: str, record: Any, out: _Problems,
                        result: DirectoryImport) -> None:
    if not isinstance(record, dict):
        out.error("", "each organization must be a JSON object")
        return
    attrs = _attrs(record)
    locations = [x for x in record.get("locations") or [] if isinstance(x, dict)]
    if not locations:
        out.error("locations", "the directory needs the organization's office location")
        return
    location = locations[0]
    fields: dict[str, Any] = {
        "name": record.get("name"), "description": record.get("description") or None,
        "email": record.get("email") or None, "website": record.get("website") or None,
        "lat": location.get("latitude"), "lon": location.get("longitude"),
        "external_id": str(record.get("id") or "") or None,
    }
    where = {"name": "name", "lat": "locations[0].latitude", "lon": "locations[0].longitude",
             "email": "email", "website": "website"}
    phones = [p for p in record.get("phones") or [] if isinstance(p, dict) and p.get("number")]
    if phones:
        fields["phone"] = str(phones[0]["number"]).strip('"')[:32]
    addresses = [a for a in location.get("addresses") or [] if isinstance(a, dict)]
    if not addresses:
        out.error("locations[0].addresses", "the office needs an address with city and state")
        return
    address = addresses[0]
    raw_state = str(address.get("state_province") or "").strip()
    state = raw_state.upper() if raw_state.upper() in STATES else STATE_BY_NAME.get(
        raw_state.lower())
    if state is None:
        out.error("locations[0].addresses[0].state_province",
                  "must be a US state or territory (two-letter code or name)")
        state = "XX"
    fields.update(city=str(address.get("city") or "").strip(), state=state,
                  county=str(address.get("region") or "").strip() or None)
    where.update(city="locations[0].addresses[0].city",
                 state="locations[0].addresses[0].state_province")
    fields["timezone"] = (attrs.get("timezone") or [STATES.get(state, ("", "UTC"))[1]])[0]
    fields["kind"] = (attrs.get("kind") or [OrganizationKind.SERVICE_PROVIDER.value])[0]
    if attrs.get("law_body"):
        fields["law_body"] = attrs["law_body"][0]
    if attrs.get("specialisation"):
        fields["specialisation"] = attrs["specialisation"][0]
    codes = []
    for i, item in enumerate(location.get("languages") or []):
        try:
            codes.append(normalise_language(str(item.get("code") or "")))
        except (ValueError, AttributeError):
            out.warn(f"locations[0].languages[{i}].code", "not an ISO 639 code; dropped")
    services, areas = [], []
    for i, svc in enumerate(record.get("services") or []):
        if not isinstance(svc, dict) or str(svc.get("status") or "active") != "active":
            continue
        kind = _service_type(svc)
        if kind is None:
            out.warn(f"services[{i}]", "no service type could be read; skipped")
            continue
        services.append({"service_type": kind, "name": svc.get("name") or kind.value,
                         "description": (svc.get("description") or None)})
        for j, lang in enumerate(svc.get("languages") or []):
            try:
                codes.append(normalise_language(str(lang.get("code") or "")))
            except (ValueError, AttributeError):
                out.warn(f"services[{i}].languages[{j}].code", "not an ISO 639 code; dropped")
    fields["languages"] = sorted(set(codes)) or ["en"]
    fields["services"] = services
    schedules: Any = location.get("schedules") or next(
        (s.get("schedules") for s in record.get("services") or []
         if isinstance(s, dict) and s.get("schedules")), [])
    hours = _intake_hours(list(schedules or []), "locations[0].schedules", out)
    fields["hours"] = {"windows": hours} if hours is not None else None
    for i, text in enumerate(attrs.get("area", [])):
        try:
            areas.append(parse_area(text))
        except (ValidationError, ValueError):
            out.error(f"attributes.area[{i}]", "not a Homeward area code")
    if not areas and state != "XX":
        areas.append(CoverageArea(kind=AreaKind.STATE, state=state))
        out.warn("attributes", "no Homeward areas: taken to serve its office's state")
    fields["areas"] = areas
    before = len(out.errors)
    try:
        data = OrganizationCreate.model_validate(fields)
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ())]
            out.error(where.get(loc[0], ".".join(loc)) if loc else "", str(err.get("msg")))
        return
    if len(out.errors) == before:
        result.organizations.append(data)


def parse_directory(document: Any) -> DirectoryImport:
    result = DirectoryImport()
    errors: list[dict[str, str]] = []
    for path, record in _organization_records(document):
        if isinstance(record, dict) and isinstance(record.get("organization"), dict) \
                and "services" not in record:
            # A service with its organization nested: read it as that organization.
            service = {k: v for k, v in record.items() if k != "organization"}
            record = {**record["organization"], "services": [service],
                      "locations": record["organization"].get("locations")
                      or [sal.get("location") for sal in record.get("service_at_locations")
                          or [] if isinstance(sal, dict) and sal.get("location")]}
        _parse_organization(path, record, _Problems(path, errors, result.warnings), result)
    if errors:
        raise InvalidHsds(errors)
    return result


# ---------------------------------------------------------------------------- use cases


def import_directory(session: Session, *, actor: Principal, document: Any,
                     dry_run: bool = False) -> dict[str, Any]:
    """Add every organisation of the dataset not already present (by HSDS id); all or none."""
    actor.require_platform_admin()
    parsed = parse_directory(document)
    known = set(session.exec(select(Organization.external_id).where(
        col(Organization.external_id).in_([o.external_id for o in parsed.organizations
                                           if o.external_id]))))
    fresh = [o for o in parsed.organizations if o.external_id not in known]
    if not dry_run:
        for data in fresh:
            add_organization(session, data)
        audit.record(session, actor, action="directory.import_hsds", object_type="directory",
                     object_id="hsds", purpose="directory",
                     details={"added": len(fresh), "skipped": len(parsed.organizations)
                              - len(fresh)})
        session.commit()
    return {"dry_run": dry_run, "added": len(fresh),
            "already_present": len(parsed.organizations) - len(fresh),
            "warnings": parsed.warnings}


def export_directory(session: Session, *, actor: Principal, page: int,
                     per_page: int) -> dict[str, Any]:
    del actor  # the directory is public to every account
    total = session.exec(select(func.count()).select_from(Organization)).one()
    ids = list(session.exec(select(Organization.id).order_by(col(Organization.id))
                            .limit(per_page).offset((page - 1) * per_page)))
    views = present_many(session, [i for i in ids if i is not None])
    contents = [organization_to_hsds(views[i]) for i in ids if i is not None]
    return page_envelope(contents, total=int(total), page=page, per_page=per_page)
