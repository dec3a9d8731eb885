"""Independent checker of a joint return plan, written without the solver's code.

`validate_plan(instance, result)` returns a list of problems (empty when the plan is sound):
every case accounted for exactly once; each choice is one of the case's own options (same
shelter, bed type, beds, itinerary, times, cost); free beds per (shelter, bed type) and each
source's budget respected; the source may pay (ages in range, lifetime tickets); no excluded
shelter or state and no shelter whose point, widened by its uncertainty, lies inside an
exclusion zone (own spherical law of cosines); the trip leaves after now, arrives with the
buffer before the hold can lapse, and inside intake hours unless a late arrival is agreed;
and the objective as reported is recomputed.
"""

from __future__ import annotations

import math
from collections import defaultdict

from solvers.return_plan.types import ReturnInstance, ReturnResult

EARTH_M = 6_371_008.8


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    c = (math.sin(p1) * math.sin(p2)
         + math.cos(p1) * math.cos(p2) * math.cos(math.radians(lon2 - lon1)))
    return EARTH_M * math.acos(max(-1.0, min(1.0, c)))


def validate_plan(inst: ReturnInstance, result: ReturnResult) -> list[str]:
    problems: list[str] = []
    cases = {c.case_id: c for c in inst.cases}
    pools = {(b.shelter_id, b.bed_type): b for b in inst.beds}
    sources = {s.source_id: s for s in inst.sources}
    seen = [c.case_id for c in result.chosen] + [u.case_id for u in result.unplaced]
    if sorted(seen) != sorted(cases):
        problems.append("cases not accounted for exactly once")
    used: dict[tuple[str, str], int] = defaultdict(int)
    spent: dict[str, int] = defaultdict(int)
    weighted = travel = cost = pref = persons = 0
    buffer = inst.options.hold_buffer_minutes
    for ch in result.chosen:
        case = cases.get(ch.case_id)
        if case is None:
            problems.append(f"{ch.case_id}: unknown case")
            continue
        match = [o for o in case.options
                 if (o.shelter_id, o.bed_type, o.beds, o.trip.itinerary_id, o.trip.depart,
                     o.trip.arrive, o.trip.cost_cents, o.preference)
                 == (ch.shelter_id, ch.bed_type, ch.beds, ch.itinerary_id, ch.depart,
                     ch.arrive, ch.cost_cents, ch.preference)]
        pool = pools.get((ch.shelter_id, ch.bed_type))
        if not match or pool is None:
            problems.append(f"{ch.case_id}: not one of its options")
            continue
        used[(ch.shelter_id, ch.bed_type)] += ch.beds
        if ch.shelter_id in case.excluded_shelters or pool.state in case.excluded_states:
            problems.append(f"{ch.case_id}: excluded shelter or state")
        if any(_metres(z.lat, z.lon, pool.lat, pool.lon) <= z.radius_m + pool.uncertainty_m + 1
               for z in case.zones):
            problems.append(f"{ch.case_id}: shelter inside an exclusion zone")
        if ch.depart < inst.now:
            problems.append(f"{ch.case_id}: trip already left")
        if ch.arrive + buffer > pool.hold_until or ch.hold_until != pool.hold_until:
            problems.append(f"{ch.case_id}: hold lapses before arrival plus buffer")
        if pool.intake and not pool.late_arrival_ok and not any(
                a <= ch.arrive <= b for a, b in pool.intake):
            problems.append(f"{ch.case_id}: arrives outside intake hours")
        if ch.cost_cents > 0:
            src = sources.get(ch.source_id or "")
            if src is None:
                problems.append(f"{ch.case_id}: a paid trip without a known source")
            else:
                spent[src.source_id] += ch.cost_cents
                if any(not src.min_age <= a <= src.max_age for a in case.ages):
                    problems.append(f"{ch.case_id}: source {src.source_id} age range")
                if (src.lifetime_from_age is not None and src.source_id in case.used_lifetime
                        and max(case.ages) >= src.lifetime_from_age):
                    problems.append(f"{ch.case_id}: lifetime ticket already used")
        weighted += sum(case.urgency + (inst.options.minor_bonus if a < 18 else 0)
                        for a in case.ages)
        travel += ch.arrive - ch.depart
        cost += ch.cost_cents
        pref += ch.preference
        persons += len(case.ages)
    for key, n in used.items():
        if n > pools[key].free:
            problems.append(f"{key}: {n} beds used, {pools[key].free} free")
    for sid, n in spent.items():
        if n > sources[sid].budget_cents:
            problems.append(f"source {sid}: spent {n} of {sources[sid].budget_cents}")
    obj = result.objective
    if (obj.weighted_persons, obj.travel_minutes, obj.cost_cents, obj.preference,
            result.persons) != (weighted, travel, cost, pref, persons):
        problems.append("objective does not match the plan")
    if result.bound < obj.weighted_persons:
        problems.append("bound below the plan's value")
    return problems
