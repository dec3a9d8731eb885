"""Loading the `small` national fixture into the registry: agencies, sealed safe houses, counts.

The national scale is never loaded here (see `docs/fixtures.md` for its measured load time);
`small` goes through the same loader and use cases, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlmodel import col, func, select

from api.deps import Services
from core.models import Agency, AgencyKind, AuditEntry, Role
from core.principal import Principal
from fixtures.loader import LoadReport, load, load_demo
from fixtures.national import generate
from fixtures.scale import Scale
from logistics.shelters import service as shelters
from logistics.shelters.models import BedInventory, Shelter

ADVOCATE = Principal(account_id=None, name="advocate", role=Role.ADVOCATE, agency_id=None)


@pytest.fixture
def report(services: Services) -> LoadReport:
    with services.db.write_session() as session:
        return load(session, cipher=services.cipher, scale="small", seed=0)


def test_small_loads_fifty_shelters_with_their_beds(services: Services,
                                                    report: LoadReport) -> None:
    specs = generate(Scale.SMALL, seed=0)
    assert (report.shelters_created, report.shelters_skipped) == (50, 0)
    assert report.beds == sum(s.hud_beds for s in specs)
    assert "50 shelters created" in report.summary()
    with services.db.read_session() as session:
        assert session.exec(select(func.count()).select_from(Shelter)).one() == 50
        total = session.exec(select(func.sum(BedInventory.total))).one()
        assert total == sum(b.total for s in specs for b in s.beds)
        audits = session.exec(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "shelter.create")).one()
        assert audits == 50
        agencies = session.exec(select(Agency).where(
            col(Agency.name).in_({s.organisation for s in specs}))).all()
        assert len(agencies) == report.agencies_created == len({s.organisation for s in specs})
        assert {a.kind for a in agencies} == {AgencyKind.SHELTER_ORGANISATION}


def test_safe_houses_show_only_their_city(services: Services, report: LoadReport) -> None:
    with services.db.read_session() as session:
        safe = session.exec(select(Shelter).where(col(Shelter.confidential_location))).all()
        assert safe, "the small scale should hold at least one DV shelter"
        for row in safe:
            view = shelters.present(session, actor=ADVOCATE, cipher=services.cipher, shelter=row)
            assert (view.lat, view.lon, view.street_address, view.zip_code) == (
                None, None, None, None)
            assert view.city and view.state


def test_loading_again_adds_nothing_and_dc_loads_beside_it(services: Services,
                                                            report: LoadReport) -> None:
    with services.db.write_session() as session:
        again = load(session, cipher=services.cipher, scale=Scale.SMALL, seed=0)
        assert (again.shelters_created, again.shelters_skipped, again.agencies_created) == (
            0, 50, 0)
        before = session.exec(select(func.count()).select_from(Shelter)).one()
        dc, small, *states = load_demo(session, cipher=services.cipher)
        assert (dc.shelters_created, small.shelters_created) == (18, 0)
        added = sum(state.shelters_created for state in states)
        assert [state.shelters_created > 0 for state in states] == [True, True]
        assert before == 50
        assert session.exec(select(func.count()).select_from(Shelter)).one() == 68 + added
        assert [r.shelters_created for r in load_demo(session, cipher=services.cipher)] == [
            0, 0, 0, 0]
