"""The statements of the bed-hold hot path, built once with bound parameters.

Placing a hold is the registry's busiest write, and on SQLite every write waits for the one
writer before it. Building a SQLAlchemy statement and its cache key costs several times more
than SQLite takes to run it, so the statements a hold runs are built here once, at import,
and executed with parameters: the time spent holding the write lock is spent in the database.
They are plain Core statements on the tables, not ORM ones: an ORM UPDATE also evaluates its
criteria against every object the session holds, which costs more than the statement.
Each constant names the parameters it takes; none is named for a column, which SQLAlchemy
reserves in UPDATE statements.
"""

from __future__ import annotations

from sqlalchemy import Integer, Table, bindparam, func, insert, select, update

from core.models import Account, Agency
from core.types import UTCDateTime
from logistics.beds.models import BedHold, HoldSource, HoldStatus, SurgeWindow
from logistics.shelters.models import BedInventory, Shelter

HOLDS: Table = BedHold.__table__  # type: ignore[attr-defined]
_INVENTORY: Table = BedInventory.__table__  # type: ignore[attr-defined]
_SHELTERS: Table = Shelter.__table__  # type: ignore[attr-defined]
_SURGE: Table = SurgeWindow.__table__  # type: ignore[attr-defined]
_ACCOUNTS: Table = Account.__table__  # type: ignore[attr-defined]
_AGENCIES: Table = Agency.__table__  # type: ignore[attr-defined]

_now = bindparam("at", type_=UTCDateTime)
_inventory = bindparam("inventory", type_=Integer)
_lapsed = bindparam("lapsed_beds", type_=Integer)
_beds = bindparam("wanted", type_=Integer)
_inv = _INVENTORY.c

# Surge beds whose window is open at :at, for inventory :inventory.
OPEN_SURGE = (select(func.coalesce(func.sum(_SURGE.c.beds), 0))
              .where(_SURGE.c.inventory_id == _inventory, _SURGE.c.starts_at <= _now,
                     _SURGE.c.ends_at > _now)
              .scalar_subquery())

# :shelter, :kind -> (state, max_hold_minutes, inventory id or NULL); no row: no shelter.
# On PostgreSQL it also locks the inventory row, the first step of every inventory write,
# in the same round trip (SQLite ignores FOR UPDATE: BEGIN IMMEDIATE serialises writers).
_INVENTORY_ID = (select(_inv.id)
                 .where(_inv.shelter_id == _SHELTERS.c.id, _inv.bed_type == bindparam("kind"))
                 .with_for_update().scalar_subquery())
TARGET = (select(_SHELTERS.c.state, _SHELTERS.c.max_hold_minutes, _INVENTORY_ID)
          .where(_SHELTERS.c.id == bindparam("shelter")))

# The same and :account -> also locks the account row (after the inventory's, the one lock
# order of every path), serialising one account's holds so a burst cannot pass its cap.
TARGET_FOR_ACCOUNT = TARGET.add_columns(
    select(_ACCOUNTS.c.id).where(_ACCOUNTS.c.id == bindparam("account"))
    .with_for_update().scalar_subquery())

# :account, :at -> the account's single holds still counting against its cap (batch holds
# count against their agency's mass-rescue budget instead, see BATCH_HOLDS_IN_USE).
ACTIVE_HOLDS = (select(func.count()).select_from(HOLDS)
                .where(HOLDS.c.account_id == bindparam("account"),
                       HOLDS.c.source == HoldSource.SINGLE.value,
                       HOLDS.c.status == HoldStatus.ACTIVE.value, HOLDS.c.expires_at > _now))

# :agency -> the agency's budget of batch holds, locking its row (PostgreSQL) so that one
# agency's batches stage their holds one at a time and each counts what the last committed.
# NO KEY UPDATE: the foreign-key checks of holds and accounts inserted meanwhile (KEY SHARE)
# need not wait for a batch. SQLite ignores it: BEGIN IMMEDIATE already serialises writers.
LOCK_BUDGET = (select(_AGENCIES.c.mass_rescue_hold_budget)
               .where(_AGENCIES.c.id == bindparam("agency"))
               .with_for_update(key_share=True))

# :agency -> its budget, unlocked (for reading it); :agency, :budget -> sets it.
BUDGET = select(_AGENCIES.c.mass_rescue_hold_budget).where(_AGENCIES.c.id == bindparam("agency"))
SET_BUDGET = (update(_AGENCIES).where(_AGENCIES.c.id == bindparam("agency"))
              .values(mass_rescue_hold_budget=bindparam("budget", type_=Integer)))

_BATCH_ACTIVE = (HOLDS.c.agency_id == bindparam("agency"),
                 HOLDS.c.source == HoldSource.BATCH.value,
                 HOLDS.c.status == HoldStatus.ACTIVE.value, HOLDS.c.expires_at > _now)

# :agency, :at -> the agency's batch holds still counting against its budget (one per case).
BATCH_HOLDS_IN_USE = select(func.count()).select_from(HOLDS).where(*_BATCH_ACTIVE)

# :agency, :at, :refs -> the agency's batch holds still counting for these case_refs.
BATCH_HOLDS_FOR_CASES = (select(HOLDS).where(
    *_BATCH_ACTIVE, HOLDS.c.case_ref.in_(bindparam("refs", expanding=True)))
    .order_by(HOLDS.c.id))

# :inventory -> locks the inventory row (PostgreSQL), for paths that did not read TARGET.
LOCK_INVENTORY = select(_inv.id).where(_inv.id == _inventory).with_for_update()

# :inventory, :at -> marks lapsed holds expired, returning the beds each held.
EXPIRE_LAPSED = (update(HOLDS)
                 .where(HOLDS.c.inventory_id == _inventory,
                        HOLDS.c.status == HoldStatus.ACTIVE.value, HOLDS.c.expires_at <= _now)
                 .values(status=HoldStatus.EXPIRED.value, closed_at=_now)
                 .returning(HOLDS.c.beds))

# Beds of :inventory's holds that have lapsed at :at but are still marked active.
_LAPSED_NOW = (select(func.coalesce(func.sum(HOLDS.c.beds), 0))
               .where(HOLDS.c.inventory_id == _inventory,
                      HOLDS.c.status == HoldStatus.ACTIVE.value, HOLDS.c.expires_at <= _now)
               .scalar_subquery())
_FREE_NOW = _inv.total + OPEN_SURGE - _inv.occupied - (_inv.held - _LAPSED_NOW)

# :inventory, :at, :wanted -> takes the beds if they are free, counting lapsed holds as gone
# and taking their beds off `held` in the same UPDATE; returns the lapsed beds, so that only
# when there are some (rarely) EXPIRE_LAPSED must follow to mark those holds. On success the
# beds in use fit within total + open surge, so the surge counted is exactly the open surge.
TAKE_BEDS = (update(_INVENTORY)
             .where(_inv.id == _inventory, _FREE_NOW >= _beds)
             .values(held=_inv.held - _LAPSED_NOW + _beds, surge=OPEN_SURGE)
             .returning(_LAPSED_NOW))

# The same and :account, :cap -> only while the account keeps fewer than :cap active holds,
# so a hold checks its account's cap without a round trip of its own (the account's row was
# locked by TARGET_FOR_ACCOUNT, so the count is current). Took none: ask ACTIVE_HOLDS why.
TAKE_BEDS_WITHIN_CAP = TAKE_BEDS.where(ACTIVE_HOLDS.scalar_subquery() < bindparam("cap"))

# :inventory, :lapsed_beds -> settles the beds of holds EXPIRE_LAPSED marked, when TAKE_BEDS
# took none.
SETTLE_LAPSED = (update(_INVENTORY).where(_inv.id == _inventory)
                 .values(held=_inv.held - _lapsed))

# :inventory, :at -> the beds free, once lapsed holds are settled.
AVAILABLE = (select(_inv.total + OPEN_SURGE - _inv.occupied - _inv.held)
             .where(_inv.id == _inventory))

# The hold's columns -> its id.
INSERT_HOLD = insert(HOLDS).returning(HOLDS.c.id)
