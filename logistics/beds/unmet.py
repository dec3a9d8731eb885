"""The unmet-need ledger: one record per need, not per query.

A search that finds no shelter, or a hold refused for want of beds, is a need only once: the
same account (or, for a hold, the same case) asking again the same UTC day for the same
area, population, bed type and reason adds nothing. Each record carries a dedupe key, a
SHA-256 over those six values, under a unique index, and is written with insert-or-ignore
(`ON CONFLICT DO NOTHING`, the same on SQLite and PostgreSQL), so repeats and races alike
leave one row and no query can inflate the published figure. The key is a digest, so the
ledger still names no account and no case. A search may carry an anonymous call reference
(`call_subject`), so one advocate's searches for two callers count as two needs, within a
fixed bound per account and day.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table

from core.clock import utcnow
from core.db import insert_skipping_conflicts
from logistics.beds.models import UnmetNeed

_TABLE: Table = UnmetNeed.__table__  # type: ignore[attr-defined]


def account_subject(account_id: int | None) -> str:
    return f"account:{account_id}"


CALL_SLOTS = 10  # distinct needs one account can record per day and area, with call refs


def call_subject(account_id: int | None, call_ref: str | None) -> str:
    """The asker of a search made for one call: the account and one of `CALL_SLOTS` slots
    picked by a digest of the call reference (the reference itself is never stored).

    Two calls the same day with the same need are usually two needs; the same call asking
    again is one. The slots bound what an account can add: however many references it makes
    up, at most `CALL_SLOTS` needs per day, area, population, bed type and reason. Without a
    reference the search is the account's one need of the day.
    """
    if not call_ref:
        return account_subject(account_id)
    slot = int.from_bytes(hashlib.sha256(call_ref.encode()).digest()[:4], "big") % CALL_SLOTS
    return f"{account_subject(account_id)}:call:{slot}"


def case_subject(agency_id: int, case_ref: str) -> str:
    return f"case:{agency_id}:{case_ref}"


def dedupe_key(*, subject: str, at: datetime, state: str | None, population: str | None,
               bed_type: str | None, reason: str) -> str:
    """The digest of (subject, UTC day, state, population, bed type, reason)."""
    parts = [subject, at.date().isoformat(), state or "", population or "", bed_type or "",
             reason]
    # A unit separator cannot occur in any part, so distinct tuples never share a key.
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def need(*, subject: str, state: str | None, population: str | None, bed_type: str | None,
         reason: str, source: str) -> dict[str, Any]:
    """The columns of one ledger row, with its dedupe key, recorded now."""
    at = utcnow()
    return {"at": at, "state": state, "population": population, "bed_type": bed_type,
            "reason": reason, "source": source,
            "dedupe_key": dedupe_key(subject=subject, at=at, state=state,
                                     population=population, bed_type=bed_type,
                                     reason=reason)}


def record(connection: Connection, row: dict[str, Any]) -> None:
    """Insert the row unless its need is already recorded (the caller commits)."""
    connection.execute(insert_skipping_conflicts(connection, _TABLE,
                                                 index_elements=["dedupe_key"]).values(**row))
