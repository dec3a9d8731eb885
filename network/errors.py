"""Errors of the partner network: one base class, each subclass naming its HTTP-neutral kind."""

from __future__ import annotations

from typing import ClassVar

from core.errors import DomainError, ErrorKind, InvalidInput


class NetworkError(DomainError):
    """Base of every expected failure of the directory, releases, referrals, tips and stats."""


class InvalidNetwork(InvalidInput, NetworkError):
    """A field is invalid (422 naming it): `InvalidInput`'s shape, under this package's base."""


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


class TipNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "tip-not-found"
    title = "Tip not found"


class ChartNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "chart-not-found"
    title = "No such chart"


class StatsReleaseNotFound(NetworkError):
    kind: ClassVar[ErrorKind] = "not_found"
    code = "stats-release-not-found"
    title = "No statistics release for that period"


class StatsReleaseExists(NetworkError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "stats-release-exists"
    title = "That period is already released and is never changed"


class PrivacyBudgetExceeded(NetworkError):
    kind: ClassVar[ErrorKind] = "conflict"
    code = "privacy-budget-exceeded"
    title = "The period's privacy budget does not cover that epsilon"
