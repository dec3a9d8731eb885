"""A calendar-aware timetable: trips with their service days, expanded on demand for a horizon.

A `ServiceCalendar` holds every trip of a feed set once, as a template: its route pattern (stops,
pickup and drop-off, carrier), its times in seconds from its service day's origin ("noon minus
12 h" in the agency's zone, so DST days and overnight trains come out right), and the row of its
service in a day-by-service table covering every date the feeds know (calendar weekdays and date
ranges plus calendar_dates additions and removals, resolved by the reader). It is built once per
feed set and persisted; nothing in it depends on a departure day.

`expand` turns it into the search's `Timetable` for the service days a departure on `day` (a
UTC date) can use: day - 1 (an overnight trip that started the evening before still runs) to
day + 7 (trips of up to seven days). The timetable answers departures from the start of `day`
on: instances whose last boarding is earlier are left out, which makes the search arrays a
ninth smaller and the searches faster (p95 about 2x on the national network). Templates of
one pattern are expanded together with numpy: the instances running on those days, their
absolute times in UTC epoch minutes, sorted into FIFO order (an overtaking instance goes to
another pattern, exactly as `build_timetable` does), so the expansion takes about 2 s on the
national network where building from connections took over 20 s.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import overload

import numpy as np
from numpy.typing import NDArray

from solvers.errors import TransitInputError
from solvers.transit.index import Pattern, Timetable, index_patterns
from solvers.transit.model import Carrier, Footpath, Network, Stop, Trip

DAYS_BEFORE = 1
# A search allows trips of up to seven days (TripQuery.max_hours is at most 168).
DAYS_AFTER = 7

Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class TripGroup:
    """Templates sharing a route pattern; `dep`/`arr` are (templates, positions) seconds."""

    carrier: int
    tz: int
    stops: tuple[int, ...]
    pickup: tuple[bool, ...]
    dropoff: tuple[bool, ...]
    cum_dist: tuple[int, ...]
    trip_ids: tuple[str, ...]
    names: tuple[str, ...]
    headsigns: tuple[str, ...]
    wheelchair: tuple[int, ...]
    service: Ints
    dep: Ints
    arr: Ints


@dataclass(frozen=True, slots=True)
class ServiceCalendar:
    """Every trip of a feed set once, with the days it runs (see the module docstring)."""

    stops: tuple[Stop, ...]
    carriers: tuple[Carrier, ...]
    footpaths: tuple[Footpath, ...]
    groups: tuple[TripGroup, ...]
    # Ordinal (date.toordinal) of the first day of `runs` and `origin`.
    first_day: int
    # runs[service, day]: the service runs on first_day + day.
    runs: Bools
    # origin[tz, day]: UTC epoch seconds of the service day's time origin in that zone.
    origin: Ints

    @property
    def days(self) -> int:
        return int(self.runs.shape[1])

    def covers(self) -> tuple[date, date] | None:
        """First and last date on which any trip runs; None for a calendar without trips."""
        active = np.nonzero(self.runs.any(axis=0))[0]
        if not len(active):
            return None
        return (date.fromordinal(self.first_day + int(active[0])),
                date.fromordinal(self.first_day + int(active[-1])))


@dataclass(frozen=True, slots=True, eq=False)
class ExpandedTrips(Sequence[Trip]):
    """The trip instances of an expanded timetable, each made as a `Trip` when it is read.

    A national day has about 170,000 instances and a search reads a few dozen of them (the
    legs it returns, an accessible query's boardings), so making every `Trip` up front was a
    quarter of the expansion, paid by every server before it could answer (issue 14).
    Instance i is template `template[i]` of group `group[i]` on service day `label[i]`.
    """

    groups: tuple[TripGroup, ...]
    labels: tuple[str, ...]
    group: Ints
    template: Ints
    label: Ints

    def __len__(self) -> int:
        return len(self.group)

    @overload
    def __getitem__(self, i: int) -> Trip: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Trip]: ...

    def __getitem__(self, i: int | slice) -> Trip | Sequence[Trip]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self.group):
            raise IndexError(i)
        g, t = self.groups[int(self.group[i])], int(self.template[i])
        return Trip(g.trip_ids[t], g.carrier, g.names[t], g.headsigns[t],
                    self.labels[int(self.label[i])], g.wheelchair[t])

    def __iter__(self) -> Iterator[Trip]:
        return (self[i] for i in range(len(self)))


def _split_fifo(dep: Ints, arr: Ints) -> list[list[int]]:
    """Rows (already sorted) grouped so that no row overtakes an earlier one of its group:
    the greedy first-fit of `build_timetable`, skipped when the whole block is FIFO."""
    if len(dep) < 2 or (bool(np.all(np.diff(dep, axis=0) >= 0))
                        and bool(np.all(np.diff(arr, axis=0) >= 0))):
        return [list(range(len(dep)))]
    groups: list[list[int]] = []
    for row in range(len(dep)):
        for members in groups:
            last = members[-1]
            if bool(np.all(dep[last] <= dep[row])) and bool(np.all(arr[last] <= arr[row])):
                members.append(row)
                break
        else:
            groups.append([row])
    return groups


def expand(cal: ServiceCalendar, day: date) -> Timetable:
    """The search timetable for departures on or after the start of `day` (UTC), from service
    days day-1 .. day+7. `day` may be the one after the calendar's last: an evening departure
    in the Americas falls on the next UTC date, and its service day (day-1) still runs."""
    start = day.toordinal() - cal.first_day
    if start < 0 or start > cal.days:
        raise TransitInputError("depart_after", f"{day.isoformat()} is outside the timetable")
    days = np.arange(max(0, start - DAYS_BEFORE), min(cal.days, start + DAYS_AFTER + 1),
                     dtype=np.int64)
    first_minute = (day.toordinal() - date(1970, 1, 1).toordinal()) * 1440
    labels = tuple(date.fromordinal(cal.first_day + int(d)).isoformat() for d in days)
    # Per instance, in trip order: its group, its template in the group, its service day.
    of_group: list[Ints] = []
    of_template: list[Ints] = []
    of_day: list[Ints] = []
    n_trips = 0
    patterns: list[Pattern] = []
    for gi, g in enumerate(cal.groups):
        running = cal.runs[g.service][:, days]
        template, which = np.nonzero(running)
        if not len(template):
            continue
        shift = cal.origin[g.tz, days[which]][:, None]
        dep = (g.dep[template] + shift) // 60
        arr = (g.arr[template] + shift) // 60
        # A search departs on `day` (UTC), so an instance whose last boarding is before that
        # day began can never be boarded: most of the day before's trips go.
        usable = dep[:, -2] >= first_minute
        if not usable.all():
            dep, arr, template, which = dep[usable], arr[usable], template[usable], which[usable]
            if not len(template):
                continue
        # The order of build_timetable: first departure, last arrival, then trip order.
        order = np.lexsort((which, template, arr[:, -1], dep[:, 0]))
        dep, arr, template, which = dep[order], arr[order], template[order], which[order]
        # Instances of one template are a day apart at every stop alike, so they never
        # overtake each other: only a pattern of several templates needs the FIFO check.
        parts = (_split_fifo(dep, arr) if len(g.trip_ids) > 1
                 else [list(range(len(template)))])
        for members in parts:
            pat = Pattern(g.carrier, g.stops, g.pickup, g.dropoff, g.cum_dist)
            whole = len(members) == len(template)
            rows = slice(None) if whole else np.array(members, dtype=np.int64)
            pat.trips = list(range(n_trips, n_trips + len(members)))
            n_trips += len(members)
            of_group.append(np.full(len(members), gi, dtype=np.int64))
            of_template.append(template[rows])
            of_day.append(which[rows])
            pat.dep = dep[rows].T.tolist()
            pat.arr = arr[rows].T.tolist()
            patterns.append(pat)
    def joined(parts: list[Ints]) -> Ints:
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)

    trips = ExpandedTrips(cal.groups, labels, joined(of_group), joined(of_template),
                          joined(of_day))
    network = Network(cal.stops, cal.carriers, trips, (), cal.footpaths)
    return index_patterns(network, patterns)
