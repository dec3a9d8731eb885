"""Reading a GTFS-Realtime feed on a schedule: fetch, record disruptions, sweep holds, repeat.

`read_once` records, as the system, a disruption for every live plan a feed touches (and
alerts the case managers, once per plan and cause however often the feed is read), then
sweeps for plans whose destination hold has ended; it returns lines to print. `poll` fetches
a URL with httpx (a timeout on every request, no redirects to other schemes) and runs
`read_once` every `every_s` seconds; a fetch that fails, an HTTP error or a body that is not
a FeedMessage is reported and the next attempt waits twice as long (up to 16 intervals),
resetting after a good read, so a bad feed (or a database that is briefly away) never ends
the loop. No survivor data is printed:
plan and case ids and the reasons (trip, route and stop ids) only.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from sqlalchemy.exc import SQLAlchemyError

from core.crypto import FieldCipher
from core.db import Database
from core.errors import DomainError
from core.principal import SYSTEM
from logistics.return_plans import disruptions, restore
from logistics.travel.timetables import TimetableStore
from logistics.travel.vouch import ItineraryIds

MAX_BACKOFF = 16
MAX_FEED_BYTES = 10_000_000


@dataclass(frozen=True)
class Poller:
    url: str
    timeout_s: float = 20.0
    every_s: float = 60.0


def read_once(db: Database, *, cipher: FieldCipher, ids: ItineraryIds,
              timetables: TimetableStore, data: bytes) -> list[str]:
    """One feed read and one hold sweep, each in its own transaction; lines to print."""
    with db.write_session() as session:
        out = restore.replan_feed(session, actor=SYSTEM, cipher=cipher, ids=ids,
                                  timetables=timetables, data=data, propose_too=False)
    with db.write_session() as session:
        holds = disruptions.sweep(session, cipher=cipher)
    lines = [f"travel plan {a.travel_plan_id} (case {a.case_id}), disruption "
             f"{a.disruption_id}: {'; '.join(a.reasons)}" for a in out.affected]
    lines.append(f"{len(out.affected)} travel plans disrupted")
    lines.append(f"{holds} travel plans whose destination hold has ended")
    return lines


def fetch(client: httpx.Client, poller: Poller) -> bytes:
    response = client.get(poller.url, timeout=poller.timeout_s)
    response.raise_for_status()
    if len(response.content) > MAX_FEED_BYTES:
        raise ValueError("the feed is larger than 10 MB")
    return response.content


def poll(db: Database, poller: Poller, *, cipher: FieldCipher, ids: ItineraryIds,
         timetables: TimetableStore, echo: Callable[[str], object],
         rounds: int | None = None, sleep: Callable[[float], object] = time.sleep) -> bool:
    """Read the URL every interval (forever, or `rounds` times); whether the last read was
    good."""
    backoff = 1
    good = False
    done = 0
    with httpx.Client(follow_redirects=False) as client:
        while rounds is None or done < rounds:
            done += 1
            try:
                lines = read_once(db, cipher=cipher, ids=ids, timetables=timetables,
                                  data=fetch(client, poller))
            except (httpx.HTTPError, ValueError, DomainError, SQLAlchemyError) as exc:
                good = False
                # A database error's text carries its SQL parameters: its kind only.
                why = (type(exc).__name__ if isinstance(exc, SQLAlchemyError)
                       else f"{type(exc).__name__}: {exc}")
                echo(f"feed not read ({why}); retrying in {poller.every_s * backoff:g} s")
                wait = poller.every_s * backoff
                backoff = min(backoff * 2, MAX_BACKOFF)
            else:
                good = True
                backoff = 1
                for line in lines:
                    echo(line)
                wait = poller.every_s
            if rounds is None or done < rounds:
                sleep(wait)
    return good
