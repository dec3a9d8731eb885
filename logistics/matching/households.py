"""Cases as matcher input: a stored or inline case becomes a `solvers.matching.Household`.

A stored case is read through `case_service.load_case_data` (purpose `matching`, audited in the
caller's transaction). A location given only as a city is placed at the centre of the shelters
listed there; exclusions naming unknown shelters and anything the solver refuses become a 422
naming the field under the caller's prefix (`case.`, `cases[2].`, `case_ids[0].`).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session, col

from core.crypto import FieldCipher
from core.errors import InvalidInput
from core.principal import Principal
from logistics.cases import service as case_service
from logistics.matching.models import MatchCase
from logistics.shelters.models import Shelter
from solvers.errors import SolverInputError
from solvers.matching import ExclusionCircle, ExclusionZones, Household, Member


def stored_case(session: Session, *, actor: Principal, cipher: FieldCipher,
                case_id: int) -> MatchCase:
    """A stored case as a match input; the read is audited in the caller's transaction."""
    data = case_service.load_case_data(session, actor=actor, cipher=cipher, case_id=case_id,
                                       purpose="matching")
    public = data.public().model_dump(mode="json", include=set(MatchCase.model_fields))
    return MatchCase.model_validate(public)


def _point(session: Session, case: MatchCase, prefix: str) -> tuple[float, float]:
    loc = case.location
    if loc.lat is not None and loc.lon is not None:
        return loc.lat, loc.lon
    # A city without a point is matched from the centre of the shelters listed in it.
    lat, lon = session.execute(
        select(func.avg(col(Shelter.lat)), func.avg(col(Shelter.lon))).where(
            func.lower(col(Shelter.city)) == (loc.city or "").strip().lower(),
            col(Shelter.state) == loc.state)).one()
    if lat is None:
        raise InvalidInput(f"{prefix}location",
                           "no known point for this city; give lat and lon")
    return float(lat), float(lon)


def check_shelter_ids(session: Session, case: MatchCase, prefix: str) -> None:
    wanted = set(case.exclusions.shelter_ids)
    if not wanted:
        return
    ids = select(col(Shelter.id)).where(col(Shelter.id).in_(wanted))
    found = set(session.execute(ids).scalars())
    for i, sid in enumerate(case.exclusions.shelter_ids):
        if sid not in found:
            raise InvalidInput(f"{prefix}exclusions.shelter_ids[{i}]",
                               f"unknown shelter {sid}")


def to_household(session: Session, case: MatchCase, prefix: str = "case.") -> Household:
    """The solver's view of a case; bad input is a 422 naming the field under `prefix`."""
    check_shelter_ids(session, case, prefix)
    lat, lon = _point(session, case, prefix)
    ex = case.exclusions
    try:
        return Household(
            case_ref=case.case_ref,
            members=tuple(Member(m.age, m.gender.value) for m in case.household),
            lat=lat, lon=lon, urgency=case.urgency, max_travel_km=case.max_travel_km,
            languages=tuple(case.languages), needs=frozenset(n.value for n in case.needs),
            trafficking_type=case.trafficking_type.value,
            exclusions=ExclusionZones(
                points=tuple(ExclusionCircle(p.lat, p.lon, round(p.radius_km * 1000))
                             for p in ex.points),
                cities=tuple(ex.cities), states=tuple(ex.states),
                shelter_ids=tuple(str(i) for i in ex.shelter_ids)),
            has_photo_id=case.has_photo_id,
            # A placement made through the hotline is itself a referral.
            has_referral=True)
    except SolverInputError as exc:
        raise solver_input(exc, prefix) from exc


def solver_input(exc: SolverInputError, prefix: str) -> InvalidInput:
    field = {"members": "household"}.get(exc.field, exc.field.replace("members[", "household["))
    return InvalidInput(f"{prefix}{field}", exc.message)
