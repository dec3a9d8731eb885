"""Multi-criteria itinerary search (McRAPTOR-style rounds) under the survivor-safety rules.

Round r holds labels reached with r scheduled rides. Each label (ready time, arrival, party
cost, rides, overnight layovers, locked) boards the earliest admissible trip of every pattern at
its stop and scans that trip downstream; labels are kept per stop only when no other label is at
least as good on every criterion, and are pruned against the destination's labels. Every stop a
ride passes, every transfer and every door leg is checked against the query's constraints, so an
avoided city is never touched even as an intermediate stop. Results are the Pareto set over
arrival, total cost and transfers; when it is empty, `plan_trips` explains why by re-running the
search with single constraints relaxed.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from dataclasses import dataclass

from solvers.transit.bound import fare_floor_cents, flat_patterns, ride_bounds
from solvers.transit.index import Timetable, local_minute, longest_footpath_m, stop_coords
from solvers.transit.model import Carrier, Mode, StationType, TripQuery
from solvers.transit.raptor import NONE, latest_ready
from solvers.transit.rules import (
    DAY_END,
    DAY_START,
    Access,
    DoorLeg,
    Party,
    carrier_access,
    next_service_start,
    night_free_minutes,
    party_fare,
    spans_night,
)

# (ready, arr, cost, rides, overnight, locked, parent, step)
Label = tuple[int, int, int, int, int, int, int, tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Target:
    arr: int
    cost: int
    rides: int
    overnight: int
    label: int
    egress: DoorLeg
    dep: int
    escorted: bool


def _percent(carrier: Carrier, age: int) -> int:
    """The share of the adult fare a traveller of this age pays, in percent."""
    if age <= carrier.infant_max_age:
        return 0
    return carrier.child_fare_percent if age <= carrier.child_max_age else 100


def _dominates(a: Label, b: Label) -> bool:
    return a[0] <= b[0] and a[2] <= b[2] and a[3] <= b[3] and a[4] <= b[4] and a[5] <= b[5]


class Search:
    def __init__(self, tt: Timetable, query: TripQuery, party: Party, forbidden: list[bool],
                 origin: list[DoorLeg], dest: list[DoorLeg], window_end: int,
                 bound: list[int] | None = None) -> None:
        self.tt, self.query, self.party, self.forbidden = tt, query, party, forbidden
        self.origin = origin
        self.egress: dict[int, list[DoorLeg]] = {}
        for leg in dest:
            self.egress.setdefault(leg.stop, []).append(leg)
        self.access = [carrier_access(c, party, query.has_photo_id) for c in tt.network.carriers]
        # NONE at a no-transfer stop: a ride ending there leaves a label that can only finish
        # (door leg) or walk away, never board again.
        self.no_transfer = tt.no_transfer or [False] * len(tt.transfer_minutes)
        self.mtt = [NONE if nt else max(m, query.min_transfer_minutes)
                    for m, nt in zip(tt.transfer_minutes, self.no_transfer, strict=True)]
        limit = query.depart_after + query.max_hours * 60
        limit = min(limit, window_end)
        self.limit = limit if query.arrive_by is None else min(limit, query.arrive_by)
        self.budget = query.budget_cents if query.budget_cents is not None else 1 << 62
        self.labels: list[Label] = []
        self.alive: list[bool] = []
        self.bags: dict[int, list[int]] = {}
        self.targets: list[Target] = []
        self.target_keys: list[tuple[int, int, int]] = []
        self.max_rides = query.max_transfers + 1
        self.fare_rows: dict[tuple[int, int], list[int]] = {}
        # Per carrier, the share of the adult fare each traveller pays, in percent.
        self.shares = [[_percent(c, age) for age in party.ages] for c in tt.network.carriers]
        # Lower bounds on what any completion adds: minutes (static, door leg included), and
        # the cheapest ride for this party when another ride is still needed.
        self.bound = bound if bound is not None else [0] * len(tt.transfer_minutes)
        usable = [c for c, a in zip(tt.network.carriers, self.access, strict=True)
                  if a != Access.EXCLUDED]
        self.min_ride_cents = min((party_fare(c, 0, party) for c in usable), default=0)
        flat = tt.flat or flat_patterns([p.stops for p in tt.patterns], tt.footpaths)
        self.rides_left, self.last_useful = ride_bounds(
            flat, len(tt.transfer_minutes), self.egress, query.max_transfers + 1)
        # Fares still to pay from each stop when another ride is needed: the cheapest ride, or
        # the cheapest rate over the distance still to cover, whichever is more.
        self.cost_left = [self.min_ride_cents] * len(tt.transfer_minutes)
        if usable:
            lat, lon = tt.coords if tt.coords is not None else stop_coords(tt.network)
            walks = (tt.longest_footpath_m if tt.longest_footpath_m is not None
                     else longest_footpath_m(tt.network, tt.footpaths))
            per_km = min(c.fare_cents_per_100km / 100 * sum(_percent(c, age) for age in party.ages)
                         / 100 for c in usable)
            floor = fare_floor_cents(lat, lon, list(self.egress), per_km, walks * self.max_rides,
                                     2 * len(party.ages) * self.max_rides)
            self.cost_left = [max(self.min_ride_cents, f) for f in floor]

        # Latest ready time at each stop, per rides left, from which the destination can still
        # be reached within the window (schedules and transfers kept, other rules not).
        self.latest = [[NONE] * len(tt.transfer_minutes)] * (self.max_rides + 1)
        if tt.raptor is not None:
            deadline = [-NONE] * len(tt.transfer_minutes)
            for stop, legs in self.egress.items():
                deadline[stop] = self.limit - min(leg.minutes for leg in legs)
            self.latest = latest_ready(tt.raptor, deadline, [not f for f in forbidden],
                                       query.min_transfer_minutes, self.max_rides)

    def _pruned(self, arr: int, cost: int, rides: int) -> bool:
        for t_arr, t_cost, t_rides in self.target_keys:
            if t_arr <= arr and t_cost <= cost and t_rides <= rides:
                return True
        return False

    def _add(self, stop: int, label: Label) -> int | None:
        # A label is useless when even its fastest completion misses the window, or when a
        # destination label found already is at least as good as its best completion.
        ready, arr, cost, rides, night, locked = label[:6]
        if self.forbidden[stop] or arr + self.bound[stop] > self.limit or cost > self.budget:
            return None
        # Too few rides left to reach a stop with a door leg to the destination.
        need = self.rides_left[stop]
        if rides + need > self.max_rides:
            return None
        if rides == 0 and need == 0:
            need = 1
        if need and ready > self.latest[self.max_rides - rides][stop]:
            return None
        least = cost + (self.cost_left[stop] if need else 0)
        if least > self.budget:
            return None
        labels = self.labels
        bag = self.bags.get(stop)
        if bag is None:
            bag = self.bags[stop] = []
        dominates_some = False
        # Where the destination's door leg starts, only a label that has ridden can finish, so
        # one with no ride yet (the traveller was driven there) does not dominate one that has.
        finish = rides > 0 and stop in self.egress
        for i in bag:
            b = labels[i]
            if (b[0] <= ready and b[2] <= cost and b[3] <= rides and b[4] <= night
                    and b[5] <= locked and (b[3] > 0 or not finish)):
                return None
            if (ready <= b[0] and cost <= b[2] and rides <= b[3] and night <= b[4]
                    and locked <= b[5]):
                dominates_some = True
        # After the bag, which rejects most labels more cheaply.
        if self.target_keys and self._pruned(arr + self.bound[stop], least, rides + need):
            return None
        lid = len(labels)
        if dominates_some:
            keep = []
            for i in bag:
                if _dominates(label, labels[i]) and (rides > 0 or labels[i][3] == 0
                                                      or stop not in self.egress):
                    self.alive[i] = False
                else:
                    keep.append(i)
            keep.append(lid)
            self.bags[stop] = keep
        else:
            bag.append(lid)
        labels.append(label)
        self.alive.append(True)
        if stop in self.egress:
            self._reach_destination(stop, lid)
        return lid

    def _finish(self, stop: int, label: Label) -> None:
        """A ride ending at a no-transfer stop can only end the journey there by its door leg.
        It goes straight to the destination check and stays out of the stop's bag, where any
        label that can still board (ready before NONE) would wrongly dominate it."""
        if label[2] > self.budget:
            return
        lid = len(self.labels)
        self.labels.append(label)
        self.alive.append(False)
        self._reach_destination(stop, lid)

    def _overnight_ok(self, stop: int, start: int, end: int, count: int) -> int | None:
        """New overnight count after waiting at `stop`, or None if the wait is not allowed."""
        st = self.tt.network.stops[stop]
        if not spans_night(st.tz, start, end):
            return count
        return self._night_wait(stop, count)

    def _night_wait(self, stop: int, count: int) -> int | None:
        """New overnight count after a wait at `stop` through a night, or None if not allowed."""
        st = self.tt.network.stops[stop]
        if st.station_type != StationType.INDOOR and not self.query.allow_outdoor_overnight:
            return None
        return count + 1 if count < self.query.max_overnight_layovers else None

    def _reach_destination(self, stop: int, lid: int) -> None:
        label = self.labels[lid]
        tz = self.tt.network.stops[stop].tz
        for leg in self.egress.get(stop, ()):
            dep = label[1]
            if leg.service is not None:
                dep = next_service_start(leg.service, tz, dep, leg.minutes)
            overnight = self._overnight_ok(stop, label[1], dep, label[4])
            arr, cost = dep + leg.minutes, label[2] + leg.cost_cents
            if overnight is None or arr > self.limit or cost > self.budget or label[3] == 0:
                continue
            if self._pruned(arr, cost, label[3]):
                continue
            self.targets.append(
                Target(arr, cost, label[3], overnight, lid, leg, dep, self.party.escorted)
            )
            # Only keys no other key dominates are kept: they prune exactly as many labels.
            rides = label[3]
            self.target_keys = [k for k in self.target_keys
                                if not (arr <= k[0] and cost <= k[1] and rides <= k[2])]
            self.target_keys.append((arr, cost, rides))

    def run(self, any_one: bool = False) -> list[Target]:
        """Destination labels found; with `any_one`, as soon as there is one."""
        marked: dict[int, list[int]] = {}
        for leg in self.origin:
            tz = self.tt.network.stops[leg.stop].tz
            dep = self.query.depart_after
            if leg.service is not None:
                dep = next_service_start(leg.service, tz, dep, leg.minutes)
            arr = dep + leg.minutes
            ready = arr if leg.service is None else arr + self.query.min_transfer_minutes
            lid = self._add(leg.stop, (ready, arr, leg.cost_cents, 0, 0, 0, -1,
                                       ("door", leg, dep)))
            if lid is not None:
                marked.setdefault(leg.stop, []).append(lid)
        if any_one:
            return self._first(marked)
        for _ in range(self.query.max_transfers + 1):
            if not marked:
                break
            nxt: dict[int, list[int]] = {}
            for stop in sorted(marked):
                for lid in marked[stop]:
                    if self.alive[lid]:
                        self._scan_from(stop, lid, nxt)
                        if any_one and self.targets:
                            return self.targets
            marked = nxt
        return self.targets

    def _first(self, marked: dict[int, list[int]]) -> list[Target]:
        """Best first instead of round by round: the label whose arrival plus the time bound
        is smallest is scanned next, so a trip that exists is found without scanning every
        label with fewer rides first. Labels scanned and later dominated cost only time."""
        heap = [(self.labels[lid][1] + self.bound[stop], lid, stop)
                for stop, lids in marked.items() for lid in lids]
        heapq.heapify(heap)
        while heap and not self.targets:
            _, lid, stop = heapq.heappop(heap)
            if not self.alive[lid] or self.labels[lid][3] >= self.max_rides:
                continue
            nxt: dict[int, list[int]] = {}
            self._scan_from(stop, lid, nxt)
            for v, lids in nxt.items():
                for new in lids:
                    heapq.heappush(heap, (self.labels[new][1] + self.bound[v], new, v))
        return self.targets

    def _scan_from(self, stop: int, lid: int, nxt: dict[int, list[int]]) -> None:
        tt = self.tt
        label = self.labels[lid]
        ready, arrived, cost, rides, overnight, locked = label[:6]
        if locked:
            return
        carriers = tt.network.carriers
        useful = self.last_useful[self.query.max_transfers - rides]
        forbidden, bound, limit, mtt = self.forbidden, self.bound, self.limit, self.mtt
        rides_left, left, footpaths = self.rides_left, self.max_rides - rides - 1, tt.footpaths
        late, no_transfer = self.latest[left], self.no_transfer
        budget = self.budget
        rides1 = rides + 1
        # Minutes one may wait here before the wait spans a night: no limit before the first
        # ride unless the traveller was driven here (a walk or taxi can start later).
        free = NONE
        if rides > 0 or label[7][1].mode == Mode.DRIVER:  # type: ignore[attr-defined]
            free = night_free_minutes(tt.network.stops[stop].tz, arrived)
        labels, bags, egress = self.labels, self.bags, self.egress
        # Only a wheelchair or an unaccompanied-minor query can refuse the earliest trip.
        checked = self.query.accessible
        patterns, access_of = tt.patterns, self.access
        for pi, pos in tt.stop_patterns[stop]:
            # Alighting after `end` leaves too few rides to reach the destination.
            end = useful[pi] + 1
            if end <= pos + 1:
                continue
            pat = patterns[pi]
            access = access_of[pat.carrier]
            if access == Access.EXCLUDED or (access == Access.CONDITIONAL and rides > 0):
                continue
            deps = pat.dep[pos]
            k = bisect_left(deps, ready)
            if checked or access != Access.OK:
                while k < len(deps) and not self._trip_ok(pat.trips[k], deps[k], stop, access):
                    k += 1
            if k == len(deps) or deps[k] > limit:
                continue
            carrier = carriers[pat.carrier]
            dep = deps[k]
            night = overnight
            if dep - arrived > free:
                waited = self._night_wait(stop, overnight)
                if waited is None:
                    continue
                night = waited
            conditional = access == Access.CONDITIONAL
            lock = int(conditional and carrier.alone_no_transfers)
            fares = self._fares(pi, pos, carrier)
            stops, arr_rows, dropoff = pat.stops, pat.arr, pat.dropoff
            for j in range(pos + 1, end):
                v = stops[j]
                if forbidden[v]:
                    break
                a = arr_rows[j][k]
                # The static bound grows along a trip, so no later stop is within the window.
                if a + bound[v] > limit:
                    break
                if conditional and not self._alone_ok(carrier.alone_max_minutes, dep, a, v):
                    break
                if not dropoff[j]:
                    continue
                # Whether a label here, or after a walk from here, could still lead anywhere
                # (as `_add` would decide, without building one): few enough rides left, and
                # ready no later than the latest time that still reaches the destination.
                need = rides_left[v]
                here = need <= left and (not need or a + mtt[v] <= late[v])
                walks = footpaths[v]
                if not here and not walks:
                    continue
                fare = fares[j]
                paid = cost + fare
                if paid > budget:
                    break
                # A stop where the feed forbids changing trips (transfers.txt type 3) ends
                # the journey there, outside the bags (`_finish`): it is never boarded from.
                if here and no_transfer[v]:
                    self._finish(v, (a, a, paid, rides1, night, lock, lid,
                                     ("ride", pi, k, pos, j, fare)))
                # The bag test of `_add` first: it turns away about 9 labels in 10 (most of
                # them after walks from airports), and `_add` decides the same for the rest.
                elif here:
                    again = a + mtt[v]
                    for i in bags.get(v, ()):
                        b = labels[i]
                        if (b[0] <= again and b[2] <= paid and b[3] <= rides1 and b[4] <= night
                                and b[5] <= lock and (b[3] > 0 or v not in egress)):
                            break
                    else:
                        new = (again, a, paid, rides1, night, lock, lid,
                               ("ride", pi, k, pos, j, fare))
                        nid = self._add(v, new)
                        if nid is not None:
                            nxt.setdefault(v, []).append(nid)
                for w, walk in walks:
                    t = a + walk
                    need = rides_left[w]
                    if need > left or (need and t > late[w]):
                        continue
                    for i in bags.get(w, ()):
                        b = labels[i]
                        if (b[0] <= t and b[2] <= paid and b[3] <= rides1 and b[4] <= night
                                and b[5] <= lock and (b[3] > 0 or w not in egress)):
                            break
                    else:
                        walked = ("ride", pi, k, pos, j, fare, w, walk)
                        wid = self._add(w, (t, t, paid, rides1, night, lock, lid, walked))
                        if wid is not None:
                            nxt.setdefault(w, []).append(wid)

    def _fares(self, pi: int, pos: int, carrier: Carrier) -> list[int]:
        """What the party pays on pattern `pi` from position `pos` to each later position
        (indexed by position; only later ones mean anything), worked out once per search:
        `party_fare`, with the adult fare computed once for the whole party."""
        key = (pi, pos)
        fares = self.fare_rows.get(key)
        if fares is None:
            cum = self.tt.patterns[pi].cum_dist
            base, rate, start = carrier.fare_base_cents, carrier.fare_cents_per_100km, cum[pos]
            adult = [base + rate * (c - start) // 100_000 for c in cum]
            shares = self.shares[self.tt.patterns[pi].carrier]
            if shares == [100]:
                fares = adult
            else:
                fares = [sum(x * share // 100 for share in shares) for x in adult]
            self.fare_rows[key] = fares
        return fares

    def _trip_ok(self, trip: int, dep: int, stop: int, access: Access) -> bool:
        if self.query.accessible and self.tt.network.trips[trip].wheelchair == 2:
            return False
        if access == Access.CONDITIONAL:
            minute = local_minute(self.tt.network.stops[stop].tz, dep) % 1440
            return DAY_START <= minute <= DAY_END
        return True

    def _alone_ok(self, max_minutes: int, dep: int, arr: int, stop: int) -> bool:
        if arr - dep > max_minutes:
            return False
        minute = local_minute(self.tt.network.stops[stop].tz, arr) % 1440
        return DAY_START <= minute <= DAY_END and arr - dep <= DAY_END - DAY_START
