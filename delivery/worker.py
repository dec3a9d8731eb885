"""The delivery worker: claim due messages, send each through its channel, record the outcome.

A claim is one short write transaction: the due rows (`pending` and due, or `sending` whose
lease ran out because a worker died holding them) are locked with SELECT ... FOR UPDATE SKIP
LOCKED on PostgreSQL, so several workers take disjoint batches without waiting on each other,
and marked `sending` under this worker's name until `lease_until`. On SQLite the same
statement runs without the lock clause inside BEGIN IMMEDIATE: one writer at a time, and one
worker is the supported setup there. Sending happens outside any transaction; the batch's
outcomes are then written in one transaction, each only if the row is still this worker's
claim.

Delivery is at least once; the idempotency key sent with every attempt lets the receiver make
it exactly once. A failed attempt is retried after an exponential backoff with jitter (half
fixed, half random, from an injectable `random.Random`), up to the message's `max_attempts`;
then, or at once for a final refusal, the message is `dead` with the reason. Nothing here
reads the wall clock on its own: `run_once(now=...)` lets a test drive the worker step by
step; `run` is the loop of `homeward worker`.

A message may be made moot between its writing and its time (a bed hold's lapse warning once
the hold is confirmed): the worker takes `guards`, per message kind, each saying why a claimed
message should not leave; such a message is `cancelled` with that reason instead of sent. The
guards come from the domains (the API passes them), so this package imports none of them.
`run` also applies the retention of messages without a case (`delivery.retention`) now and
then, when given one.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, update
from sqlmodel import Session, col, select

from core.clock import utcnow
from core.crypto import FieldCipher
from core.db import Database
from delivery.channels import Outcome, Outgoing, Senders
from delivery.models import Channel, DeliveryEndpoint, MessageState, OutboxMessage
from delivery.outbox import ADDRESS_FIELD, SECRET_FIELD, open_body
from delivery.retention import Retention, purge

# Why a claimed message of some kind should not leave after all (None: send it).
Guard = Callable[[Session, OutboxMessage, dict[str, Any], datetime], str | None]

log = logging.getLogger("homeward.delivery")


@dataclass(frozen=True)
class Backoff:
    base_s: float = 10.0
    cap_s: float = 3600.0

    def delay(self, attempts: int, rng: random.Random) -> timedelta:
        """Wait before attempt `attempts + 1`: half of base * 2^(attempts-1) (capped) fixed,
        the other half random, so failed messages do not retry in step."""
        raw = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return timedelta(seconds=raw / 2 + rng.uniform(0, raw / 2))


@dataclass(frozen=True)
class Claimed:
    id: int
    channel: Channel | None
    attempts: int
    max_attempts: int
    outgoing: Outgoing | None  # None: the endpoint is gone or inactive, or skipped
    skip: str | None = None  # a guard's reason not to send it


@dataclass
class RunReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0


def due(now: datetime) -> ColumnElement[bool]:
    """Due: pending and its time has come, or claimed by a worker whose lease ran out."""
    return or_(
        (col(OutboxMessage.state) == MessageState.PENDING.value)
        & (col(OutboxMessage.next_attempt_at) <= now),
        (col(OutboxMessage.state) == MessageState.SENDING.value)
        & (col(OutboxMessage.lease_until) < now))


class Worker:
    def __init__(self, db: Database, cipher: FieldCipher, senders: Senders, *, name: str,
                 batch: int = 20, lease: timedelta = timedelta(minutes=2),
                 backoff: Backoff | None = None, rng: random.Random | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 guards: Mapping[str, Guard] | None = None,
                 retention: Retention | None = None) -> None:
        self.db, self.cipher, self.senders, self.name = db, cipher, senders, name
        self.guards = dict(guards or {})
        self.retention = retention
        self._purged_at: datetime | None = None
        self.batch, self.lease = batch, lease
        self.backoff = backoff or Backoff()
        self.rng = rng or random.Random(0)  # noqa: S311 (jitter, not a secret)
        self.clock = clock

    def claim(self, now: datetime) -> list[Claimed]:
        with self.db.write_session() as session:
            ids = list(session.exec(
                select(OutboxMessage.id).where(due(now))
                .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
                .limit(self.batch).with_for_update(skip_locked=True)).all())
            if not ids:
                session.commit()
                return []
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(
                state=MessageState.SENDING.value, claimed_by=self.name,
                lease_until=now + self.lease, attempts=OutboxMessage.attempts + 1))
            rows = session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
                                .order_by(col(OutboxMessage.id))).all()
            claimed = [self._claimed(session, row, now) for row in rows]
            session.commit()
        return claimed

    def _claimed(self, session: Session, row: OutboxMessage, now: datetime) -> Claimed:
        assert row.id is not None
        body = open_body(self.cipher, row)
        skip = self._skip(session, row, body, now)
        if skip is not None:
            return Claimed(id=row.id, channel=row.channel, attempts=row.attempts,
                           max_attempts=row.max_attempts, outgoing=None, skip=skip)
        endpoint = session.get(DeliveryEndpoint, row.endpoint_id) if row.endpoint_id else None
        outgoing = None
        if endpoint is not None and endpoint.active:
            outgoing = Outgoing(
                message_id=row.id, idempotency_key=row.idempotency_key, kind=row.kind,
                body=body,
                address=self.cipher.open(endpoint.address_sealed, field=ADDRESS_FIELD),
                secret=self.cipher.open_optional(endpoint.secret_sealed, field=SECRET_FIELD),
                settings=dict(endpoint.settings), discreet=endpoint.discreet,
                attempt=row.attempts)
        return Claimed(id=row.id, channel=row.channel, attempts=row.attempts,
                       max_attempts=row.max_attempts, outgoing=outgoing)

    def _skip(self, session: Session, row: OutboxMessage, body: dict[str, Any],
              now: datetime) -> str | None:
        guard = self.guards.get(row.kind)
        if guard is None:
            return None
        try:
            with session.begin_nested():  # a failed statement must not end the claim
                return guard(session, row, body, now)
        except Exception:  # a broken guard must not stall the queue: send, as without one
            log.exception("guard failed on message %s", row.id)
            return None

    def send(self, claimed: Claimed) -> Outcome:
        if claimed.skip is not None:
            return Outcome(delivered=False, retry=False, detail=claimed.skip)
        if claimed.outgoing is None:
            return Outcome(delivered=False, retry=False, detail="endpoint removed or inactive")
        sender = self.senders.get(claimed.channel) if claimed.channel else None
        if sender is None:
            return Outcome(delivered=False, retry=False,
                           detail=f"no {claimed.channel} sender configured on this worker")
        try:
            return sender.send(claimed.outgoing)
        except Exception as exc:  # a bug in a channel must not stop the worker
            log.exception("sender failed on message %s", claimed.id)
            return Outcome(delivered=False, retry=True, detail=type(exc).__name__)

    def _outcome(self, claimed: Claimed, outcome: Outcome,
                 now: datetime) -> tuple[MessageState, dict[str, object]]:
        values: dict[str, object] = {"last_error": None if outcome.delivered
                                     else outcome.detail[:300], "lease_until": None}
        if claimed.skip is not None:
            values["last_error"] = f"skipped: {claimed.skip}"[:300]
            return MessageState.CANCELLED, values
        if outcome.delivered:
            values.update(delivered_at=now, provider_ref=outcome.provider_ref)
            return MessageState.DELIVERED, values
        if outcome.retry and claimed.attempts < claimed.max_attempts:
            values["next_attempt_at"] = now + self.backoff.delay(claimed.attempts, self.rng)
            return MessageState.PENDING, values
        if outcome.retry:
            values["last_error"] = (f"gave up after {claimed.attempts} attempts: "
                                    f"{outcome.detail}")[:300]
        return MessageState.DEAD, values

    def record(self, results: list[tuple[Claimed, Outcome]], now: datetime) -> list[str]:
        """Write a batch's outcomes in one transaction, each only if the row is still this
        worker's claim (a claim whose lease ran out may have passed to another worker); the
        new states. One commit per batch, not per message: a worker that dies before it
        leaves its sent messages to be sent again, which the idempotency key makes harmless."""
        states: list[str] = []
        with self.db.write_session() as session:
            for claimed, outcome in results:
                state, values = self._outcome(claimed, outcome, now)
                session.execute(update(OutboxMessage).where(
                    col(OutboxMessage.id) == claimed.id,
                    col(OutboxMessage.claimed_by) == self.name,
                    col(OutboxMessage.state) == MessageState.SENDING.value,
                ).values(state=state.value, **values))
                states.append(state.value)
            session.commit()
        return states

    def run_once(self, *, now: datetime | None = None) -> RunReport:
        """Claim one batch at `now`, send it and record every outcome (at `now` too when
        given, so a test decides what time it is)."""
        claimed = self.claim(now or self.clock())
        report = RunReport(claimed=len(claimed))
        if not claimed:
            return report
        results = [(one, self.send(one)) for one in claimed]
        for state in self.record(results, now or self.clock()):
            if state == MessageState.DELIVERED:
                report.delivered += 1
            elif state == MessageState.PENDING:
                report.retried += 1
            elif state == MessageState.CANCELLED:
                report.skipped += 1
            else:
                report.dead += 1
        return report

    def run(self, stop: threading.Event, *, idle_s: float = 1.0) -> None:
        """Deliver until `stop` is set, pausing `idle_s` whenever nothing was due."""
        while not stop.is_set():
            try:
                self.keep_tidy(self.clock())
                report = self.run_once()
            except Exception:  # the database went away for a moment: try again later
                log.exception("delivery round failed")
                report = RunReport()
            if report.claimed == 0:
                stop.wait(idle_s)

    def keep_tidy(self, now: datetime) -> int:
        """Apply the retention, at most once per its `every`; rows touched."""
        if self.retention is None or (self._purged_at is not None
                                      and now - self._purged_at < self.retention.every):
            return 0
        self._purged_at = now
        with self.db.write_session() as session:
            done = purge(session, retention=self.retention, now=now)
        return done.bodies + done.rows
