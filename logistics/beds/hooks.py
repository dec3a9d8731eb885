"""Hooks for rooms above the registry: who wants to know, in the same transaction, that
holds ended early.

The registry must not import the rooms above it (travel, return plans), yet a hold released
early can break a plan made on it. So a higher room registers a callback here under its own
name (re-registering replaces it) and the registry calls every callback, in the transaction
that ended the holds, with their ids and the time. A callback must only stage changes in that
session, never commit, and must not fail for holds it does not know.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

HoldsEnded = Callable[[Session, list[int], datetime], None]
_ON_HOLDS_ENDED: dict[str, HoldsEnded] = {}


def on_holds_ended(name: str, callback: HoldsEnded) -> None:
    _ON_HOLDS_ENDED[name] = callback


def holds_ended(session: Session, hold_ids: list[int], now: datetime) -> None:
    """Tell every registered room that these holds ended (released) at `now`."""
    if not hold_ids:
        return
    for callback in list(_ON_HOLDS_ENDED.values()):
        callback(session, hold_ids, now)
