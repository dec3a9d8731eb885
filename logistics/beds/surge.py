"""Use cases of surge capacity: overflow beds open for a window (a white-flag night).

A window adds beds to one bed type from its start to its end. Counts pick it up at once (reads
add open windows), and every write refreshes the inventory's `surge` column under the row lock
so the CHECK constraint `occupied + held <= total + surge` holds. When a window ends, beds still
in use stay counted until those people are discharged; nobody new is placed in them.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from core import audit
from core.clock import utcnow
from core.principal import Principal
from logistics.beds.inventory import lock_and_tidy
from logistics.beds.models import SurgeCreate, SurgePublic, SurgeWindow
from logistics.errors import ShelterNotFound
from logistics.shelters.models import BedInventory, Shelter
from logistics.shelters.visibility import require_manager
from logistics.vocabulary import BedType


def _public(window: SurgeWindow) -> SurgePublic:
    return SurgePublic.model_validate(window, from_attributes=True)


def open_surge(session: Session, *, actor: Principal, shelter_id: int, bed_type: BedType,
               data: SurgeCreate) -> SurgePublic:
    if session.get(Shelter, shelter_id) is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    require_manager(session, actor, shelter_id)
    inv = session.exec(select(BedInventory).where(
        BedInventory.shelter_id == shelter_id, BedInventory.bed_type == bed_type)).first()
    if inv is None or inv.id is None:
        raise ShelterNotFound(f"shelter {shelter_id} has no {bed_type.value} beds; "
                              "create the bed type before adding surge beds")
    window = SurgeWindow(inventory_id=inv.id, shelter_id=shelter_id, bed_type=bed_type,
                         beds=data.beds, starts_at=data.starts_at, ends_at=data.ends_at,
                         reason=data.reason, created_by=actor.account_id)
    session.add(window)
    session.flush()
    lock_and_tidy(session, inv.id, utcnow())
    audit.record(session, actor, action="surge.open", object_type="surge_window",
                 object_id=window.id, purpose="bed counts",
                 details={"shelter_id": shelter_id, "bed_type": bed_type.value,
                          "beds": data.beds, "starts_at": data.starts_at.isoformat(),
                          "ends_at": data.ends_at.isoformat()})
    session.commit()
    return _public(window)


def list_surge(session: Session, *, actor: Principal, shelter_id: int) -> list[SurgePublic]:
    """Open and future windows (ended ones are history, kept in the audit log)."""
    if session.get(Shelter, shelter_id) is None:
        raise ShelterNotFound(f"shelter {shelter_id} not found")
    rows = session.exec(select(SurgeWindow).where(
        SurgeWindow.shelter_id == shelter_id, col(SurgeWindow.ends_at) > utcnow())
        .order_by(col(SurgeWindow.starts_at), col(SurgeWindow.id)))
    return [_public(w) for w in rows]


def end_surge(session: Session, *, actor: Principal, window_id: int) -> SurgePublic:
    """End a window now (or cancel one that has not started)."""
    window = session.get(SurgeWindow, window_id)
    if window is None:
        raise ShelterNotFound(f"surge window {window_id} not found")
    require_manager(session, actor, window.shelter_id)
    now = utcnow()
    if window.ends_at > now:
        public = _public(window)
        if window.starts_at > now:
            session.delete(window)  # a window that never opened leaves nothing to keep
            public = public.model_copy(update={"ends_at": public.starts_at})
        else:
            window.ends_at = now
            session.add(window)
            public = public.model_copy(update={"ends_at": now})
        session.flush()
        lock_and_tidy(session, window.inventory_id, now)
        audit.record(session, actor, action="surge.end", object_type="surge_window",
                     object_id=window_id, purpose="bed counts",
                     details={"shelter_id": public.shelter_id})
        session.commit()
        return public
    return _public(window)
