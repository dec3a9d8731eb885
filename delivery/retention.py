"""Retention of messages that belong to no case (tip notices, and any other without one).

A message of a case is purged with the case (`core.purge` follows its foreign key); a tip
notice has no case, so nothing would ever remove it. Once such a message is settled
(`delivered`, `dead` or `cancelled`), its body is emptied `body_days` after it was written and
the row deleted `row_days` after (HOMEWARD_MESSAGE_BODY_RETENTION_DAYS and
HOMEWARD_MESSAGE_ROW_RETENTION_DAYS). A pending or sending message is never touched, whatever
its age. `homeward messages purge` runs it once; the worker's loop runs it every `every`.
The run is audited with the counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from core import audit
from core.principal import SYSTEM
from delivery.models import MessageState, OutboxMessage

PURGED = b""  # an emptied body: nothing to open, nothing to send again
SETTLED = (MessageState.DELIVERED.value, MessageState.DEAD.value, MessageState.CANCELLED.value)


@dataclass(frozen=True)
class Retention:
    body_days: int = 30
    row_days: int = 365
    every: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not 0 <= self.body_days <= self.row_days:
            raise ValueError("keep a message's row at least as long as its body")


@dataclass(frozen=True)
class Purged:
    bodies: int
    rows: int


def purge(session: Session, *, retention: Retention, now: datetime) -> Purged:
    """Empty the old bodies and delete the older rows of settled messages without a case;
    commits."""
    settled = (col(OutboxMessage.case_id).is_(None), col(OutboxMessage.state).in_(SETTLED))
    rows = session.execute(delete(OutboxMessage).where(
        *settled, col(OutboxMessage.created_at) < now - timedelta(days=retention.row_days)))
    bodies = session.execute(update(OutboxMessage).where(
        *settled, col(OutboxMessage.created_at) < now - timedelta(days=retention.body_days),
        col(OutboxMessage.body_sealed) != PURGED).values(body_sealed=PURGED))
    done = Purged(bodies=int(bodies.rowcount),  # type: ignore[attr-defined]
                  rows=int(rows.rowcount))  # type: ignore[attr-defined]
    if done.bodies or done.rows:
        audit.record(session, SYSTEM, action="message.retention", object_type="outbox_message",
                     object_id="caseless", purpose="retention",
                     details={"bodies_emptied": done.bodies, "rows_deleted": done.rows,
                              "body_days": retention.body_days,
                              "row_days": retention.row_days})
    session.commit()
    return done
