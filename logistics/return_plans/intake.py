"""Intake hours as absolute windows: a shelter's weekly schedule between two instants.

The joint planner checks an arrival against windows in UTC epoch minutes; a shelter keeps a
weekly schedule in its own time zone (`logistics.shelters.schedule`). This turns one into the
other for every local day the span touches, so a daylight-saving change is honoured. No
schedule means intake around the clock (no windows: the planner then checks nothing). Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from logistics.vocabulary import WEEKDAYS


def _at(day: datetime, text: str, zone: ZoneInfo) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    local = datetime.combine(day.date(), time(0, 0), tzinfo=zone) + timedelta(
        hours=hours, minutes=minutes)
    return int(local.astimezone(UTC).timestamp()) // 60


def windows(schedule: dict[str, list[list[str]]] | None, timezone: str, start: datetime,
            end: datetime) -> tuple[tuple[int, int], ...]:
    """(open, close) epoch minutes of every intake window overlapping [start, end]."""
    if schedule is None:
        return ()
    zone = ZoneInfo(timezone)
    day = start.astimezone(zone) - timedelta(days=1)
    last = end.astimezone(zone) + timedelta(days=1)
    lo, hi = int(start.timestamp()) // 60, int(end.timestamp()) // 60
    found = []
    while day.date() <= last.date():
        for a, b in schedule.get(WEEKDAYS[day.weekday()], []):
            w = (_at(day, a, zone), _at(day, b, zone) - 1)  # the close minute is not open
            if w[1] >= lo and w[0] <= hi:
                found.append(w)
        day += timedelta(days=1)
    # No window in the span at all: an impossible window, so every arrival is outside.
    return tuple(sorted(found)) or ((0, -1),)
