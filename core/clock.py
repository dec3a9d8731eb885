"""One source of "now": timezone-aware UTC, so no naive timestamp ever enters the system."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(UTC)
