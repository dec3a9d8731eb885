"""Errors raised by the safety-plan engine when its caller hands it bad input.

Every outcome of screening and planning is a value; an exception means the input itself was
wrong (an unknown answer key, an answer of the wrong type, an unknown language, an edit naming a
step that does not exist). Each subclass carries the offending ``field`` so the HTTP layer can
turn it into a 422 that names the field without parsing messages.
"""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind


class SafetyPlanError(DomainError):
    """Base class for every error the safety-plan engine raises on bad input.

    A kernel DomainError of kind "invalid", so the API answers 422 with ``errors`` naming the
    field, through the one mapping in ``api/errors.py``.
    """

    kind: ClassVar[ErrorKind] = "invalid"
    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}",
                         extra={"errors": [{"field": field, "message": message}]})
        self.field = field
        self.message = message


class InvalidAnswerError(SafetyPlanError):
    """A screening answer is unknown, of the wrong type, or out of range."""


class UnknownLanguageError(SafetyPlanError):
    """A language has no shipped catalogue and the caller did not allow English fallback."""

    def __init__(self, language: str, available: tuple[str, ...], field: str = "language") -> None:
        super().__init__(
            # The value sent is not repeated: error bodies never echo what a caller typed.
            field, f"unsupported language; available: {', '.join(available)}"
        )
        self.language = language
        self.available = available


class InvalidPlanInputError(SafetyPlanError):
    """Plan inputs (shelters, travel link, priorities, code word) are malformed."""


class PlanEditError(SafetyPlanError):
    """An advocate's edit cannot apply: unknown step, duplicate id, or a protected step."""


class RenderError(SafetyPlanError):
    """A rendering option is invalid (unknown format, bad segment limit, missing font file)."""


class SafetyPlanNotFound(DomainError):
    """A plan, screening or proposal that does not exist or belongs to another agency's case."""

    kind: ClassVar[ErrorKind] = "not_found"
    code = "safety-plan-not-found"
    title = "Not found"


class StaleProposal(DomainError):
    """A proposal computed against an older revision of the plan than the current one."""

    kind: ClassVar[ErrorKind] = "conflict"
    code = "stale-proposal"
    title = "The plan changed since this proposal was made"


class NoSafeChannel(DomainError):
    """A plan SMS was asked for, but the survivor marked no channel safe to write to."""

    kind: ClassVar[ErrorKind] = "conflict"
    code = "no-safe-channel"
    title = "No channel the survivor marked safe"
