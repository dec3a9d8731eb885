"""Use cases of the shelter registry: create shelters, bind coordinators, read a shelter.

Each public function is keyword-only, takes the session, the acting principal and (where
addresses are involved) the field cipher, writes its audit row and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from core import audit
from core import service as accounts
from core.crypto import FieldCipher
from core.errors import Forbidden, InvalidInput
from core.models import Account, AccountCreate, Agency, Role, TokenIssued
from core.principal import Principal
from logistics.errors import NotShelterStaff, ShelterNotFound
from logistics.shelters.models import (
    BedInventory,
    IntakeHours,
    Shelter,
    ShelterCreate,
    ShelterLanguage,
    ShelterPublic,
    ShelterStaff,
)
from logistics.shelters.visibility import CONFIDENTIAL_GRID_DEG, can_manage, coarse_point
from logistics.vocabulary import mask_to_populations, populations_to_mask

ADDRESS_FIELD = "shelter.street_address"
LOCATION_FIELD = "shelter.location"


def add_shelter(
    session: Session, *, actor: Principal, cipher: FieldCipher, data: ShelterCreate
) -> Shelter:
    """Stage a shelter, its languages and bed counts without committing (for bulk loads)."""
    _require_registrar(actor, data.agency_id)
    lat, lon = (coarse_point(data.lat, data.lon) if data.confidential_location
                else (data.lat, data.lon))
    shelter = Shelter(
        name=data.name, agency_id=data.agency_id, lat=lat, lon=lon,
        location_sealed=(cipher.seal(f"{data.lat},{data.lon}", field=LOCATION_FIELD)
                         if data.confidential_location else None),
        address_sealed=cipher.seal_optional(data.street_address, field=ADDRESS_FIELD),
        city=data.city, state=data.state, county=data.county, zip_code=data.zip_code,
        timezone=data.timezone, confidential_location=data.confidential_location,
        populations_mask=populations_to_mask(data.populations),
        specialisation=data.specialisation, accessible=data.accessible, pets=data.pets,
        children_max_age=data.children_max_age, max_stay_days=data.max_stay_days,
        intake_hours=({d: [list(w) for w in spans]
                       for d, spans in data.intake_hours.windows.items()}
                      if data.intake_hours else None),
        requires_photo_id=data.requires_photo_id, requires_referral=data.requires_referral,
        requires_sobriety=data.requires_sobriety, intake_phone=data.intake_phone,
        stale_after_hours=data.stale_after_hours, max_hold_minutes=data.max_hold_minutes,
    )
    session.add(shelter)
    session.flush()
    assert shelter.id is not None
    for language in data.languages:
        session.add(ShelterLanguage(shelter_id=shelter.id, language=language))
    for bed in data.beds:
        session.add(BedInventory(shelter_id=shelter.id, bed_type=bed.bed_type, total=bed.total,
                                 occupied=bed.occupied, max_household=bed.max_household,
                                 updated_by=actor.account_id))
    audit.record(session, actor, action="shelter.create", object_type="shelter",
                 object_id=shelter.id, purpose="registry",
                 details={"state": data.state, "confidential": data.confidential_location,
                          "beds": {b.bed_type.value: b.total for b in data.beds}})
    return shelter


def _require_registrar(actor: Principal, agency_id: int) -> None:
    actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
    if not actor.administers(agency_id):
        raise Forbidden("an agency admin registers shelters only for its own agency")


def create_shelter(
    session: Session, *, actor: Principal, cipher: FieldCipher, data: ShelterCreate
) -> ShelterPublic:
    # Asked before the agency is looked up, so the answer says nothing about other agencies.
    _require_registrar(actor, data.agency_id)
    if session.get(Agency, data.agency_id) is None:
        raise InvalidInput("agency_id", f"agency {data.agency_id} does not exist")
    shelter = add_shelter(session, actor=actor, cipher=cipher, data=data)
    session.commit()
    return present(session, actor=actor, cipher=cipher, shelter=shelter)


def _get(session: Session, shelter_id: int) -> Shelter:
    shelter = session.get(Shelter, shelter_id)
    if shelter is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    return shelter


def get_shelter(
    session: Session, *, actor: Principal, cipher: FieldCipher, shelter_id: int
) -> ShelterPublic:
    shelter = _get(session, shelter_id)
    view = present(session, actor=actor, cipher=cipher, shelter=shelter)
    if view.location_visible and shelter.confidential_location:
        # Reading a safe house's address is itself worth a trace.
        audit.record(session, actor, action="shelter.read_location", object_type="shelter",
                     object_id=shelter_id, purpose="registry")
        session.commit()
    return view


@dataclass(frozen=True, slots=True)
class PublicPoint:
    """Where a shelter may be drawn for anyone: its point, or for a safe house the centre of
    its public grid cell (`cell_deg` wide), never the sealed point."""

    lat: float
    lon: float
    cell_deg: float | None


def public_points(session: Session, shelter_ids: list[int]) -> dict[int, PublicPoint]:
    """The public points of these shelters (ids not found are left out). A shared map draws
    these for every viewer, manager or not, so reading them is no read of a sealed address."""
    rows = session.exec(select(Shelter).where(col(Shelter.id).in_(sorted(set(shelter_ids)))))
    return {s.id: PublicPoint(s.lat, s.lon, CONFIDENTIAL_GRID_DEG if s.confidential_location
                              else None)
            for s in rows if s.id is not None and s.lat is not None and s.lon is not None}


def names_of(session: Session, shelter_ids: list[int]) -> dict[int, str]:
    """Shelters' names (public, as the matcher shows them); ids not found are left out."""
    if not shelter_ids:
        return {}
    rows = session.exec(select(Shelter).where(col(Shelter.id).in_(sorted(set(shelter_ids)))))
    return {s.id: s.name for s in rows if s.id is not None}


def languages_of(session: Session, shelter_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in shelter_ids}
    if not shelter_ids:
        return found
    rows = session.exec(select(ShelterLanguage).where(
        col(ShelterLanguage.shelter_id).in_(shelter_ids)).order_by(col(ShelterLanguage.language)))
    for row in rows:
        found[row.shelter_id].append(row.language)
    return found


def present(
    session: Session, *, actor: Principal, cipher: FieldCipher, shelter: Shelter,
    languages: list[str] | None = None, manager: bool | None = None,
) -> ShelterPublic:
    """The shelter as this caller may see it."""
    assert shelter.id is not None
    manager = can_manage(session, actor, shelter.id) if manager is None else manager
    visible = manager or not shelter.confidential_location
    lat: float | None = shelter.lat
    lon: float | None = shelter.lon
    if shelter.confidential_location:
        lat = lon = None
        if visible and shelter.location_sealed is not None:
            exact = cipher.open(shelter.location_sealed, field=LOCATION_FIELD)
            lat, lon = (float(part) for part in exact.split(","))
    address = (cipher.open_optional(shelter.address_sealed, field=ADDRESS_FIELD)
               if visible else None)
    if languages is None:
        languages = languages_of(session, [shelter.id])[shelter.id]
    return ShelterPublic(
        id=shelter.id, name=shelter.name, agency_id=shelter.agency_id, city=shelter.city,
        state=shelter.state, county=shelter.county if visible else None,
        zip_code=shelter.zip_code if visible else None, timezone=shelter.timezone,
        confidential_location=shelter.confidential_location, location_visible=visible,
        lat=lat, lon=lon, street_address=address,
        populations=mask_to_populations(shelter.populations_mask),
        specialisation=shelter.specialisation, languages=languages,
        accessible=shelter.accessible, pets=shelter.pets,
        children_max_age=shelter.children_max_age, max_stay_days=shelter.max_stay_days,
        intake_hours=(IntakeHours(windows={d: [(a, b) for a, b in spans]
                                           for d, spans in shelter.intake_hours.items()})
                      if shelter.intake_hours else None),
        requires_photo_id=shelter.requires_photo_id,
        requires_referral=shelter.requires_referral,
        requires_sobriety=shelter.requires_sobriety, intake_phone=shelter.intake_phone,
        stale_after_hours=shelter.stale_after_hours, max_hold_minutes=shelter.max_hold_minutes,
        version=shelter.version, updated_at=shelter.updated_at,
    )


def _bind(session: Session, actor: Principal, account: Account, shelter_ids: list[int]) -> None:
    if Role(account.role) is not Role.SHELTER_COORDINATOR:
        raise InvalidInput("account_id", "only shelter coordinators are bound to shelters")
    for shelter_id in shelter_ids:
        shelter = session.get(Shelter, shelter_id)
        if shelter is None:
            raise InvalidInput("shelter", f"shelter {shelter_id} does not exist")
        if shelter.agency_id != account.agency_id:
            raise InvalidInput("shelter", f"shelter {shelter_id} belongs to another agency")
        assert account.id is not None
        session.add(ShelterStaff(shelter_id=shelter_id, account_id=account.id))
        audit.record(session, actor, action="shelter.staff_add", object_type="shelter",
                     object_id=shelter_id, purpose="administration",
                     details={"account_id": account.id})


def create_staff_account(
    session: Session, *, actor: Principal, data: AccountCreate, shelter_ids: list[int]
) -> tuple[Account, TokenIssued]:
    """An account and its shelter bindings, in one transaction (all or nothing)."""
    account, issued = accounts.add_account(session, actor=actor, data=data)
    if shelter_ids:
        _bind(session, actor, account, shelter_ids)
    session.commit()
    return account, issued


def assign_staff(
    session: Session, *, actor: Principal, shelter_id: int, account_id: int
) -> None:
    actor.require_role(Role.AGENCY_ADMIN, Role.PLATFORM_ADMIN)
    shelter = _get(session, shelter_id)
    if not actor.administers(shelter.agency_id):
        raise NotShelterStaff(f"only admins of the agency that runs shelter {shelter_id} "
                              "may bind its coordinators")
    account = session.get(Account, account_id)
    # Another agency's account reads as missing to an agency admin, as everywhere else.
    if account is None or not actor.administers(account.agency_id):
        raise InvalidInput("account_id", f"account {account_id} does not exist")
    existing = session.get(ShelterStaff, (shelter_id, account_id))
    if existing is None:
        _bind(session, actor, account, [shelter_id])
        session.commit()


def staff_shelter_ids(session: Session, *, account_id: int) -> list[int]:
    rows = session.exec(select(ShelterStaff.shelter_id).where(
        ShelterStaff.account_id == account_id).order_by(col(ShelterStaff.shelter_id)))
    return list(rows)


def shelter_ids_of_agency(session: Session, *, agency_id: int) -> list[int]:
    rows = session.exec(select(Shelter.id).where(Shelter.agency_id == agency_id)
                        .order_by(col(Shelter.id)))
    return [int(r) for r in rows if r is not None]
