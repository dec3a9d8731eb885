"""Use cases of bed inventory and holds, safe under any number of concurrent writers.

Every write to an inventory follows one protocol: take the inventory row's lock with SELECT
... FOR UPDATE (PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers), tidy that
inventory's lapsed holds, then change counts with one conditional UPDATE whose WHERE clause
carries the invariant. The CHECK constraint `occupied + held <= total` is the backstop. Because
every path locks the inventory row first (a hold then its account's row, which nothing else
locks), no two paths can deadlock. Reads ignore lapsed holds at once, so an expired hold stops
counting before any sweeper runs. Holds, the busiest writes, run prebuilt statements
(logistics/hold_sql.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.models import Role
from core.principal import Principal
from logistics import hold_sql as sql
from logistics import idempotency
from logistics.bed_models import (
    BedCountPublic,
    BedCountUpdate,
    BedHold,
    HoldCreate,
    HoldPublic,
    HoldStatus,
    SurgeWindow,
)
from logistics.errors import (
    HoldNotActive,
    HoldNotFound,
    InsufficientCapacity,
    InvalidLogistics,
    NotShelterStaff,
    ShelterNotFound,
    StaleCounts,
    TooManyHolds,
)
from logistics.models import BedInventory, Shelter
from logistics.visibility import can_manage, is_staff, require_manager
from logistics.vocabulary import BedType


@dataclass(frozen=True)
class HoldLimits:
    max_active_per_account: int = 10


def _shelter(session: Session, shelter_id: int) -> Shelter:
    shelter = session.get(Shelter, shelter_id)
    if shelter is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    return shelter


def _inventory(session: Session, shelter_id: int, bed_type: BedType) -> BedInventory | None:
    return session.exec(select(BedInventory).where(
        BedInventory.shelter_id == shelter_id, BedInventory.bed_type == bed_type)).first()


def _lock_and_expire(session: Session, inventory_id: int, now: datetime, *,
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
    lapsed = _lock_and_expire(session, inventory_id, now)
    if lapsed:
        session.execute(update(BedInventory).where(col(BedInventory.id) == inventory_id)
                        .values(held=BedInventory.held - lapsed))
    row: BedInventory = session.execute(
        select(BedInventory).where(col(BedInventory.id) == inventory_id)
        .execution_options(populate_existing=True)).scalar_one()
    # Surge beds count while their window is open, and afterwards for as long as people still
    # use them: nobody is put out when a white-flag night ends, but nobody new is placed.
    active = int(session.execute(select(active_surge_subquery(now, inventory_id))).scalar_one())
    surge = max(active, row.occupied + row.held - row.total, 0)
    if surge != row.surge:
        session.execute(update(BedInventory).where(col(BedInventory.id) == inventory_id)
                        .values(surge=surge))
        session.refresh(row)
    return row


def active_surge_subquery(now: datetime, inventory_id: int | None = None) -> Any:
    """Surge beds whose window is open at `now`, per inventory row (or for one row)."""
    target = col(BedInventory.id) if inventory_id is None else inventory_id
    return (select(func.coalesce(func.sum(SurgeWindow.beds), 0))
            .where(col(SurgeWindow.inventory_id) == target, col(SurgeWindow.starts_at) <= now,
                   col(SurgeWindow.ends_at) > now)
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
    shelter = _shelter(session, shelter_id)
    rows = session.exec(
        select(BedInventory, lapsed_holds_subquery(now), active_surge_subquery(now))
        .where(BedInventory.shelter_id == shelter_id).order_by(col(BedInventory.bed_type))
    ).all()
    return [count_view(inv, shelter, int(lapsed), now, int(surge))
            for inv, lapsed, surge in rows]


def _managed_inventory(session: Session, actor: Principal, shelter_id: int, bed_type: BedType,
                       now: datetime) -> tuple[Shelter, BedInventory]:
    """The shelter and its locked, tidied inventory of one bed type, for its managers only."""
    shelter = _shelter(session, shelter_id)
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
    shelter = _shelter(session, shelter_id)
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


def hold_public(hold: BedHold) -> HoldPublic:
    return HoldPublic.model_validate(hold, from_attributes=True)


@dataclass(frozen=True)
class _HoldTarget:
    state: str
    max_hold_minutes: int
    inventory_id: int | None


def _hold_target(session: Session, shelter_id: int, bed_type: BedType,
                 account_id: int | None = None) -> _HoldTarget:
    """What a hold needs to know of a shelter and its inventory of one bed type, in one read
    that also locks the inventory row and, given one, the account's (PostgreSQL)."""
    params = {"shelter": shelter_id, "kind": bed_type.value, "account": account_id}
    statement = sql.TARGET if account_id is None else sql.TARGET_FOR_ACCOUNT
    row = session.connection().execute(statement, params).first()
    if row is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    return _HoldTarget(state=row[0], max_hold_minutes=row[1], inventory_id=row[2])


def stage_hold(session: Session, *, actor: Principal, shelter_id: int, bed_type: BedType,
               beds: int, case_ref: str, ttl_minutes: int, now: datetime) -> HoldPublic | None:
    """Add a hold to the caller's transaction without committing; None when capacity is gone.

    Same protocol as every inventory write (lock, tidy, one conditional UPDATE), so several
    holds staged in one transaction commit or roll back together. The caller checks roles,
    the shelter's hold limit and the account cap, and commits or rolls back.
    """
    inventory_id = _hold_target(session, shelter_id, bed_type).inventory_id
    staged = _stage(session, actor=actor, inventory_id=inventory_id, shelter_id=shelter_id,
                    bed_type=bed_type, beds=beds, case_ref=case_ref, ttl_minutes=ttl_minutes,
                    now=now)
    return staged if isinstance(staged, HoldPublic) else None


def _stage(session: Session, *, actor: Principal, inventory_id: int | None, shelter_id: int,
           bed_type: BedType, beds: int, case_ref: str, ttl_minutes: int, now: datetime,
           cap: int | None = None) -> HoldPublic | int:
    """The staged hold, or the beds available when it could not be placed. Call after
    `_hold_target`, which locked the inventory row. With a `cap`, TooManyHolds when the
    actor already keeps that many active holds.

    The hot path of the registry, so it is lean: one conditional UPDATE takes the beds,
    settles the beds of lapsed holds and the surge column, then two INSERTs; lapsed holds
    are marked expired only when there are some. Nothing is read back through the ORM.
    """
    assert actor.account_id is not None and actor.agency_id is not None
    if inventory_id is None:
        _check_cap(session, actor, now, cap)
        return 0
    session.flush()  # pending ORM changes first, as Session.execute would; then plain Core
    conn = session.connection()  # Core, not Session.execute: no ORM work on the hot path
    params = {"inventory": inventory_id, "at": now, "wanted": beds, "account": actor.account_id,
              "cap": cap}
    take = sql.TAKE_BEDS if cap is None else sql.TAKE_BEDS_WITHIN_CAP
    taken = conn.execute(take, params).first()
    if taken is None:
        _check_cap(session, actor, now, cap)
        lapsed = _lock_and_expire(session, inventory_id, now, locked=True)
        if lapsed:
            # The lapsed holds are marked expired either way, so their beds must come off
            # `held` here too, or they would stay counted after the caller commits.
            conn.execute(sql.SETTLE_LAPSED, {**params, "lapsed_beds": lapsed})
        return int(conn.execute(sql.AVAILABLE, params).scalar_one())
    if taken[0]:  # TAKE_BEDS already took these beds off `held`; mark their holds expired
        conn.execute(sql.EXPIRE_LAPSED, params)
    values = {"inventory_id": inventory_id, "shelter_id": shelter_id,
              "bed_type": bed_type.value, "beds": beds, "case_ref": case_ref,
              "account_id": actor.account_id, "agency_id": actor.agency_id,
              "status": HoldStatus.ACTIVE.value, "created_at": now,
              "expires_at": now + timedelta(minutes=ttl_minutes), "closed_at": None}
    hold_id = conn.execute(sql.INSERT_HOLD, values).scalar_one()
    audit.record(session, actor, action="hold.create", object_type="bed_hold",
                 object_id=hold_id, purpose="placement",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value,
                          "beds": beds, "ttl_minutes": ttl_minutes})
    return HoldPublic.model_validate({**values, "id": hold_id})


def _check_cap(session: Session, actor: Principal, now: datetime, cap: int | None) -> None:
    if cap is None:
        return
    active = session.connection().execute(sql.ACTIVE_HOLDS,
                                          {"account": actor.account_id, "at": now})
    if active.scalar_one() >= cap:
        raise TooManyHolds(f"an account may keep at most {cap} active holds; confirm or "
                           "release some first")


def place_hold(session: Session, *, actor: Principal, shelter_id: int, data: HoldCreate,
               limits: HoldLimits, idempotency_key: str | None = None,
               request_hash: str = "") -> tuple[HoldPublic, bool]:
    """Hold beds for a case if capacity allows; returns the hold and whether it was replayed."""
    actor.require_role(Role.ADVOCATE, Role.CASE_MANAGER, Role.SHELTER_COORDINATOR)
    assert actor.account_id is not None and actor.agency_id is not None
    # The account lock serialises one account's holds, so a burst cannot pass the cap.
    target = _hold_target(session, shelter_id, data.bed_type, account_id=actor.account_id)
    if actor.role is Role.SHELTER_COORDINATOR and not is_staff(session, actor, shelter_id):
        raise NotShelterStaff("coordinators hold beds only in their own shelters")
    if data.ttl_minutes > target.max_hold_minutes:
        raise InvalidLogistics("ttl_minutes", f"this shelter holds beds for at most "
                                              f"{target.max_hold_minutes} minutes")
    if idempotency_key is not None:
        replay = idempotency.claim(session, account_id=actor.account_id, key=idempotency_key,
                                   request_hash=request_hash)
        if replay is not None:
            session.rollback()
            return HoldPublic.model_validate(replay), True
    hold = _stage(session, actor=actor, inventory_id=target.inventory_id,
                  shelter_id=shelter_id, bed_type=data.bed_type, beds=data.beds,
                  case_ref=data.case_ref, ttl_minutes=data.ttl_minutes, now=utcnow(),
                  cap=limits.max_active_per_account)
    if not isinstance(hold, HoldPublic):
        return _no_capacity(session, shelter_id, target.state, data.bed_type, hold,
                            undo=idempotency_key is not None)
    if idempotency_key is not None:
        idempotency.remember(session, account_id=actor.account_id, key=idempotency_key,
                             response=hold.model_dump(mode="json"))
    session.commit()
    return hold, False


def _no_capacity(session: Session, shelter_id: int, state: str, bed_type: BedType,
                 available: int, *, undo: bool) -> tuple[HoldPublic, bool]:
    # Nothing was written but tidying and, with an Idempotency-Key, the key's claim: that
    # must go, so a retry tries again; tidying may stay.
    if undo:
        session.rollback()
    session.connection().execute(sql.RECORD_UNMET, {
        "at": utcnow(), "state": state, "population": None, "bed_type": bed_type.value,
        "reason": "no_capacity", "source": "hold"})
    session.commit()
    raise InsufficientCapacity(
        f"only {max(available, 0)} {bed_type.value} beds are available at shelter {shelter_id}",
        extra={"available": max(available, 0)})


def _visible_hold(session: Session, actor: Principal, hold_id: int) -> BedHold:
    hold = session.get(BedHold, hold_id)
    if hold is None or not (actor.is_admin or hold.agency_id == actor.agency_id
                            or is_staff(session, actor, hold.shelter_id)):
        raise HoldNotFound(f"hold {hold_id} not found")
    return hold


def get_hold(session: Session, *, actor: Principal, hold_id: int) -> HoldPublic:
    hold = _visible_hold(session, actor, hold_id)
    if hold.status == "active" and hold.expires_at <= utcnow():
        hold.status = HoldStatus.EXPIRED  # as it reads; the row is tidied by the next write
    return hold_public(hold)


def close_hold(session: Session, *, actor: Principal, hold_id: int,
               confirm: bool) -> HoldPublic:
    """Confirm a hold into occupied beds, or release it; both only while it is active."""
    hold = _visible_hold(session, actor, hold_id)
    if confirm and not (hold.agency_id == actor.agency_id or can_manage(
            session, actor, hold.shelter_id)):
        raise NotShelterStaff("only the holding agency, the shelter's staff or an admin "
                              "may confirm this hold")
    if not stage_close(session, actor=actor, hold=hold, confirm=confirm, now=utcnow()):
        session.commit()  # keep the tidy-up of lapsed holds
        raise HoldNotActive(f"hold {hold_id} is {hold.status}, not active")
    public = hold_public(hold)  # built before the commit: nothing is read after it
    session.commit()
    return public


def stage_close(session: Session, *, actor: Principal, hold: BedHold, confirm: bool,
                now: datetime) -> bool:
    """Confirm or release an active hold without committing; False when it is not active.

    For use cases that close a hold together with their own change (cancelling a travel
    plan releases its bed), in one transaction.
    """
    assert hold.id is not None
    lock_and_tidy(session, hold.inventory_id, now)
    new_status = HoldStatus.CONFIRMED if confirm else HoldStatus.RELEASED
    result = session.execute(
        update(BedHold).where(col(BedHold.id) == hold.id, col(BedHold.status) == "active")
        .values(status=new_status.value, closed_at=now))
    session.refresh(hold)
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    moved: dict[str, Any] = {"held": BedInventory.held - hold.beds}
    if confirm:
        moved.update(occupied=BedInventory.occupied + hold.beds,
                     version=BedInventory.version + 1, updated_at=now,
                     updated_by=actor.account_id)
    session.execute(update(BedInventory).where(col(BedInventory.id) == hold.inventory_id)
                    .values(**moved))
    audit.record(session, actor, action="hold.confirm" if confirm else "hold.release",
                 object_type="bed_hold", object_id=hold.id, purpose="placement",
                 details={"shelter_id": hold.shelter_id, "beds": hold.beds})
    return True


def list_shelter_holds(session: Session, *, actor: Principal, shelter_id: int,
                       limit: int, offset: int) -> list[HoldPublic]:
    _shelter(session, shelter_id)
    require_manager(session, actor, shelter_id)
    now = utcnow()
    rows = session.exec(select(BedHold).where(
        BedHold.shelter_id == shelter_id, BedHold.status == "active",
        col(BedHold.expires_at) > now).order_by(col(BedHold.expires_at))
        .limit(limit).offset(offset)).all()
    return [hold_public(h) for h in rows]


def sweep_expired_holds(session: Session, *, now: datetime | None = None) -> int:
    """Tidy every lapsed hold (they already stopped counting); returns how many."""
    now = now or utcnow()
    inventory_ids = session.exec(select(BedHold.inventory_id).where(
        BedHold.status == "active", col(BedHold.expires_at) <= now).distinct()).all()
    swept = 0
    for inventory_id in sorted(inventory_ids):
        before = session.exec(select(func.count()).select_from(BedHold).where(
            BedHold.inventory_id == inventory_id, BedHold.status == "active",
            col(BedHold.expires_at) <= now)).one()
        lock_and_tidy(session, inventory_id, now)
        swept += int(before)
    session.commit()
    return swept
