"""Errors of the logistics domain: one base class, each subclass naming its HTTP-neutral kind.

Every room of `logistics` raises from here; `api/errors.py` turns each kind into one status:

    DomainError (core)
    └── LogisticsError
        ├── invalid (422): InvalidLogistics (also an InvalidInput), InvalidHsds, FeedInvalid
        ├── not found (404): ShelterNotFound, HoldNotFound, CaseNotFound, TravelPlanNotFound,
        │   AlertNotFound, FundingSourceNotFound, AllocationNotFound, ReturnPlanNotFound
        ├── forbidden (403): NotShelterStaff
        ├── conflict (409): InsufficientCapacity, HoldNotActive, MassRescueBudgetExceeded,
        │   CaseClosed, InvalidTransition, ItineraryExpired, ItineraryUnavailable,
        │   OpenAlerts, AlertAcknowledged, AllocationCommitted, FundingExhausted,
        │   ReturnPlanConflict
        ├── precondition failed (412): StaleCounts
        ├── too many (429): TooManyHolds, TooManyProbes
        └── unavailable (503): SolverUnavailable

`GtfsError` is the GTFS parser's own error (a ValueError naming file, row and field); the feed
import wraps it in `FeedInvalid`, never lets it out.
"""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind, InvalidInput


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


class InvalidLogistics(InvalidInput, LogisticsError):
    """A field is invalid (422 naming it): `InvalidInput`'s shape, under this package's base."""


class TooManyProbes(LogisticsError):
    kind: ClassVar[ErrorKind] = "too_many"
    code = "too-many-probes"
    title = "Too many different search or matching areas around one place"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class InvalidHsds(LogisticsError):
    """An HSDS dataset that cannot become shelters; `errors` names every offending field."""

    kind: ClassVar[ErrorKind] = "invalid"
    code = "invalid-hsds"
    title = "Invalid HSDS dataset"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        fields = ", ".join(e["field"] for e in errors[:10])
        super().__init__(f"{len(errors)} problem(s) in the dataset: {fields}",
                         extra={"errors": errors})
        self.errors = errors


class CaseNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "case-not-found"
    title = "Case not found"


class CaseClosed(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "case-closed"
    title = "The case is closed"


class GtfsError(ValueError):
    """A broken GTFS feed: names the file, the 1-based line (header = 1) and the field."""

    def __init__(self, file: str, row: int | None, fld: str | None, message: str) -> None:
        where = file + (f" row {row}" if row is not None else "")
        where += f" field {fld}" if fld is not None else ""
        super().__init__(f"{where}: {message}")
        self.file, self.row, self.field = file, row, fld


class FeedInvalid(LogisticsError):
    kind: ClassVar[ErrorKind] = "invalid"
    code = "invalid-feed"
    title = "Invalid GTFS feed"

    def __init__(self, error: GtfsError) -> None:
        where = error.file + (f" row {error.row}" if error.row is not None else "")
        super().__init__(str(error), extra={"errors": [
            {"field": where + (f" field {error.field}" if error.field else ""),
             "message": str(error)}]})
        self.file, self.row, self.field = error.file, error.row, error.field


class TravelPlanNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "travel-plan-not-found"
    title = "Travel plan not found"


class InvalidTransition(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "invalid-transition"
    title = "This status change is not allowed"


class SolverUnavailable(LogisticsError):
    kind: ClassVar[ErrorKind] = "unavailable"
    code = "solver-unavailable"
    title = "The solver is unavailable"


class ItineraryExpired(LogisticsError):
    # 409, not 422: the id was good when given; a new search gives a new one.
    kind: ClassVar[ErrorKind] = "conflict"
    code = "itinerary-expired"
    title = "The itinerary id has expired: search again"


class ItineraryUnavailable(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "itinerary-unavailable"
    title = "The itinerary can no longer be booked: search again"


class OpenAlerts(InvalidTransition):
    """A plan with an unacknowledged safety alert cannot become `arrived`."""

    code = "open-alerts"
    title = "The travel plan has open safety alerts"


class AlertNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "alert-not-found"
    title = "Alert not found"


class AlertAcknowledged(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "alert-acknowledged"
    title = "The alert is already acknowledged"


class FundingSourceNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "funding-source-not-found"
    title = "Funding source not found"


class AllocationNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "allocation-not-found"
    title = "Allocation not found"


class AllocationCommitted(LogisticsError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "allocation-committed"
    title = "The allocation is already committed"


class FundingExhausted(LogisticsError):
    """Committing would spend more than a funding source has left (spent since the solve)."""

    kind: ClassVar[ErrorKind] = "conflict"
    code = "funding-exhausted"
    title = "A funding source no longer has the budget for this allocation"


class ReturnPlanNotFound(LogisticsError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "return-plan-not-found"
    title = "Return plan not found"


class ReturnPlanConflict(LogisticsError):
    """Accepting a return plan cannot be done as planned (a case already accepted, a bed or
    the money gone since the solve, a hold that could no longer cover the arrival)."""

    kind: ClassVar[ErrorKind] = "conflict"
    code = "return-plan-conflict"
    title = "The return plan cannot be accepted as it stands"
