"""Travel plans in tests are made the only way the API allows: search, then an itinerary id.

`load_year_round` stores the small Chicago-Denver feed of `test_travel_api` running every day
from 2020 to 2039, so a search for any day near "now" finds the daily train (14:00 Chicago,
through Omaha, Denver 07:15 next morning), the bus through Kansas City and the flight.
A plan whose trip is already over is made under `frozen_clock` set before its departure
(the API refuses a departure in the past), then read back at the real time.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient

from api.deps import Services
from tests.api.test_travel_api import STOP_TIMES, load_small, query
from tests.support import Account

CHICAGO = ZoneInfo("America/Chicago")
YEAR_ROUND = ("service_id,monday,tuesday,wednesday,thursday,friday,saturday,sunday,"
              "start_date,end_date\nD,1,1,1,1,1,1,1,20200101,20391231\n")


# Two cheap buses with a change at Kansas City, so that one option has a transfer check-in.
LOCAL_BUSES = (("L1", "CHI", 1, "08:30:00"), ("L1", "KCY", 2, "16:00:00"),
               ("L2", "KCY", 1, "17:00:00"), ("L2", "DEN", 2, "33:00:00"))
TRIPS = "route_id,service_id,trip_id\nZEPHYR,D,T1\nBUS,D,B1\nFLY,D,F1\nBUS,D,L1\nBUS,D,L2\n"


def load_year_round(services: Services, *, without: str = "") -> None:
    """The feed; `without` names a trip left out (a timetable that changed)."""
    times = "trip_id,stop_id,stop_sequence,arrival_time,departure_time\n" + "".join(
        f"{t},{s},{q},{h},{h}\n" for t, s, q, h in STOP_TIMES + LOCAL_BUSES if t != without)
    trips = "".join(line + "\n" for line in TRIPS.splitlines()
                    if not without or not line.endswith(f",{without}"))
    with tempfile.TemporaryDirectory() as root:
        load_small(services, Path(root), **{"calendar.txt": YEAR_ROUND,
                                            "stop_times.txt": times, "trips.txt": trips})


def morning(day: date) -> datetime:
    """08:00 in Chicago on `day`: before the train (14:00) and the bus (09:00)."""
    return datetime.combine(day, time(8), tzinfo=CHICAGO)


def search(client: TestClient, who: Account, depart_after: datetime,
           **overrides: Any) -> list[dict[str, Any]]:
    body = query(**{"depart_after": depart_after.isoformat(), "has_id": False, **overrides})
    found = client.post("/v1/itineraries/search", json=body, headers=who.headers)
    assert found.status_code == 200, found.text
    return list(found.json()["itineraries"])


def by_mode(options: list[dict[str, Any]], mode: str) -> dict[str, Any]:
    return next(o for o in options if any(leg["mode"] == mode for leg in o["legs"]))


def vouched(client: TestClient, who: Account, depart_after: datetime, mode: str = "rail",
            **overrides: Any) -> str:
    """The itinerary id of the search's option riding `mode` (the train by default)."""
    return str(by_mode(search(client, who, depart_after, **overrides), mode)["itinerary_id"])


def tomorrow() -> datetime:
    return morning(datetime.now(CHICAGO).date() + timedelta(days=1))
