"""A Hypothesis state machine over bed inventory: every sequence keeps the invariant and agrees
with a plain Python model of the counts (hold, confirm, release, expire, admit, discharge, set
counts, open and end surge windows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text, update

from api.deps import Services
from core.clock import utcnow
from core.errors import DomainError
from core.principal import Principal
from logistics.beds import holds as hold_service
from logistics.beds import inventory as bed_service
from logistics.beds import surge as surge_service
from logistics.beds.holds import HoldLimits
from logistics.beds.models import BedCountUpdate, BedHold, HoldCreate, SurgeCreate
from logistics.shelters import service
from logistics.shelters.models import BedCountCreate, ShelterCreate
from logistics.vocabulary import BedType, Population
from tests.support import Account, AccountFactory

BED = BedType.ADULT_ANY


@dataclass
class Model:
    total: int
    occupied: int = 0
    holds: dict[int, int] = field(default_factory=dict)  # active, unexpired hold id -> beds
    surge_open: int = 0  # beds of surge windows open now

    @property
    def held(self) -> int:
        return sum(self.holds.values())

    @property
    def surge_in_force(self) -> int:
        """Open surge, or the surge beds still in use after windows ended."""
        return max(self.surge_open, self.occupied + self.held - self.total, 0)

    @property
    def available(self) -> int:
        return max(0, self.total + self.surge_open - self.occupied - self.held)


def test_inventory_state_machine(services: Services, admin: Account,
                                 make: AccountFactory) -> None:
    agency_id = make.agency("Machine Shelters")
    actor = Principal(account_id=admin.id, name=admin.name, role=admin.role,
                      agency_id=admin.agency_id)
    limits = HoldLimits(max_active_per_account=10_000)
    db = services.db

    class InventoryMachine(RuleBasedStateMachine):
        holds = Bundle("holds")

        def __init__(self) -> None:
            super().__init__()
            self.model = Model(total=0)
            self.shelter_id = 0

        @rule(total=st.integers(0, 8))
        def open_shelter(self, total: int) -> None:
            if self.shelter_id:
                return
            with db.write_session() as session:
                shelter = service.add_shelter(session, actor=actor, cipher=services.cipher,
                                              data=ShelterCreate(
                    name="machine", agency_id=agency_id, lat=38.9, lon=-77.0, city="W",
                    state="DC", populations=[Population.ADULT_WOMEN],
                    beds=[BedCountCreate(bed_type=BED, total=total)]))
                session.commit()
                assert shelter.id is not None
                self.shelter_id = shelter.id
            self.model = Model(total=total)

        @rule(target=holds, beds=st.integers(1, 3))
        def hold(self, beds: int) -> int:
            if not self.shelter_id:
                return -1
            with db.write_session() as session:
                try:
                    placed, _ = hold_service.place_hold(
                        session, actor=actor, shelter_id=self.shelter_id, limits=limits,
                        data=HoldCreate(bed_type=BED, beds=beds, case_ref="C-1"))
                except DomainError as exc:
                    assert exc.kind == "conflict" and self.model.available < beds
                    return -1
            assert self.model.available >= beds
            self.model.holds[placed.id] = beds
            return placed.id

        @rule(hold_id=consumes(holds), confirm=st.booleans())
        def close(self, hold_id: int, confirm: bool) -> None:
            if hold_id < 0:
                return
            with db.write_session() as session:
                try:
                    hold_service.close_hold(session, actor=actor, hold_id=hold_id,
                                           confirm=confirm)
                except DomainError as exc:
                    assert exc.kind == "conflict" and hold_id not in self.model.holds
                    return
            beds = self.model.holds.pop(hold_id)
            if confirm:
                self.model.occupied += beds

        @rule(hold_id=holds)
        def expire(self, hold_id: int) -> None:
            if hold_id < 0:
                return
            with db.write_session() as session:
                session.execute(update(BedHold).where(BedHold.id == hold_id)  # type: ignore[arg-type]
                                .values(expires_at=utcnow() - timedelta(seconds=1)))
                session.commit()
            self.model.holds.pop(hold_id, None)

        @rule(beds=st.integers(1, 4), admit=st.booleans())
        def move(self, beds: int, admit: bool) -> None:
            if not self.shelter_id:
                return
            with db.write_session() as session:
                try:
                    bed_service.move_beds(session, actor=actor, shelter_id=self.shelter_id,
                                          bed_type=BED, beds=beds, admit=admit)
                except DomainError as exc:
                    assert exc.kind == "conflict"
                    assert (self.model.available < beds if admit
                            else self.model.occupied < beds)
                    return
            self.model.occupied += beds if admit else -beds

        @rule(total=st.integers(0, 10), occupied=st.integers(0, 10))
        def set_counts(self, total: int, occupied: int) -> None:
            if not self.shelter_id or occupied > total:
                return
            with db.write_session() as session:
                version = bed_service.get_bed_count(session, actor=actor,
                                                    shelter_id=self.shelter_id,
                                                    bed_type=BED).version
                try:
                    bed_service.set_counts(session, actor=actor, shelter_id=self.shelter_id,
                                           bed_type=BED, expected_version=version,
                                           data=BedCountUpdate(total=total, occupied=occupied))
                except DomainError as exc:
                    assert exc.kind == "conflict"
                    assert occupied + self.model.held > total + self.model.surge_in_force
                    return
            self.model.total, self.model.occupied = total, occupied

        @rule(beds=st.integers(1, 4))
        def open_surge(self, beds: int) -> None:
            if not self.shelter_id:
                return
            now = utcnow()
            with db.write_session() as session:
                surge_service.open_surge(
                    session, actor=actor, shelter_id=self.shelter_id, bed_type=BED,
                    data=SurgeCreate(beds=beds, starts_at=now - timedelta(minutes=1),
                                     ends_at=now + timedelta(hours=10)))
            self.model.surge_open += beds

        @rule()
        def end_surges(self) -> None:
            if not self.shelter_id:
                return
            with db.write_session() as session:
                windows = surge_service.list_surge(session, actor=actor,
                                                   shelter_id=self.shelter_id)
            for window in windows:
                with db.write_session() as session:
                    surge_service.end_surge(session, actor=actor, window_id=window.id)
            self.model.surge_open = 0

        @invariant()
        def agrees_with_model(self) -> None:
            if not self.shelter_id:
                return
            with db.read_session() as session:
                count = bed_service.get_bed_count(session, actor=actor,
                                                  shelter_id=self.shelter_id, bed_type=BED)
                raw = session.execute(text(
                    "SELECT total, occupied, held, surge FROM bed_inventory WHERE shelter_id = :s"
                ), {"s": self.shelter_id}).one()
            assert (count.total, count.occupied, count.held, count.available, count.surge) == (
                self.model.total, self.model.occupied, self.model.held, self.model.available,
                self.model.surge_open)
            assert 0 <= raw.occupied + raw.held <= raw.total + raw.surge

    run_state_machine_as_test(InventoryMachine, settings=settings(
        max_examples=30, stateful_step_count=25, deadline=None))
