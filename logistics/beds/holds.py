"""Use cases of bed holds: place, confirm, release, list and sweep, safe under concurrency.

A hold follows the inventory write protocol of `bed_service` (lock the inventory row, tidy its
lapsed holds, one conditional UPDATE carrying the invariant) with prebuilt statements
(`hold_sql`), because it is the registry's busiest write: one read finds the shelter and locks
the inventory and the account rows, one UPDATE takes the beds if they are free and the account
is under its cap, then the hold and its audit row are inserted. Holds staged by other use
cases (batch matching, travel plans) commit or roll back with those use cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from core import audit, idempotency
from core.clock import utcnow
from core.models import Role
from core.principal import Principal
from logistics.beds import hold_sql as sql
from logistics.beds import holds_warning, hooks, unmet
from logistics.beds.inventory import find_shelter, lock_and_expire, lock_and_tidy
from logistics.beds.models import BedHold, HoldCreate, HoldPublic, HoldSource, HoldStatus
from logistics.errors import (
    HoldNotActive,
    HoldNotFound,
    InsufficientCapacity,
    InvalidLogistics,
    NotShelterStaff,
    ShelterNotFound,
    TooManyHolds,
)
from logistics.shelters.models import BedInventory
from logistics.shelters.visibility import can_manage, is_staff, require_manager
from logistics.vocabulary import BedType


@dataclass(frozen=True)
class HoldLimits:
    max_active_per_account: int = 10


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
               beds: int, case_ref: str, ttl_minutes: int, now: datetime,
               source: HoldSource = HoldSource.SINGLE,
               until: datetime | None = None) -> HoldPublic | None:
    """Add a hold to the caller's transaction without committing; None when capacity is gone.

    Same protocol as every inventory write (lock, tidy, one conditional UPDATE), so several
    holds staged in one transaction commit or roll back together. The caller checks roles,
    the shelter's hold limit and the account cap (a batch: the agency's budget,
    `batch_holds`), marks the hold's `source`, and commits or rolls back. `until`, when
    given, is the exact expiry (a travel plan's arrival plus buffer), `ttl_minutes` then only
    what the audit row reports.
    """
    inventory_id = _hold_target(session, shelter_id, bed_type).inventory_id
    staged = _stage(session, actor=actor, inventory_id=inventory_id, shelter_id=shelter_id,
                    bed_type=bed_type, beds=beds, case_ref=case_ref, ttl_minutes=ttl_minutes,
                    now=now, source=source, until=until)
    return staged if isinstance(staged, HoldPublic) else None


def _stage(session: Session, *, actor: Principal, inventory_id: int | None, shelter_id: int,
           bed_type: BedType, beds: int, case_ref: str, ttl_minutes: int, now: datetime,
           cap: int | None = None, source: HoldSource = HoldSource.SINGLE,
           until: datetime | None = None) -> HoldPublic | int:
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
        lapsed = lock_and_expire(session, inventory_id, now, locked=True)
        if lapsed:
            # The lapsed holds are marked expired either way, so their beds must come off
            # `held` here too, or they would stay counted after the caller commits.
            conn.execute(sql.SETTLE_LAPSED, {**params, "lapsed_beds": lapsed})
        return int(conn.execute(sql.AVAILABLE, params).scalar_one())
    if taken[0]:  # TAKE_BEDS already took these beds off `held`; mark their holds expired
        conn.execute(sql.EXPIRE_LAPSED, params)
    expires = until or now + timedelta(minutes=ttl_minutes)
    values = {"inventory_id": inventory_id, "shelter_id": shelter_id,
              "bed_type": bed_type.value, "beds": beds, "case_ref": case_ref,
              "account_id": actor.account_id, "agency_id": actor.agency_id,
              "status": HoldStatus.ACTIVE.value, "created_at": now,
              "expires_at": expires, "closed_at": None,
              "source": source.value}
    hold_id = conn.execute(sql.INSERT_HOLD, values).scalar_one()
    audit.record(session, actor, action="hold.create", object_type="bed_hold",
                 object_id=hold_id, purpose="placement",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value,
                          "beds": beds, "ttl_minutes": ttl_minutes, "source": source.value})
    # The one place every path that holds beds goes through: its lapse warning goes here too.
    holds_warning.schedule(session, hold_id=hold_id, agency_id=actor.agency_id,
                           account_id=actor.account_id, shelter_id=shelter_id,
                           bed_type=bed_type.value, beds=beds, case_ref=case_ref,
                           expires_at=expires, now=now)
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
                            undo=idempotency_key is not None,
                            subject=unmet.case_subject(actor.agency_id, data.case_ref))
    if idempotency_key is not None:
        idempotency.remember(session, account_id=actor.account_id, key=idempotency_key,
                             response=hold.model_dump(mode="json"))
    session.commit()
    return hold, False


def _no_capacity(session: Session, shelter_id: int, state: str, bed_type: BedType,
                 available: int, *, undo: bool, subject: str) -> tuple[HoldPublic, bool]:
    # Nothing was written but tidying and, with an Idempotency-Key, the key's claim: that
    # must go, so a retry tries again; tidying may stay.
    if undo:
        session.rollback()
    unmet.record(session.connection(), unmet.need(
        subject=subject, state=state, population=None, bed_type=bed_type.value,
        reason="no_capacity", source="hold"))
    session.commit()
    raise InsufficientCapacity(
        f"only {max(available, 0)} {bed_type.value} beds are available at shelter {shelter_id}",
        extra={"available": max(available, 0)})


def _visible_hold(session: Session, actor: Principal, hold_id: int) -> BedHold:
    hold = session.get(BedHold, hold_id)
    if hold is None or not (hold.agency_id == actor.agency_id
                            or can_manage(session, actor, hold.shelter_id)):
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
    holds_warning.cancel(session, hold_id=hold.id,
                         reason="hold confirmed" if confirm else "hold released")
    audit.record(session, actor, action="hold.confirm" if confirm else "hold.release",
                 object_type="bed_hold", object_id=hold.id, purpose="placement",
                 details={"shelter_id": hold.shelter_id, "beds": hold.beds})
    if not confirm:
        hooks.holds_ended(session, [hold.id], now)  # a plan riding on it is disrupted
    return True


def list_shelter_holds(session: Session, *, actor: Principal, shelter_id: int,
                       limit: int, offset: int) -> list[HoldPublic]:
    find_shelter(session, shelter_id)
    require_manager(session, actor, shelter_id)
    now = utcnow()
    rows = session.exec(select(BedHold).where(
        BedHold.shelter_id == shelter_id, BedHold.status == "active",
        col(BedHold.expires_at) > now).order_by(col(BedHold.expires_at))
        .limit(limit).offset(offset)).all()
    return [hold_public(h) for h in rows]


def list_my_holds(session: Session, *, actor: Principal, limit: int,
                  offset: int) -> list[HoldPublic]:
    """The caller's own active holds, single and batch, soonest to lapse first."""
    if actor.account_id is None:
        return []
    rows = session.exec(select(BedHold).where(
        BedHold.account_id == actor.account_id, BedHold.status == "active",
        col(BedHold.expires_at) > utcnow())
        .order_by(col(BedHold.expires_at), col(BedHold.id)).limit(limit).offset(offset)).all()
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


def list_case_holds(session: Session, *, actor: Principal, agency_id: int,
                    case_refs: Sequence[str], limit: int = 50) -> list[HoldPublic]:
    """The holds an agency placed under a case's reference(s), newest first, any status.

    Only the holding agency (and platform admins) see them: a hold names a case, and which
    shelter a case is going to is the agency's to know. A lapsed active hold reads as expired.
    """
    if not (actor.is_platform_admin or actor.agency_id == agency_id) or not case_refs:
        return []
    rows = session.exec(select(BedHold).where(
        BedHold.agency_id == agency_id, col(BedHold.case_ref).in_(sorted(set(case_refs))))
        .order_by(col(BedHold.id).desc()).limit(limit)).all()
    now = utcnow()
    found = []
    for hold in rows:
        public = hold_public(hold)
        if public.status == HoldStatus.ACTIVE and public.expires_at <= now:
            public = public.model_copy(update={"status": HoldStatus.EXPIRED})
        found.append(public)
    return found
