"""Errors of the partner network: one base class, each subclass naming its HTTP-neutral kind."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind


class NetworkError(DomainError):
    """Base of every expected failure of the directory, releases, referrals, tips and stats."""


class InvalidNetwork(NetworkError):
    kind: ClassVar[ErrorKind] = "invalid"
    code = "invalid-input"
    title = "Invalid input"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail, extra={"errors": [{"field": field, "message": detail}]})
        self.field = field


class OrganizationNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "organization-not-found"
    title = "Organization not found"


class ReleaseNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "release-not-found"
    title = "Release not found"


class ReferralNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "referral-not-found"
    title = "Referral not found"


class ReleaseMissing(NetworkError):
    """Personal data was asked for without an active release covering it for that recipient."""

    kind: ClassVar[ErrorKind] = "forbidden"
    code = "release-missing"
    title = "No active release covers this share"


class ReferralTransition(NetworkError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "referral-status-conflict"
    title = "The referral cannot move to that status"
