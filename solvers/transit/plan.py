"""Turns search labels into itineraries and explains empty results: the `plan_trips` entry point.

`plan_trips` validates the query, finds door legs at both ends (walk, taxi, or a volunteer
driver to the nearest stop with a note when no stop is near), runs the multi-criteria search for
the party as it is and, when allowed and needed, with an escort whose adult fare is counted, and
keeps the Pareto set over arrival, total cost and transfers. Legs carry local times with UTC
offsets, fares, layover minutes and whether the layover station has an indoor waiting room. If
nothing is feasible it re-runs the search with one constraint relaxed at a time to say which
constraint rules every trip out; reasons are returned as values, never raised.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from solvers.geo import haversine_m
from solvers.transit.earliest_arrival import earliest_arrival_multi, target_bounds
from solvers.transit.index import Timetable, local_iso
from solvers.transit.model import (
    Avoid,
    Itinerary,
    Leg,
    Mode,
    Place,
    SearchResult,
    StationType,
    Stop,
    TripQuery,
)
from solvers.transit.pareto import Search, Target
from solvers.transit.rules import (
    Access,
    DoorLeg,
    carrier_access,
    door_legs,
    forbidden_stops,
    party_for,
    spans_night,
)

MODE_WORDS = {Mode.AIR: "flights", Mode.BUS: "bus", Mode.RAIL: "rail"}


def plan_trips(tt: Timetable, query: TripQuery) -> SearchResult:
    """Pareto-optimal safe itineraries for `query`, or reasons why there are none."""
    query.validate()
    itineraries, notes = _solve(tt, query)
    if itineraries:
        return SearchResult(itineraries, notes)
    return SearchResult((), notes + _explain(tt, query, notes))


def _solve(tt: Timetable, query: TripQuery, any_one: bool = False
           ) -> tuple[tuple[Itinerary, ...], tuple[str, ...]]:
    """Itineraries and notes; with `any_one`, stop at the first itinerary found (the
    explanations only ask whether a relaxed query has any)."""
    forbidden = forbidden_stops(tt, query)
    board = [not forbidden[i] and bool(tt.stop_patterns[i]) for i in range(len(forbidden))]
    alight = [False] * len(forbidden)
    if tt.raptor is not None:
        drop = np.zeros(len(forbidden), dtype=np.bool_)
        drop[tt.raptor.stop[tt.raptor.dropoff]] = True
        alight = [d and not f for d, f in zip(drop.tolist(), forbidden, strict=True)]
    else:
        for pat in tt.patterns:
            for pos, stop in enumerate(pat.stops):
                if pat.dropoff[pos] and not forbidden[stop]:
                    alight[stop] = True
    for walks in tt.footpaths:
        for stop, _ in walks:
            alight[stop] = alight[stop] or not forbidden[stop]
    origin, note_o = door_legs(tt, query.origin, query, board)
    dest, note_d = door_legs(tt, query.destination, query, alight)
    notes = [n for n in (note_o, note_d) if n is not None]
    notes.extend(_party_notes(tt, query))
    alone = party_for(query, escorted=False)
    parties = [alone]
    needs_escort = any(
        carrier_access(c, alone, query.has_photo_id) != Access.OK
        and carrier_access(c, party_for(query, True), query.has_photo_id) == Access.OK
        for c in tt.network.carriers
    )
    if query.escort_available and needs_escort:
        parties.append(party_for(query, escorted=True))
    window = _window(tt, query, forbidden, origin, dest)
    found: list[tuple[Target, Search]] = []
    for party in parties:
        if window is None or (any_one and found):
            break
        limit, bound = window
        search = Search(tt, query, party, forbidden, origin, dest, limit, bound)
        found.extend((t, search) for t in search.run(any_one))
    if window is not None and not found:
        # The window follows the fastest trip by any carrier; one the party may not use (a
        # flight without photo ID) can end it days before the first train this party can
        # take arrives (Houston -> New York without ID found nothing). So when nothing is
        # found in it, the search runs once more over the query's whole horizon.
        whole = query.depart_after + query.max_hours * 60
        for party in parties:
            if whole <= window[0] or (any_one and found):
                break
            search = Search(tt, query, party, forbidden, origin, dest, whole, window[1])
            found.extend((t, search) for t in search.run(any_one))
    found.sort(key=lambda ts: (ts[0].arr, ts[0].cost, ts[0].rides, ts[0].escorted))
    kept: list[tuple[Target, Search]] = []
    for t, s in found:
        if not any(k.arr <= t.arr and k.cost <= t.cost and k.rides <= t.rides for k, _ in kept):
            kept.append((t, s))
    return tuple(_itinerary(s, t) for t, s in kept), tuple(notes)


def _window(tt: Timetable, query: TripQuery, forbidden: list[bool], origin: list[DoorLeg],
            dest: list[DoorLeg]) -> tuple[int, list[int]] | None:
    """Latest arrival worth searching: the unconstrained earliest arrival plus a day or the
    fastest trip's duration, whichever is longer; None when nothing is reachable at all. Also
    the static lower bound from every stop to the destination, which prunes the search.

    The earliest arrival ignores budgets, carriers and layover rules, so it is a lower bound;
    the window keeps the next day's departures (often cheaper or safer) in the Pareto set
    while sparing the search from labels that arrive days later.
    """
    sources: dict[int, int] = {}
    for leg in origin:
        start = query.depart_after + leg.minutes
        sources[leg.stop] = min(sources.get(leg.stop, start), start)
    targets: dict[int, int] = {}
    for leg in dest:
        targets[leg.stop] = min(targets.get(leg.stop, leg.minutes), leg.minutes)
    usable = [not f for f in forbidden]
    bound = target_bounds(tt, targets, usable)
    fastest = earliest_arrival_multi(tt, sources, targets, query.min_transfer_minutes, usable,
                                     bound)
    if fastest is None:
        return None
    return fastest + max(24 * 60, fastest - query.depart_after), bound


def _party_notes(tt: Timetable, query: TripQuery) -> list[str]:
    notes: list[str] = []
    carriers = tt.network.carriers
    if not query.has_photo_id:
        modes = sorted({c.mode for c in carriers if c.needs_photo_id})
        if modes:
            notes.append(f"no photo ID: {', '.join(MODE_WORDS.get(m, m) for m in modes)} excluded")
    alone = party_for(query, escorted=False)
    if not alone.has_adult:
        youngest = min(alone.ages)
        below = sorted({c.mode for c in carriers if youngest < c.min_age_alone})
        conditional = sorted(
            {c.mode for c in carriers if c.min_age_alone <= youngest < c.adult_alone_age}
        )
        if below:
            words = ", ".join(MODE_WORDS.get(m, m) for m in below)
            tail = "its fare is counted" if query.escort_available else "none is available"
            notes.append(
                f"a traveller aged {youngest} is below the age to travel alone on {words}: "
                f"an escort is required ({tail})"
            )
        if conditional:
            words = ", ".join(MODE_WORDS.get(m, m) for m in conditional)
            notes.append(
                f"a traveller aged {youngest} may ride {words} alone only without transfers, "
                "in daytime and within the carrier's maximum duration"
            )
    return notes


def _explain(tt: Timetable, query: TripQuery, notes: tuple[str, ...]) -> tuple[str, ...]:
    alone = party_for(query, escorted=query.escort_available)
    modes = sorted(
        {c.mode for c in tt.network.carriers
         if carrier_access(c, alone, query.has_photo_id) != Access.EXCLUDED}
    )
    by = " or ".join(MODE_WORDS.get(m, str(m)) for m in modes) or "any allowed mode"
    relaxations: list[tuple[TripQuery, str]] = []
    if query.budget_cents is not None:
        relaxations.append(
            (replace(query, budget_cents=None), f"nothing by {by} within the budget")
        )
    if query.avoid != Avoid():
        relaxations.append((replace(query, avoid=Avoid()),
                            f"every trip by {by} touches a place to avoid"))
    relaxations.append((replace(query, max_transfers=max(6, query.max_transfers)),
                        f"every trip by {by} needs more than {query.max_transfers} transfers"))
    relaxations.append((replace(query, max_overnight_layovers=3, allow_outdoor_overnight=True),
                        f"every trip by {by} needs an overnight layover that is not allowed"))
    if query.arrive_by is not None:
        relaxations.append((replace(query, arrive_by=None), f"nothing by {by} arrives in time"))
    if query.accessible:
        relaxations.append((replace(query, accessible=False),
                            f"no accessible trip by {by}"))
    reasons = []
    for relaxed, reason in relaxations:
        # Only the budget reason quotes a figure (the cheapest cost); the others need one trip.
        found, _ = _solve(tt, relaxed, any_one=relaxed.budget_cents == query.budget_cents)
        if found:
            if relaxed.budget_cents is None and query.budget_cents is not None:
                cheapest = min(i.cost_cents for i in found)
                reason += f" of ${query.budget_cents / 100:.2f} (cheapest ${cheapest / 100:.2f})"
            reasons.append(reason)
    if not reasons:
        reasons.append(f"no trip by {by} within {query.max_hours} hours of departure")
    return tuple(reasons)


def _door(leg: DoorLeg, place: Place, stop: Stop, dep: int, inbound: bool) -> Leg:
    name = leg.service.name if leg.service is not None else "walk"
    here = ("", place.name or "destination") if not inbound else ("", place.name or "origin")
    ends = (here, (stop.stop_id, stop.name)) if inbound else ((stop.stop_id, stop.name), here)
    arr = dep + leg.minutes
    return Leg(leg.mode, name, "", "", ends[0][0], ends[0][1], ends[1][0], ends[1][1], dep, arr,
               local_iso(stop.tz, dep), local_iso(stop.tz, arr), leg.cost_cents, leg.distance_m,
               0, None, False)


def _itinerary(search: Search, target: Target) -> Itinerary:
    tt, query = search.tt, search.query
    stops, trips, carriers = tt.network.stops, tt.network.trips, tt.network.carriers
    chain = []
    lid = target.label
    while lid >= 0:
        chain.append(search.labels[lid])
        lid = search.labels[lid][6]
    chain.reverse()
    legs: list[Leg] = []
    first = chain[0][7]
    door: DoorLeg = first[1]  # type: ignore[assignment]
    door_dep: int = first[2]  # type: ignore[assignment]
    shiftable = door.mode != Mode.DRIVER
    prev_arr = door_dep + door.minutes
    for label in chain[1:]:
        step = label[7]
        pi, k, pos, j, fare = (int(x) for x in step[1:6])  # type: ignore[call-overload]
        pat = tt.patterns[pi]
        dep, arr = pat.dep[pos][k], pat.arr[j][k]
        board, alight = stops[pat.stops[pos]], stops[pat.stops[j]]
        if not legs and shiftable:
            gap = 0 if door.service is None else query.min_transfer_minutes
            door_dep = max(door_dep, dep - gap - door.minutes)
            prev_arr = dep
        wait = dep - prev_arr
        trip = trips[pat.trips[k]]
        carrier = carriers[trip.carrier]
        legs.append(Leg(
            carrier.mode, carrier.name, trip.route_name, trip.trip_id, board.stop_id, board.name,
            alight.stop_id, alight.name, dep, arr, local_iso(board.tz, dep),
            local_iso(alight.tz, arr), fare, pat.cum_dist[j] - pat.cum_dist[pos], wait,
            (board.station_type == StationType.INDOOR) if wait > 0 else None,
            spans_night(board.tz, prev_arr, dep)))
        prev_arr = arr
        if len(step) > 6:
            to, walk = stops[int(step[6])], int(step[7])  # type: ignore[call-overload]
            legs.append(Leg(Mode.WALK, "walk", "", "", alight.stop_id, alight.name, to.stop_id,
                            to.name, arr, arr + walk, local_iso(alight.tz, arr),
                            local_iso(to.tz, arr + walk), 0,
                            haversine_m(alight.lat, alight.lon, to.lat, to.lon), 0, None, False))
            prev_arr = arr + walk
    start_stop = stops[door.stop]
    head = [_door(door, query.origin, start_stop, door_dep, inbound=True)]
    end_stop = stops[target.egress.stop]
    tail = _door(target.egress, query.destination, end_stop, target.dep, inbound=False)
    wait = target.dep - prev_arr
    tail = replace(tail, layover_minutes=wait,
                   indoor_waiting=(end_stop.station_type == StationType.INDOOR) if wait else None,
                   overnight_layover=spans_night(end_stop.tz, prev_arr, target.dep))
    # A zero-length walk (door at the stop) is not worth showing.
    every = [leg for leg in [*head, *legs, tail]
             if leg.mode != Mode.WALK or leg.distance_m > 0 or leg.arrive > leg.depart]
    return Itinerary(
        every[0].depart, target.arr, every[0].depart_local, every[-1].arrive_local,
        target.cost, max(0, target.rides - 1), target.overnight, target.escorted, tuple(every),
    )
