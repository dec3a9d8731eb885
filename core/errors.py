"""The kernel's errors: one base class, and a `kind` that the API maps to an HTTP status.

Domain packages derive their own base from `DomainError` and pick one of these kinds, so a
"not found" in the registry and one in safety plans read the same to a client, and the mapping
to problem+json lives in one place (`api/errors.py`).

    DomainError (expected failures, shown to callers as problem+json)
    ├── InvalidInput, NotFound, Forbidden, Unauthenticated, Conflict, PreconditionFailed,
    │   PreconditionRequired, TooManyAttempts, IdempotencyMismatch
    └── each package's base: LogisticsError, NetworkError, SafetyPlanError, ...
    RuleBroken (ValueError with a code: a validator's refusal a page can translate)
    KeyError_, DecryptionError (ValueError: a bad key or a sealed value that does not open)
    AuditTampering (RuntimeError: code that tried to change the audit log; a bug)
"""

from __future__ import annotations

from typing import ClassVar, Literal

ErrorKind = Literal[
    "invalid",
    "not_found",
    "forbidden",
    "conflict",
    "precondition_failed",
    "precondition_required",
    "unauthenticated",
    "too_many",
    "unavailable",
]


class DomainError(Exception):
    """Base of every expected failure; `detail` is safe to show (no personal data)."""

    kind: ClassVar[ErrorKind] = "invalid"
    code: ClassVar[str] = "invalid-request"
    title: ClassVar[str] = "Invalid request"

    def __init__(self, detail: str, *, extra: dict[str, object] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra or {}


class InvalidInput(DomainError):
    kind = "invalid"
    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, extra={"errors": [{"field": field, "message": detail}]})
        self.field = field


class NotFound(DomainError):
    kind = "not_found"
    code = "not-found"
    title = "Not found"


class Forbidden(DomainError):
    kind = "forbidden"
    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    kind = "unauthenticated"
    code = "unauthenticated"
    title = "Authentication required"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(DomainError):
    kind = "precondition_failed"
    code = "stale-version"
    title = "The resource changed since you read it"


class PreconditionRequired(DomainError):
    kind = "precondition_required"
    code = "if-match-required"
    title = "If-Match header required"


class TooManyAttempts(DomainError):
    kind = "too_many"
    code = "too-many-attempts"
    title = "Too many failed attempts"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class IdempotencyMismatch(DomainError):
    kind: ClassVar[ErrorKind] = "invalid"
    code = "idempotency-key-reused"
    title = "Idempotency-Key reused with a different request"


class RuleBroken(ValueError):
    """A validator's refusal with a stable `code` (e.g. `location-incomplete`).

    Raised inside pydantic validators, it stays a `value_error` whose message is the English
    text, so the API answers exactly as before; a web page reads the code from the error's
    context and says it in the page's language (`api/web/wording.py`).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class KeyError_(ValueError):
    """The configured key is malformed (wrong length or not base64)."""


class DecryptionError(ValueError):
    """A sealed value did not open: wrong key, wrong field, or tampered bytes."""


class AuditTampering(RuntimeError):
    """Raised when code tries to change or delete an audit row: a bug, never a user error."""
