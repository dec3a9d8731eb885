"""How the travel pages read: local times with their zone, waits between rides, verbs, timelines.

The search form takes the departure as a wall-clock time in the origin's time zone (what the
survivor and the case manager say on the phone) and turns it into an instant here; a time the
clocks skip (spring forward) is refused, an ambiguous one (fall back) is the earlier of the two.
Itineraries come back with each time in its stop's local offset; the pages show them as they are,
with the offset, and put each transfer's wait between the rides. Plan states read as nouns in
badges and as verbs on buttons ("Approve", "Cancel trip"), never as raw state names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.web import forms
from api.web.wording import Phrase
from logistics.travel.feed_models import ItineraryPublic
from logistics.travel.plan_models import PlanStatus

# msgids: the button that moves a plan into each state, and each state as a badge reads it
VERBS = {
    PlanStatus.APPROVED: "Approve",
    PlanStatus.BOOKED: "Mark booked",
    PlanStatus.IN_TRANSIT: "Mark departed",
    PlanStatus.ARRIVED: "Mark arrived",
    PlanStatus.CANCELLED: "Cancel trip",
}
STATES = {
    "proposed": "Proposed", "approved": "Approved", "booked": "Booked",
    "in_transit": "In transit", "arrived": "Arrived", "cancelled": "Cancelled",
    "pending": "Pending", "due": "Due", "overdue": "Overdue", "safe": "Safe",
    "concern": "Concern", "active": "Active", "confirmed": "Confirmed",
    "released": "Released", "expired": "Expired",
}
MODES = {"rail": "Train", "bus": "Bus", "air": "Flight", "walk": "Walk", "other": "Other"}
# Forward steps first, "Cancel trip" last, whatever the set's order.
STEP_ORDER = [PlanStatus.APPROVED, PlanStatus.BOOKED, PlanStatus.IN_TRANSIT,
              PlanStatus.ARRIVED, PlanStatus.CANCELLED]


def next_steps(allowed: frozenset[PlanStatus]) -> list[PlanStatus]:
    return [s for s in STEP_ORDER if s in allowed]


def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_departure(text: str, tz: ZoneInfo) -> datetime:
    """The instant of a `YYYY-MM-DDTHH:MM` wall-clock time in `tz`."""
    try:
        wall = datetime.fromisoformat(text.strip())
    except ValueError:
        raise forms.FormError([("depart_after", "give a date and time")]) from None
    if wall.tzinfo is not None:
        return wall  # an explicit offset is taken as written
    moment = wall.replace(tzinfo=tz, fold=0)
    # A time in the spring-forward gap does not come back unchanged from UTC.
    if moment.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise forms.FormError([("depart_after", "that local time does not exist (the clocks "
                                                "move forward then): pick another")])
    return moment


MINUS = "\u2212"


def offset_label(moment: datetime) -> str:
    """`UTC-05:00` for a time with an offset, with a real minus sign (U+2212), as screen
    readers say it."""
    offset = moment.utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes >= 0 else MINUS}{hours:02d}:{mins:02d}"


def zone_label(tz: ZoneInfo, moment: datetime) -> str:
    """`America/Chicago (CDT, UTC-05:00)` (with a real minus sign): the zone a form's local
    time was read in."""
    local = moment.astimezone(tz)
    return f"{tz.key} ({local.tzname()}, {offset_label(local)})"


def clock(text: str) -> dict[str, str]:
    """A local ISO time as the page shows it: date, hour and minute, and the UTC offset."""
    moment = datetime.fromisoformat(text)
    return {"iso": moment.isoformat(), "date": moment.strftime("%Y-%m-%d"),
            "time": moment.strftime("%H:%M"), "offset": offset_label(moment)}


def steps(itinerary: ItineraryPublic) -> list[dict[str, Any]]:
    """Rides and, between them, each transfer's wait (where, how long, overnight or not)."""
    out: list[dict[str, Any]] = []
    legs = itinerary.legs
    for i, leg in enumerate(legs):
        out.append({"kind": "leg", "mode": leg.mode,
                    "mode_label": MODES.get(leg.mode, MODES["other"]), "carrier": leg.carrier,
                    "origin": leg.origin, "destination": leg.destination,
                    "depart": clock(leg.depart), "arrive": clock(leg.arrive)})
        if i + 1 < len(legs):
            following = legs[i + 1]
            wait = (datetime.fromisoformat(following.depart)
                    - datetime.fromisoformat(leg.arrive)).total_seconds() // 60
            out.append({"kind": "wait", "place": leg.destination, "minutes": int(wait),
                        "overnight": following.overnight_layover})
    return out


def duration(minutes: int) -> tuple[int, int]:
    return divmod(max(minutes, 0), 60)


def timelines(options: Sequence[ItineraryPublic]) -> list[list[dict[str, Any]]]:
    """Each ride's and wait's left edge and width in percent of one axis shared by every
    option, so options compare at a glance."""
    if not options:
        return []
    start = min(datetime.fromisoformat(o.depart) for o in options)
    end = max(datetime.fromisoformat(o.arrive) for o in options)
    span = max((end - start).total_seconds(), 1.0)

    def place(a: str, b: str) -> tuple[float, float]:
        left = (datetime.fromisoformat(a) - start).total_seconds() / span * 100
        width = (datetime.fromisoformat(b) - datetime.fromisoformat(a)).total_seconds()
        return round(left, 2), round(max(width / span * 100, 0.8), 2)

    out = []
    for option in options:
        bars = []
        for i, leg in enumerate(option.legs):
            left, width = place(leg.depart, leg.arrive)
            mode = leg.mode if leg.mode in ("rail", "bus", "air", "walk") else "other"
            bars.append({"left": left, "width": width, "mode": mode, "text": MODES[mode],
                         "origin": leg.origin, "destination": leg.destination})
            if i + 1 < len(option.legs) and option.legs[i + 1].depart > leg.arrive:
                left, width = place(leg.arrive, option.legs[i + 1].depart)
                bars.append({"left": left, "width": width, "mode": "wait", "text": "Wait",
                             "origin": leg.destination, "destination": leg.destination})
        out.append(bars)
    return out


def avoid_points(text: str) -> list[dict[str, float]]:
    """Places to avoid as the form (or the map) writes them: `lat, lon, radius km` a line."""
    points = []
    for n, line in enumerate([x for x in text.replace(";", "\n").splitlines() if x.strip()], 1):
        parts = [p.strip() for p in line.split(",")]
        try:
            lat, lon, radius = (float(p) for p in parts)
        except ValueError:
            raise forms.FormError([("avoid_points", Phrase(
                'line {n}: write "lat, lon, radius in km"', {"n": n}))]) from None
        points.append({"lat": lat, "lon": lon, "radius_km": radius})
    return points


def check_in_clock(due: datetime, itinerary: ItineraryPublic) -> dict[str, str]:
    """A check-in's due time in the local time of the stop it is due at (the arrival of the
    ride that ends there), else in UTC."""
    for leg in itinerary.legs:
        arrive = datetime.fromisoformat(leg.arrive)
        if arrive == due:
            return clock(leg.arrive)
    return clock(due.astimezone(UTC).isoformat())


def minutes_left(expires: datetime, now: datetime) -> int:
    return max(int((expires - now).total_seconds() // 60), 0)
