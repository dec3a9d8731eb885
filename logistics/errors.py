"""Errors of the logistics domain: one base class, each subclass naming its HTTP-neutral kind."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind


class LogisticsError(DomainError):
    """Base of every expected logistics failure."""


class ShelterNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "shelter-not-found"
    title = "Shelter not found"


class HoldNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "hold-not-found"
    title = "Hold not found"


class NotShelterStaff(LogisticsError):
    kind: ClassVar[ErrorKind] = "forbidden"
    code = "not-shelter-staff"
    title = "Only this shelter's coordinators and admins may do this"


class InsufficientCapacity(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "insufficient-capacity"
    title = "Not enough beds"


class HoldNotActive(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "hold-not-active"
    title = "The hold is no longer active"


class StaleCounts(LogisticsError):
    kind: ClassVar[ErrorKind] = "precondition_failed"
    code = "stale-version"
    title = "The bed counts changed since you read them"


class TooManyHolds(LogisticsError):
    kind: ClassVar[ErrorKind] = "too_many"
    code = "too-many-holds"
    title = "Too many active holds"


class MassRescueBudgetExceeded(LogisticsError):
    # 409, not the 429 of the account cap: waiting and retrying does not help, an admin's
    # budget or confirming / releasing the agency's batch holds does (429 invites retries).
    kind: ClassVar[ErrorKind] = "conflict"
    code = "mass-rescue-budget-exceeded"
    title = "The agency's mass-rescue hold budget would be exceeded"


class IdempotencyMismatch(LogisticsError):
    kind: ClassVar[ErrorKind] = "invalid"
    code = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class InvalidLogistics(LogisticsError):
    kind: ClassVar[ErrorKind] = "invalid"
    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, extra={"errors": [{"field": field, "message": detail}]})


class TooManyProbes(LogisticsError):
    kind: ClassVar[ErrorKind] = "too_many"
    code = "too-many-probes"
    title = "Too many different search or matching areas around one place"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
