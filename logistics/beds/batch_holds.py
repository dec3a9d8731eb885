"""Batch holds (mass rescues): all or nothing, once per case, within the agency's budget.

A held batch (`POST /v1/matches/batch` with `options.hold`, the web "Place all holds") stages
one hold per placed case in ONE transaction. Those holds are marked `batch`: they do not count
against the advocate's personal cap on single holds (`HOMEWARD_MAX_ACTIVE_HOLDS`), but against
the agency's `mass_rescue_hold_budget` of active batch holds, which an admin sets. The budget
is checked in the transaction that stages the holds, after locking the agency's row
(PostgreSQL `FOR NO KEY UPDATE`; on SQLite `BEGIN IMMEDIATE` already serialises writers), and
the count of holds in use is read after that lock, so two batches of one agency, in any
processes, cannot both pass it. A case_ref that already has an active batch hold of the
agency keeps that hold: a re-run reports it and neither holds nor places that case again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from core import audit
from core.clock import utcnow
from core.errors import NotFound
from core.principal import Principal
from logistics.beds import hold_sql as sql
from logistics.beds import holds as hold_service
from logistics.beds.models import (
    HoldPublic,
    HoldSource,
    MassRescueBudgetPublic,
    MassRescueBudgetUpdate,
)
from logistics.errors import MassRescueBudgetExceeded
from logistics.vocabulary import BedType


@dataclass(frozen=True)
class Planned:
    case_ref: str
    shelter_id: int
    bed_type: str
    beds: int
    ttl_minutes: int


@dataclass(frozen=True)
class Staged:
    """What a held batch holds: the holds it placed now and the ones kept from earlier runs,
    both by case_ref."""

    placed: dict[str, HoldPublic]
    kept: dict[str, HoldPublic]


def kept_holds(session: Session, *, agency_id: int, case_refs: Iterable[str],
               now: datetime) -> dict[str, HoldPublic]:
    """The agency's active batch holds for these cases, by case_ref (the oldest if several)."""
    refs = sorted(set(case_refs))
    if not refs:
        return {}
    rows = session.connection().execute(sql.BATCH_HOLDS_FOR_CASES,
                                        {"agency": agency_id, "at": now, "refs": refs})
    found: dict[str, HoldPublic] = {}
    for row in rows.mappings():
        found.setdefault(row["case_ref"], HoldPublic.model_validate(dict(row)))
    return found


def _in_use(session: Session, agency_id: int, now: datetime) -> int:
    return int(session.connection().execute(sql.BATCH_HOLDS_IN_USE,
                                            {"agency": agency_id, "at": now}).scalar_one())


def stage_batch(session: Session, *, actor: Principal, case_refs: Sequence[str],
                plan: Sequence[Planned], now: datetime) -> Staged | None:
    """Stage a batch hold per planned case not already held, in the caller's transaction;
    the holds the batch's `case_refs` already have are kept and reported.

    None when counts moved since the plan was made, and MassRescueBudgetExceeded when the new
    holds would take the agency past its budget; either way the caller's transaction holds
    partial work that the caller rolls back (its session, its decision). Holds are
    staged in (shelter, bed type) order, one lock order for every batch, so two batches
    holding at once on PostgreSQL cannot deadlock; the agency's row is locked first.
    """
    assert actor.agency_id is not None
    # Lock first, then read: the count and the kept holds are then what every batch of this
    # agency committed before us (a new statement sees them under READ COMMITTED).
    budget = session.connection().execute(sql.LOCK_BUDGET,
                                          {"agency": actor.agency_id}).scalar_one()
    kept = kept_holds(session, agency_id=actor.agency_id, case_refs=case_refs, now=now)
    todo = [p for p in plan if p.case_ref not in kept]
    used = _in_use(session, actor.agency_id, now)
    if todo and used + len(todo) > budget:
        raise MassRescueBudgetExceeded(
            f"this batch needs {len(todo)} new holds but the agency's mass-rescue budget "
            f"is {budget} active batch holds and {used} are in use; nothing was held. "
            "An admin can raise the budget, or confirm or release batch holds first.",
            extra={"budget": budget, "in_use": used, "requested": len(todo)})
    placed: dict[str, HoldPublic] = {}
    for p in sorted(todo, key=lambda p: (p.shelter_id, p.bed_type, p.case_ref)):
        hold = hold_service.stage_hold(session, actor=actor, shelter_id=p.shelter_id,
                                      bed_type=BedType(p.bed_type), beds=p.beds,
                                      case_ref=p.case_ref, ttl_minutes=p.ttl_minutes, now=now,
                                      source=HoldSource.BATCH)
        if hold is None:
            return None  # the caller rolls back what was staged
        placed[p.case_ref] = hold
    return Staged(placed=placed, kept=kept)


# ---- the budget itself --------------------------------------------------------------------


def _budget_public(session: Session, agency_id: int, budget: int) -> MassRescueBudgetPublic:
    used = _in_use(session, agency_id, utcnow())
    return MassRescueBudgetPublic(agency_id=agency_id, budget=budget, in_use=used,
                                  available=max(budget - used, 0))


def _budget_of(session: Session, actor: Principal, agency_id: int) -> int:
    # Another agency's budget answers like a missing agency (agencies are private to admins).
    budget = None
    if actor.is_platform_admin or actor.agency_id == agency_id:
        budget = session.connection().execute(
            sql.BUDGET, {"agency": agency_id}).scalar_one_or_none()
    if budget is None:
        raise NotFound(f"agency {agency_id} not found")
    return int(budget)


def get_budget(session: Session, *, actor: Principal, agency_id: int) -> MassRescueBudgetPublic:
    """The agency's budget and use; for its own members and admins."""
    return _budget_public(session, agency_id, _budget_of(session, actor, agency_id))


def set_budget(session: Session, *, actor: Principal, agency_id: int,
               data: MassRescueBudgetUpdate) -> MassRescueBudgetPublic:
    """Set the budget (platform admins: an agency's own admin raising it would make it no
    limit on that agency). Lowering it below what is in use releases nothing: new batches are
    refused until enough of the agency's batch holds are confirmed or released."""
    actor.require_platform_admin()
    before = _budget_of(session, actor, agency_id)
    # One UPDATE of an absolute value: two admins at once both succeed, the last one stands,
    # and both are audited.
    session.connection().execute(sql.SET_BUDGET, {"agency": agency_id, "budget": data.budget})
    audit.record(session, actor, action="agency.mass_rescue_budget", object_type="agency",
                 object_id=agency_id, purpose="administration",
                 details={"before": before, "after": data.budget})
    public = _budget_public(session, agency_id, data.budget)
    session.commit()
    return public
