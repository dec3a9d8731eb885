"""The 18 real DC shelters load as their own test set and answer the issue's two questions.

Loaded through `fixtures.loader.load_dc` into the test database, then read back through the
registry's use cases (`logistics.shelters.service.present`, `logistics.beds.inventory.list_beds`)
as an
advocate would see them; eligibility is the plain rule (population served, a free bed of a
fitting type) and ranking is great-circle distance from Union Station.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlmodel import Session, col, select

from api.deps import Services
from core.models import Role
from core.principal import SYSTEM, Principal
from fixtures.dc import UNION_STATION, dc_shelters
from fixtures.loader import load_dc
from logistics.beds import inventory as bed_service
from logistics.shelters import service as shelters
from logistics.shelters.models import Shelter, ShelterPublic
from logistics.vocabulary import BedType, Population
from solvers.geo import haversine_m

ADVOCATE = Principal(account_id=None, name="advocate", role=Role.ADVOCATE, agency_id=None)
WOMEN_AND_MIXED = ["Center for Creative Non-Violence (CCNV)", "Pat Handy Shelter for Women",
                   "New Endeavors by Women", "Harriet Tubman Shelter & Day Center",
                   "Nativity Shelter for Women"]


@dataclass(frozen=True)
class Seen:
    shelter: ShelterPublic
    free: dict[BedType, int]
    distance_m: int


def _seen_from_union_station(services: Services) -> list[Seen]:
    with services.db.read_session() as session:
        rows = session.exec(select(Shelter).order_by(col(Shelter.id))).all()
        out = []
        for row in rows:
            view = shelters.present(session, actor=ADVOCATE, cipher=services.cipher, shelter=row)
            assert view.lat is not None and view.lon is not None
            beds = bed_service.list_beds(session, actor=ADVOCATE, shelter_id=view.id)
            out.append(Seen(view, {b.bed_type: b.available for b in beds},
                            haversine_m(*UNION_STATION, view.lat, view.lon)))
    return out


def _eligible(seen: list[Seen], population: Population, bed_types: set[BedType]) -> list[Seen]:
    found = [s for s in seen if population in s.shelter.populations
             and any(s.free.get(t, 0) > 0 for t in bed_types)]
    return sorted(found, key=lambda s: (s.distance_m, s.shelter.id))


@pytest.fixture
def seen(services: Services) -> list[Seen]:
    with services.db.write_session() as session:
        report = load_dc(session, cipher=services.cipher)
    assert report.shelters_created == 18
    return _seen_from_union_station(services)


def test_all_eighteen_load_with_their_real_beds(seen: list[Seen]) -> None:
    assert len(seen) == 18
    assert sum(spec.hud_beds for spec in dc_shelters()) == 2620
    by_name = {s.shelter.name: s for s in seen}
    ccnv = by_name["Center for Creative Non-Violence (CCNV)"]
    assert (ccnv.shelter.city, ccnv.shelter.state, ccnv.shelter.zip_code) == (
        "Washington", "DC", "20001")
    assert ccnv.shelter.street_address == "425 2nd St, NW"
    assert not any(s.shelter.confidential_location for s in seen)
    # Every shelter keeps at least one bed free, so availability searches see all of them.
    assert all(sum(s.free.values()) >= 1 for s in seen)


def test_a_16_year_old_near_union_station_sees_only_the_youth_shelter(seen: list[Seen]) -> None:
    found = _eligible(seen, Population.YOUTH_12_17, {BedType.YOUTH})
    assert [s.shelter.name for s in found] == ["Sasha Bruce Youthworks"]
    assert found[0].distance_m < 1_500  # 1022 Maryland Ave NE, a short walk away


def test_a_30_year_old_woman_sees_womens_and_mixed_shelters_by_distance(
    seen: list[Seen],
) -> None:
    found = _eligible(seen, Population.ADULT_WOMEN, {BedType.ADULT_FEMALE, BedType.ADULT_ANY})
    assert [s.shelter.name for s in found] == WOMEN_AND_MIXED
    distances = [s.distance_m for s in found]
    assert distances == sorted(distances)
    # No men's-only or youth shelter slips in, and the 18-24 programmes are not for her.
    assert all(Population.ADULT_MEN not in s.shelter.populations
               or Population.ADULT_WOMEN in s.shelter.populations for s in found)


def test_a_man_does_not_see_womens_shelters(seen: list[Seen]) -> None:
    found = _eligible(seen, Population.ADULT_MEN, {BedType.ADULT_MALE, BedType.ADULT_ANY})
    names = {s.shelter.name for s in found}
    assert "Center for Creative Non-Violence (CCNV)" in names
    assert not names & {"Pat Handy Shelter for Women", "Harriet Tubman Shelter & Day Center"}
    assert len(found) == 11


def test_loading_twice_adds_nothing(services: Services, seen: list[Seen]) -> None:
    with services.db.write_session() as session:
        again = load_dc(session, cipher=services.cipher)
        assert (again.shelters_created, again.shelters_skipped) == (0, 18)
        assert len(session.exec(select(Shelter)).all()) == 18


def test_addresses_are_sealed_at_rest(services: Services, seen: list[Seen]) -> None:
    with Session(services.db.engine) as session:
        row = session.exec(select(Shelter).where(Shelter.name == "Casa Ruby")).one()
        assert row.address_sealed is not None
        assert b"Georgia" not in row.address_sealed
        view = shelters.present(session, actor=SYSTEM, cipher=services.cipher, shelter=row)
        assert view.street_address == "2822 Georgia Ave NW"
        assert view.populations == [Population.YOUNG_ADULTS_18_24]
