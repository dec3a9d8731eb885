"""Use cases of the directory: register organisations (admins), read them (any account).

Registration builds each area's circle and bounding box once (a city without its own point
takes its GeoNames point), so search never computes geometry for stored rows. `add_organization`
only adds to the session: the bulk loaders (fixture, HSDS import) call it thousands of times and
commit in batches; `create_organization` is the one-commit use case behind the API. Every
registration is audited. Functions are keyword-only and take the session and the actor.
"""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from core import audit
from core.gazetteer import find_city
from core.principal import Principal
from network.directory.models import (
    DEFAULT_RADIUS_KM,
    LEVEL_OF_BODY,
    AreaKind,
    AreaPublic,
    CoverageArea,
    DirectoryService,
    Organization,
    OrganizationCreate,
    OrganizationLanguage,
    OrganizationPublic,
    ServiceArea,
    ServicePublic,
)
from network.errors import InvalidNetwork, OrganizationNotFound
from solvers.geo import bounding_box


def area_row(organization_id: int, area: CoverageArea, home_state: str) -> ServiceArea:
    """The stored area: circles get a centre, a radius and their bounding box; a radius
    without a state counts as in the organisation's own state for whole-state searches."""
    lat, lon, radius = area.lat, area.lon, area.radius_km
    if area.kind is AreaKind.CITY and lat is None and area.city and area.state:
        place = find_city(area.city, area.state)
        if place is not None:
            lat, lon = place.lat, place.lon
    if area.kind in DEFAULT_RADIUS_KM and radius is None:
        radius = DEFAULT_RADIUS_KM[area.kind]
    state = area.state or (home_state if area.kind is AreaKind.RADIUS else None)
    row = ServiceArea(organization_id=organization_id, kind=area.kind, state=state,
                      county=area.county, city=area.city)
    if area.kind not in (AreaKind.NATIONAL, AreaKind.STATE) and lat is not None \
            and lon is not None and radius is not None:
        box = bounding_box(lat, lon, int(radius * 1000))
        row.lat, row.lon, row.radius_km = lat, lon, radius
        row.min_lat, row.max_lat, row.min_lon, row.max_lon = (
            box.min_lat, box.max_lat, box.min_lon, box.max_lon)
    return row


def add_organization(session: Session, data: OrganizationCreate) -> Organization:
    """Add one organisation with its services, languages and areas; flushed, not committed."""
    org = Organization(
        name=data.name, kind=data.kind, law_body=data.law_body,
        law_level=LEVEL_OF_BODY[data.law_body] if data.law_body else None,
        description=data.description, specialisation=data.specialisation,
        lat=data.lat, lon=data.lon, city=data.city, state=data.state, county=data.county,
        timezone=data.timezone,
        hours=({day: [list(span) for span in spans] for day, spans in data.hours.windows.items()}
               if data.hours is not None else None),
        phone=data.phone, email=data.email, website=data.website,
        external_id=data.external_id)
    session.add(org)
    session.flush()
    assert org.id is not None
    session.add_all([OrganizationLanguage(organization_id=org.id, language=code)
                     for code in data.languages])
    session.add_all([DirectoryService(organization_id=org.id, service_type=s.service_type,
                                      name=s.name, description=s.description)
                     for s in data.services])
    session.add_all([area_row(org.id, area, data.state) for area in data.areas])
    return org


def create_organization(session: Session, *, actor: Principal,
                        data: OrganizationCreate) -> OrganizationPublic:
    actor.require_platform_admin()
    if data.external_id is not None and session.exec(select(Organization.id).where(
            Organization.external_id == data.external_id)).first() is not None:
        raise InvalidNetwork("external_id", "another organization already has this external_id")
    org = add_organization(session, data)
    assert org.id is not None
    audit.record(session, actor, action="directory.create", object_type="organization",
                 object_id=org.id, purpose="directory",
                 details={"kind": data.kind.value, "services": len(data.services),
                          "areas": len(data.areas)})
    session.commit()
    return present_many(session, [org.id])[org.id]


def get_organization(session: Session, *, actor: Principal,
                     organization_id: int) -> OrganizationPublic:
    del actor  # the directory is public to every account
    found = present_many(session, [organization_id])
    if organization_id not in found:
        raise OrganizationNotFound(f"organization {organization_id} not found")
    return found[organization_id]


def present_many(session: Session, ids: list[int]) -> dict[int, OrganizationPublic]:
    """Full public views for a page of organisations, in four queries whatever the page size."""
    if not ids:
        return {}
    orgs = session.exec(select(Organization).where(col(Organization.id).in_(ids))).all()
    languages: dict[int, list[str]] = defaultdict(list)
    for oid, code in session.exec(select(OrganizationLanguage.organization_id,
                                         OrganizationLanguage.language)
                                  .where(col(OrganizationLanguage.organization_id).in_(ids))
                                  .order_by(col(OrganizationLanguage.language))):
        languages[oid].append(code)
    services: dict[int, list[ServicePublic]] = defaultdict(list)
    for svc in session.exec(select(DirectoryService)
                            .where(col(DirectoryService.organization_id).in_(ids))
                            .order_by(col(DirectoryService.id))):
        assert svc.id is not None
        services[svc.organization_id].append(ServicePublic(
            id=svc.id, organization_id=svc.organization_id, service_type=svc.service_type,
            name=svc.name, description=svc.description))
    areas: dict[int, list[AreaPublic]] = defaultdict(list)
    for area in session.exec(select(ServiceArea).where(col(ServiceArea.organization_id).in_(ids))
                             .order_by(col(ServiceArea.id))):
        areas[area.organization_id].append(AreaPublic(
            kind=area.kind, state=area.state, county=area.county, city=area.city,
            lat=area.lat, lon=area.lon, radius_km=area.radius_km))
    out: dict[int, OrganizationPublic] = {}
    for org in orgs:
        assert org.id is not None
        out[org.id] = OrganizationPublic.model_validate({
            "id": org.id, "name": org.name, "kind": org.kind, "law_body": org.law_body,
            "law_level": org.law_level, "description": org.description,
            "specialisation": org.specialisation, "lat": org.lat, "lon": org.lon,
            "city": org.city, "state": org.state, "county": org.county,
            "timezone": org.timezone,
            "hours": {"windows": org.hours} if org.hours is not None else None,
            "languages": languages[org.id] or ["en"], "phone": org.phone, "email": org.email,
            "website": org.website, "services": services[org.id], "areas": areas[org.id],
            "external_id": org.external_id, "version": org.version,
            "updated_at": org.updated_at})
    return out


def organization_exists(session: Session, organization_id: int) -> bool:
    return session.get(Organization, organization_id) is not None
