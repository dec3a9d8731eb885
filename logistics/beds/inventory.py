"""Use cases of bed inventory (counts, admit, discharge, check-in), safe under concurrency.

Every write to an inventory follows one protocol: take the inventory row's lock with SELECT
... FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), tidy that
inventory's lapsed holds, then change counts with one conditional UPDATE whose WHERE clause
carries the invariant. The CHECK constraint `occupied + held <= total` is the backstop. Because
every path locks the inventory row first (a hold then its account's row, which nothing else
locks), no two paths can deadlock. Reads ignore lapsed holds at once, so an expired hold stops
counting before any sweeper runs. Holds follow the same protocol in `hold_service`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.principal import Principal
from logistics.beds import hold_sql as sql
from logistics.beds.models import (
    BedCountPublic,
    BedCountUpdate,
    BedHold,
    SurgeWindow,
)
from logistics.errors import (
    InsufficientCapacity,
    ShelterNotFound,
    StaleCounts,
)
from logistics.shelters.models import BedInventory, Shelter
from logistics.shelters.visibility import require_manager
from logistics.vocabulary import BedType


def find_shelter(session: Session, shelter_id: int) -> Shelter:
    shelter = session.get(Shelter, shelter_id)
    if shelter is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    return shelter


def _inventory(session: Session, shelter_id: int, bed_type: BedType) -> BedInventory | None:
    return session.exec(select(BedInventory).where(
        BedInventory.shelter_id == shelter_id, BedInventory.bed_type == bed_type)).first()


def lock_and_expire(session: Session, inventory_id: int, now: datetime, *,
                     locked: bool = False) -> int:
    """Lock the inventory row (unless `locked` already), mark its lapsed holds expired; the
    beds they held."""
    params = {"inventory": inventory_id, "at": now}
    session.flush()  # pending ORM changes first, as Session.execute would; then plain Core
    conn = session.connection()
    if not locked and conn.dialect.name == "postgresql":
        # SQLite needs no row lock: a write transaction's BEGIN IMMEDIATE already serialises.
        conn.execute(sql.LOCK_INVENTORY, params)
    return int(sum(conn.execute(sql.EXPIRE_LAPSED, params).scalars().all()))


def lock_and_tidy(session: Session, inventory_id: int, now: datetime) -> BedInventory:
    """Lock the inventory row, expire its lapsed holds, and return the fresh row."""
    lapsed = lock_and_expire(session, inventory_id, now)
    if lapsed:
        session.execute(update(BedInventory).where(col(BedInventory.id) == inventory_id)
                        .values(held=BedInventory.held - lapsed))
    row: BedInventory = session.execute(
        select(BedInventory).where(col(BedInventory.id) == inventory_id)
        .execution_options(populate_existing=True)).scalar_one()
    # Surge beds count while their window is open, and afterwards for as long as people still
    # use them: nobody is put out when a white-flag night ends, but nobody new is placed.
    active = int(session.connection().execute(
        select(sql.OPEN_SURGE), {"inventory": inventory_id, "at": now}).scalar_one())
    surge = max(active, row.occupied + row.held - row.total, 0)
    if surge != row.surge:
        session.execute(update(BedInventory).where(col(BedInventory.id) == inventory_id)
                        .values(surge=surge))
        session.refresh(row)
    return row


def active_surge_subquery(now: datetime) -> Any:
    """Surge beds whose window is open at `now`, per inventory row (correlated)."""
    return (select(func.coalesce(func.sum(SurgeWindow.beds), 0))
            .where(col(SurgeWindow.inventory_id) == col(BedInventory.id),
                   col(SurgeWindow.starts_at) <= now, col(SurgeWindow.ends_at) > now)
            .scalar_subquery())


def available_expression(now: datetime) -> Any:
    """Beds free now, as SQL over a bed_inventory row: lapsed holds and open surge counted."""
    return (col(BedInventory.total) + active_surge_subquery(now) - col(BedInventory.occupied)
            - (col(BedInventory.held) - lapsed_holds_subquery(now)))


_CAPACITY = col(BedInventory.total) + col(BedInventory.surge)


def _counts(inv: BedInventory) -> dict[str, int]:
    return {"total": inv.total, "occupied": inv.occupied, "held": inv.held, "surge": inv.surge}


def count_view(inv: BedInventory, shelter: Shelter, lapsed: int, now: datetime,
               surge: int | None = None) -> BedCountPublic:
    """The counts as read now; `surge` is the open surge beds (default: the row's own)."""
    held = inv.held - lapsed
    surge = inv.surge if surge is None else surge
    age = max(0, int((now - inv.updated_at).total_seconds() // 60))
    return BedCountPublic(
        bed_type=BedType(inv.bed_type), total=inv.total, occupied=inv.occupied, held=held,
        available=max(0, inv.total + surge - inv.occupied - held), surge=surge,
        max_household=inv.max_household,
        version=inv.version, updated_at=inv.updated_at, updated_by=inv.updated_by,
        age_minutes=age, stale=age > shelter.stale_after_hours * 60,
    )


def lapsed_holds_subquery(now: datetime) -> Any:
    """Beds of holds that have lapsed but are not yet tidied, per inventory row."""
    return (select(func.coalesce(func.sum(BedHold.beds), 0))
            .where(col(BedHold.inventory_id) == col(BedInventory.id),
                   col(BedHold.status) == "active", col(BedHold.expires_at) <= now)
            .scalar_subquery())


def list_beds(session: Session, *, actor: Principal, shelter_id: int,
              now: datetime | None = None) -> list[BedCountPublic]:
    now = now or utcnow()
    shelter = find_shelter(session, shelter_id)
    rows = session.exec(
        select(BedInventory, lapsed_holds_subquery(now), active_surge_subquery(now))
        .where(BedInventory.shelter_id == shelter_id).order_by(col(BedInventory.bed_type))
    ).all()
    return [count_view(inv, shelter, int(lapsed), now, int(surge))
            for inv, lapsed, surge in rows]


def _managed_inventory(session: Session, actor: Principal, shelter_id: int, bed_type: BedType,
                       now: datetime) -> tuple[Shelter, BedInventory]:
    """The shelter and its locked, tidied inventory of one bed type, for its managers only."""
    shelter = find_shelter(session, shelter_id)
    require_manager(session, actor, shelter_id)
    found = _inventory(session, shelter_id, bed_type)
    if found is None or found.id is None:
        raise ShelterNotFound(f"shelter {shelter_id} has no {bed_type.value} beds")
    return shelter, lock_and_tidy(session, found.id, now)


def get_bed_count(session: Session, *, actor: Principal, shelter_id: int,
                  bed_type: BedType) -> BedCountPublic:
    for count in list_beds(session, actor=actor, shelter_id=shelter_id):
        if count.bed_type is bed_type:
            return count
    raise ShelterNotFound(f"shelter {shelter_id} has no {bed_type.value} beds")


def set_counts(session: Session, *, actor: Principal, shelter_id: int, bed_type: BedType,
               expected_version: int, data: BedCountUpdate) -> BedCountPublic:
    """Set total and occupied, guarded by the version the coordinator read (If-Match)."""
    shelter = find_shelter(session, shelter_id)
    require_manager(session, actor, shelter_id)
    now = utcnow()
    inv = _inventory(session, shelter_id, bed_type)
    if inv is None:
        if expected_version != 0:
            raise StaleCounts(f"shelter {shelter_id} has no {bed_type.value} beds yet; "
                              'create them with If-Match: "0"')
        inv = BedInventory(shelter_id=shelter_id, bed_type=bed_type, total=data.total,
                           occupied=data.occupied, max_household=data.max_household,
                           updated_by=actor.account_id, updated_at=now)
        session.add(inv)
        _flush_or_conflict(session, "these beds were created meanwhile; read them again")
        before: dict[str, int] = {}
    else:
        assert inv.id is not None
        inv = lock_and_tidy(session, inv.id, now)
        before = _counts(inv)
        result = session.execute(
            update(BedInventory)
            .where(col(BedInventory.id) == inv.id, col(BedInventory.version) == expected_version,
                   col(BedInventory.held) + data.occupied <= data.total + col(BedInventory.surge))
            .values(total=data.total, occupied=data.occupied, max_household=data.max_household,
                    version=BedInventory.version + 1, updated_at=now,
                    updated_by=actor.account_id))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            current_version, held = inv.version, inv.held
            session.rollback()
            if current_version != expected_version:
                raise StaleCounts(f"bed counts are at version {current_version}, "
                                  f"not {expected_version}; read them again")
            raise InsufficientCapacity(
                f"{held} beds are held: total must be at least occupied + held",
                extra={"held": held})
        session.refresh(inv)
    audit.record(session, actor, action="beds.set", object_type="bed_inventory",
                 object_id=inv.id, purpose="bed counts",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value,
                          "before": before, "after": _counts(inv)})
    session.commit()
    return count_view(inv, shelter, 0, now)


def move_beds(session: Session, *, actor: Principal, shelter_id: int, bed_type: BedType,
              beds: int, admit: bool) -> BedCountPublic:
    """Admit (occupy free beds) or discharge (free occupied beds), atomically."""
    now = utcnow()
    shelter, inv = _managed_inventory(session, actor, shelter_id, bed_type, now)
    before = _counts(inv)
    free = _CAPACITY - col(BedInventory.occupied) - col(BedInventory.held)
    guard = free >= beds if admit else col(BedInventory.occupied) >= beds
    result = session.execute(
        update(BedInventory).where(col(BedInventory.id) == inv.id, guard)
        .values(occupied=BedInventory.occupied + (beds if admit else -beds),
                version=BedInventory.version + 1, updated_at=now, updated_by=actor.account_id))
    if result.rowcount != 1:  # type: ignore[attr-defined]
        available, occupied = inv.total + inv.surge - inv.occupied - inv.held, inv.occupied
        session.rollback()
        if admit:
            raise InsufficientCapacity(f"only {available} {bed_type.value} beds are available",
                                       extra={"available": available})
        raise InsufficientCapacity(f"only {occupied} {bed_type.value} beds are occupied",
                                   extra={"occupied": occupied})
    session.refresh(inv)
    audit.record(session, actor, action="beds.admit" if admit else "beds.discharge",
                 object_type="bed_inventory", object_id=inv.id, purpose="bed counts",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value, "beds": beds,
                          "before": before, "after": _counts(inv)})
    session.commit()
    return count_view(inv, shelter, 0, now)


def verify_counts(session: Session, *, actor: Principal, shelter_id: int,
                  bed_type: BedType) -> BedCountPublic:
    """A "still accurate" check-in: refresh the counts' age without changing them."""
    now = utcnow()
    shelter, inv = _managed_inventory(session, actor, shelter_id, bed_type, now)
    session.execute(update(BedInventory).where(col(BedInventory.id) == inv.id)
                    .values(updated_at=now, updated_by=actor.account_id))
    audit.record(session, actor, action="beds.verify", object_type="bed_inventory",
                 object_id=inv.id, purpose="bed counts",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value,
                          "counts": _counts(inv)})
    session.refresh(inv)
    view = count_view(inv, shelter, 0, now)
    session.commit()
    return view


def _flush_or_conflict(session: Session, message: str) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise StaleCounts(message) from exc
