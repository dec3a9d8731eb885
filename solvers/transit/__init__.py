"""Return-home transit engine: public entry points for earliest arrival and safe itineraries.

`build_timetable` indexes a `Network` once; `earliest_arrival` answers the fastest arrival time
between two stops (a trip-scanning Dijkstra over FIFO route patterns: each settled stop boards
the earliest trip of every pattern through it and scans that trip once, with RAPTOR's
"already boarded earlier" pruning); `plan_trips` runs the multi-criteria search with every safety
constraint and returns itineraries plus reasons. Semantics shared with the networkx reference:
the traveller is ready at the origin at `depart_after`; staying seated is always allowed;
alighting needs drop-off, boarding needs pickup; after alighting at a stop one may board again
after max(stop minimum transfer, query minimum transfer) minutes, or walk a one-hop footpath.
"""

from __future__ import annotations

from solvers.errors import TransitInputError
from solvers.transit.earliest_arrival import earliest_arrival_multi
from solvers.transit.index import Timetable, build_timetable, local_iso
from solvers.transit.model import (
    Avoid,
    AvoidPoint,
    Carrier,
    Connection,
    Footpath,
    Itinerary,
    Leg,
    Mode,
    Network,
    Place,
    SearchResult,
    StationType,
    Stop,
    Trip,
    TripQuery,
    UnscheduledService,
)
from solvers.transit.plan import plan_trips

__all__ = [
    "Avoid",
    "AvoidPoint",
    "Carrier",
    "Connection",
    "Footpath",
    "Itinerary",
    "Leg",
    "Mode",
    "Network",
    "Place",
    "SearchResult",
    "StationType",
    "Stop",
    "Timetable",
    "TransitInputError",
    "Trip",
    "TripQuery",
    "UnscheduledService",
    "build_timetable",
    "earliest_arrival",
    "local_iso",
    "plan_trips",
]

def earliest_arrival(
    tt: Timetable,
    origin: int,
    target: int,
    depart_after: int,
    *,
    min_transfer_minutes: int = 0,
) -> int | None:
    """Earliest UTC epoch minute at which `target` can be reached, or None if unreachable."""
    n = len(tt.network.stops)
    if not (0 <= origin < n and 0 <= target < n):
        raise TransitInputError("stop", "origin or target stop index out of range")
    if min_transfer_minutes < 0:
        raise TransitInputError("min_transfer_minutes", "must not be negative")
    if origin == target:
        return depart_after
    return earliest_arrival_multi(tt, {origin: depart_after}, {target: 0}, min_transfer_minutes)
