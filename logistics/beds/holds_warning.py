"""The message that a bed hold is about to lapse (issue 21 item 1), for every path that holds.

Every hold, whichever use case places it (a single hold, a batch or mass rescue, a travel
plan's destination bed, a return plan's acceptance), is staged by `holds._stage`, which calls
`schedule` here: a `hold.lapsing` message goes into the outbox in the hold's own transaction,
due `lead` before the hold expires, so it exists if and only if the hold committed. A hold that
lasts no longer than `lead` gets none: whoever placed it just now knows it is short.

The recipient is the case's case manager (the account that opened the case under the hold's
reference), else the account that placed the hold, else the agency's default desk: the first
of them with an active endpoint. All three are of the holding agency, which sees its holds
anyway; the message says which hold, how many beds of which type at which shelter (by id), the
case reference and the expiry, nothing of the survivor.

Confirming or releasing the hold cancels the message (`cancel`, from `holds.stage_close`). What
else can make it moot (the hold lapsed while the message was retried, the case was purged, the
hold was extended) is caught when the worker claims it: `skip_reason` is the worker's guard for
this kind, and a moot message is cancelled with the reason instead of sent. An extension calls
`reschedule`, which cancels the old warning and writes one for the new expiry.

The cipher (to seal the body) and `lead` (HOMEWARD_HOLD_LAPSE_WARNING_MINUTES) reach `_stage`
in the session's `info` (`install`: the app puts them in every session its `Database` opens,
request or not, since matching opens its own), so that no use case that holds beds has to pass
them along; a session without them (a bare script) holds beds without a warning.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, select, update
from sqlmodel import Session, SQLModel, col

from core.crypto import FieldCipher
from delivery import outbox
from delivery.models import MessageKind, MessageState, OutboxMessage
from logistics.beds.models import BedHold, HoldStatus

KEY = "homeward.hold_lapse_warning"
SOURCE = "bed_hold"


@dataclass(frozen=True)
class LapseWarning:
    cipher: FieldCipher
    lead: timedelta


def install(info: MutableMapping[str, Any], warning: LapseWarning | None) -> None:
    """Let holds staged in a session with this `info` (a session's, or the `session_info` a
    `Database` gives all its sessions) schedule their warning (None or no lead: none)."""
    if warning is not None and warning.lead > timedelta(0):
        info[KEY] = warning


def _case(session: Session, agency_id: int, case_ref: str) -> tuple[int | None, int | None]:
    """The case's id and the account that opened it, read by table name: cases sit above
    beds, so this module imports nothing of them."""
    table: Table = SQLModel.metadata.tables["survivor_case"]
    found = session.execute(select(table.c.id, table.c.created_by).where(
        table.c.agency_id == agency_id, table.c.case_ref == case_ref)).first()
    return (None, None) if found is None else (found[0], found[1])


def _recipient(session: Session, agency_id: int, account_id: int,
               manager: int | None) -> outbox.Recipient:
    for who in (manager, account_id):
        if who is not None:
            to = outbox.Recipient(account_id=who)
            if outbox.endpoints_for(session, to):
                return to
    return outbox.Recipient(agency_id=agency_id)


def schedule(session: Session, *, hold_id: int, agency_id: int, account_id: int,
             shelter_id: int, bed_type: str, beds: int, case_ref: str, expires_at: datetime,
             now: datetime) -> list[OutboxMessage]:
    """Write the hold's warning in the caller's transaction, if the session has a warning
    installed and the hold outlasts its lead; the messages written."""
    warning: LapseWarning | None = session.info.get(KEY)
    if warning is None or expires_at - warning.lead <= now:
        return []
    case_id, manager = _case(session, agency_id, case_ref)
    minutes = int(warning.lead.total_seconds() // 60)
    data = {"hold_id": hold_id, "shelter_id": shelter_id, "bed_type": bed_type, "beds": beds,
            "case_ref": case_ref, "expires_at": expires_at.isoformat()}
    body = {"subject": f"Bed hold {hold_id} lapses in {minutes} minutes",
            "text": f"Bed hold {hold_id} ({beds} {bed_type} bed(s) at shelter {shelter_id}, "
                    f"case {case_ref}) lapses at {expires_at.strftime('%Y-%m-%d %H:%M')} UTC. "
                    "Confirm, extend or release it in Homeward before then.",
            "data": data}
    return outbox.enqueue(
        session, cipher=warning.cipher, kind=MessageKind.HOLD_LAPSING.value,
        to=_recipient(session, agency_id, account_id, manager), body=body,
        agency_id=agency_id, case_id=case_id, source_type=SOURCE, source_id=hold_id,
        not_before=expires_at - warning.lead, now=now)


def cancel(session: Session, *, hold_id: int, reason: str) -> int:
    """Cancel the hold's warnings not yet sent, with the reason, in the caller's transaction."""
    result = session.execute(update(OutboxMessage).where(
        col(OutboxMessage.source_type) == SOURCE,
        col(OutboxMessage.source_id) == str(hold_id),
        col(OutboxMessage.kind) == MessageKind.HOLD_LAPSING.value,
        col(OutboxMessage.state) == MessageState.PENDING.value,
    ).values(state=MessageState.CANCELLED.value, last_error=reason[:300]))
    return int(result.rowcount)  # type: ignore[attr-defined]


def reschedule(session: Session, *, hold: BedHold, now: datetime) -> list[OutboxMessage]:
    """After a hold's expiry moved (an extension): cancel its warning, write the new one."""
    assert hold.id is not None
    cancel(session, hold_id=hold.id, reason="hold extended: warning rescheduled")
    return schedule(session, hold_id=hold.id, agency_id=hold.agency_id,
                    account_id=hold.account_id, shelter_id=hold.shelter_id,
                    bed_type=str(hold.bed_type), beds=hold.beds, case_ref=hold.case_ref,
                    expires_at=hold.expires_at, now=now)


def skip_reason(session: Session, message: OutboxMessage, body: dict[str, Any],
                now: datetime) -> str | None:
    """The worker's guard for `hold.lapsing`: why the warning is moot now, or None to send."""
    hold = session.get(BedHold, int(message.source_id))
    if hold is None:
        return "hold no longer exists"
    if hold.status != HoldStatus.ACTIVE:
        return f"hold {hold.status}"
    if hold.expires_at <= now:
        return "hold already lapsed"
    if hold.expires_at.isoformat() != body.get("data", {}).get("expires_at"):
        return "hold extended: a later warning replaces this one"
    return None
