"""Idempotency-Key: a repeated request replays the first answer instead of acting twice.

The key is claimed inside the request's own transaction, so the claim commits or rolls back
with the work it guards: a request that failed leaves no claim, and its retry acts once. Two
concurrent requests with one key serialise on the unique index (PostgreSQL blocks the second
insert until the first commits); the loser replays the winner's stored answer.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.errors import IdempotencyMismatch
from core.models import IdempotencyRecord


def claim(session: Session, *, account_id: int, key: str,
          request_hash: str) -> dict[str, Any] | None:
    """The stored answer for a repeated key, or None after claiming the key for this request."""
    query = select(IdempotencyRecord).where(IdempotencyRecord.account_id == account_id,
                                            IdempotencyRecord.key == key)
    stored = session.exec(query).first()
    if stored is None:
        session.add(IdempotencyRecord(account_id=account_id, key=key,
                                      request_hash=request_hash))
        try:
            session.flush()
            return None
        except IntegrityError:
            session.rollback()
            stored = session.exec(query).one()
    if stored.request_hash != request_hash:
        raise IdempotencyMismatch("this Idempotency-Key was used with a different request body")
    return dict(stored.response)


def remember(session: Session, *, account_id: int, key: str, response: dict[str, Any],
             status_code: int = 201) -> None:
    """Store the answer to replay, in the same transaction as the work it describes."""
    session.execute(update(IdempotencyRecord).where(
        col(IdempotencyRecord.account_id) == account_id, col(IdempotencyRecord.key) == key,
    ).values(status_code=status_code, response=response))
