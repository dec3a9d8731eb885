"""Use cases of interoperability: HSDS import and export, and the HIC-style inventory CSV.

An import is all or nothing: every service of the dataset is validated first
(`logistics.interop.hsds`
raises one error naming every bad field), then agencies and shelters are staged through
`logistics.shelters.service.add_shelter` and committed once, with one audit row for the import
beside
the per-shelter rows. Exports never decrypt a confidential shelter's address or exact point.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from core import audit
from core.clock import utcnow
from core.crypto import FieldCipher
from core.errors import Conflict
from core.models import Agency, AgencyKind
from core.principal import Principal
from logistics.beds.inventory import lapsed_holds_subquery
from logistics.interop import hsds
from logistics.interop.hic import HicShelter, render_csv
from logistics.shelters.models import BedInventory, Shelter
from logistics.shelters.service import ADDRESS_FIELD, add_shelter, languages_of
from logistics.vocabulary import BedType, Specialisation, mask_to_populations


class ImportedRef(SQLModel):
    path: str
    hsds_id: str
    shelter_id: int | None


class FieldNote(SQLModel):
    field: str
    message: str


class ImportReport(SQLModel):
    """What an import did (or, for a dry run, would do)."""

    dry_run: bool
    created: int
    agencies_created: int
    shelters: list[ImportedRef]
    skipped: list[FieldNote]
    warnings: list[FieldNote]


def _existing_agencies(session: Session, names: set[str]) -> dict[str, int]:
    rows = session.exec(select(Agency).where(col(Agency.name).in_(sorted(names)))).all()
    return {a.name: a.id for a in rows if a.id is not None}


def _already_registered(session: Session, agency_id: int, item: hsds.ImportedShelter) -> bool:
    # Without stored HSDS ids, the same name in the same agency, city and state is a repeat.
    found = session.exec(select(Shelter.id).where(
        Shelter.agency_id == agency_id, Shelter.name == item.data.name,
        Shelter.city == item.data.city, Shelter.state == item.data.state)).first()
    return found is not None


def import_hsds(session: Session, *, actor: Principal, cipher: FieldCipher, document: Any,
                dry_run: bool = False) -> ImportReport:
    """Create the dataset's agencies and shelters in one transaction, or nothing at all."""
    actor.require_platform_admin()
    parsed = hsds.parse_dataset(document)
    skipped = [FieldNote(**s) for s in parsed.skipped]
    names = {item.organization_name for item in parsed.shelters}
    agencies = _existing_agencies(session, names)
    missing = sorted(names - agencies.keys())
    refs: list[ImportedRef] = []
    if dry_run:
        refs = [ImportedRef(path=i.path, hsds_id=i.hsds_id, shelter_id=None)
                for i in parsed.shelters]
        return ImportReport(dry_run=True, created=len(refs), agencies_created=len(missing),
                            shelters=refs, skipped=skipped,
                            warnings=[FieldNote(**w) for w in parsed.warnings])
    for name in missing:
        agency = Agency(name=name, kind=AgencyKind.SHELTER_ORGANISATION)
        session.add(agency)
        try:
            session.flush()
        except IntegrityError as exc:
            session.rollback()
            raise Conflict("an agency of this dataset was created meanwhile; retry") from exc
        assert agency.id is not None
        agencies[name] = agency.id
        audit.record(session, actor, action="agency.create", object_type="agency",
                     object_id=agency.id, purpose="interop",
                     details={"kind": AgencyKind.SHELTER_ORGANISATION.value, "source": "hsds"})
    for item in parsed.shelters:
        agency_id = agencies[item.organization_name]
        if _already_registered(session, agency_id, item):
            skipped.append(FieldNote(field=item.path, message="already registered: a shelter "
                                     "of this name, agency, city and state exists"))
            continue
        data = item.data.model_copy(update={"agency_id": agency_id})
        shelter = add_shelter(session, actor=actor, cipher=cipher, data=data)
        refs.append(ImportedRef(path=item.path, hsds_id=item.hsds_id, shelter_id=shelter.id))
    audit.record(session, actor, action="interop.hsds_import", object_type="dataset",
                 object_id="hsds", purpose="interop",
                 details={"shelters": len(refs), "agencies_created": len(missing),
                          "skipped": len(skipped), "warnings": len(parsed.warnings)})
    session.commit()
    return ImportReport(dry_run=False, created=len(refs), agencies_created=len(missing),
                        shelters=refs, skipped=skipped,
                        warnings=[FieldNote(**w) for w in parsed.warnings])


def _inventories(session: Session, shelter_ids: list[int],
                 now: datetime) -> dict[int, list[tuple[BedInventory, int]]]:
    found: dict[int, list[tuple[BedInventory, int]]] = {i: [] for i in shelter_ids}
    if not shelter_ids:
        return found
    rows = session.exec(
        select(BedInventory, lapsed_holds_subquery(now))
        .where(col(BedInventory.shelter_id).in_(shelter_ids))
        .order_by(col(BedInventory.shelter_id), col(BedInventory.bed_type))).all()
    for inv, lapsed in rows:
        found[inv.shelter_id].append((inv, int(lapsed)))
    return found


def _agency_names(session: Session, agency_ids: set[int]) -> dict[int, str]:
    rows = session.exec(select(Agency).where(col(Agency.id).in_(sorted(agency_ids)))).all()
    return {a.id: a.name for a in rows if a.id is not None}


def _shelter_out(shelter: Shelter, agency: str, languages: list[str],
                 inventories: list[tuple[BedInventory, int]],
                 cipher: FieldCipher) -> hsds.ExportedShelter:
    assert shelter.id is not None
    open_place = not shelter.confidential_location
    return hsds.ExportedShelter(
        id=shelter.id, name=shelter.name, agency_id=shelter.agency_id, agency_name=agency,
        confidential=shelter.confidential_location,
        # A safe house's sealed point and address are never opened for an export.
        lat=shelter.lat if open_place else None, lon=shelter.lon if open_place else None,
        street_address=(cipher.open_optional(shelter.address_sealed, field=ADDRESS_FIELD)
                        if open_place else None),
        city=shelter.city, state=shelter.state,
        county=shelter.county if open_place else None,
        zip_code=shelter.zip_code if open_place else None, timezone=shelter.timezone,
        populations=mask_to_populations(shelter.populations_mask),
        specialisation=Specialisation(shelter.specialisation).value, languages=languages,
        accessible=shelter.accessible, pets=shelter.pets,
        children_max_age=shelter.children_max_age, max_stay_days=shelter.max_stay_days,
        intake_hours=shelter.intake_hours, requires_photo_id=shelter.requires_photo_id,
        requires_referral=shelter.requires_referral,
        requires_sobriety=shelter.requires_sobriety, intake_phone=shelter.intake_phone,
        capacities=[hsds.ExportedCapacity(
            bed_type=BedType(inv.bed_type), total=inv.total,
            available=inv.total - inv.occupied - (inv.held - lapsed),
            max_household=inv.max_household, updated_at=inv.updated_at)
            for inv, lapsed in inventories],
    )


def export_hsds(session: Session, *, actor: Principal, cipher: FieldCipher, page: int = 1,
                per_page: int = 50, now: datetime | None = None) -> dict[str, Any]:
    """One page of the registry as HSDS 3.0 services, in the HSDA list envelope."""
    now = now or utcnow()
    total = int(session.exec(select(func.count()).select_from(Shelter)).one())
    shelters = session.exec(select(Shelter).order_by(col(Shelter.id))
                            .offset((page - 1) * per_page).limit(per_page)).all()
    ids = [s.id for s in shelters if s.id is not None]
    languages = languages_of(session, ids)
    inventories = _inventories(session, ids, now)
    agencies = _agency_names(session, {s.agency_id for s in shelters})
    contents = [hsds.shelter_to_hsds(_shelter_out(
        s, agencies.get(s.agency_id, ""), languages[s.id], inventories[s.id], cipher))
        for s in shelters if s.id is not None]
    return hsds.page_envelope(contents, total=total, page=page, per_page=per_page)


def export_hic_csv(session: Session, *, actor: Principal) -> str:
    """The HIC-style inventory CSV: open shelters listed, confidential ones only summed."""
    shelters = session.exec(select(Shelter).order_by(col(Shelter.id))).all()
    agencies = _agency_names(session, {s.agency_id for s in shelters})
    beds: dict[int, dict[BedType, tuple[int, int]]] = {}
    for inv in session.exec(select(BedInventory)).all():
        beds.setdefault(inv.shelter_id, {})[BedType(inv.bed_type)] = (inv.total, inv.occupied)
    return render_csv(HicShelter(
        state=s.state, organization=agencies.get(s.agency_id, ""), name=s.name,
        confidential=s.confidential_location, beds=beds.get(s.id or 0, {}))
        for s in shelters)
