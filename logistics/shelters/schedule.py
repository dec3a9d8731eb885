"""Intake hours: whether a shelter takes people in at a given instant, in its own time zone.

A schedule is a weekly set of windows per weekday in local time ("mon": [["08:00", "20:00"]]);
no schedule means intake around the clock. Windows ending at "24:00" run to midnight.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from logistics.vocabulary import WEEKDAYS


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def is_open(schedule: dict[str, list[list[str]]] | None, timezone: str, at: datetime) -> bool:
    if schedule is None:
        return True
    local = at.astimezone(ZoneInfo(timezone))
    day = WEEKDAYS[local.weekday()]
    now = local.hour * 60 + local.minute
    return any(_minutes(start) <= now < _minutes(end) for start, end in schedule.get(day, []))
