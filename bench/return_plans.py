"""Benchmark of joint return planning against the sequential pipeline (a script, not a test).

200 households found in one raid in Houston go home to 40 states on the national network
(`bench.national`: Amtrak's feed from ../shared/data on its real dates, April 2023, beside the
synthetic buses among 2,000 US places and daily flights; `--no-amtrak` for the synthetic one
alone). Around
the three largest places of each destination state stand 3-5 shelters with a few free beds,
hold limits of 4-24 hours and, for half, intake 08:00-20:00 local. 80 % of the households
have photo ID (without it, only Amtrak and the regional buses). Two
funding sources (a general fund and a youth fund for ages 0-24) hold together about 60 % of
what sending everyone home on the cheapest trip would cost.

- Sequential (today's pieces, one after the other): batch matching (`solve_batch`) places
  every household at a shelter near its destination and holds the bed now; the search gives
  the fastest trip; `travel_allocation.allocate` funds what it can. A household is home when
  funded, its hold still runs at arrival plus the 60-minute buffer and it arrives in intake
  hours; a held bed whose hold lapses before arrival is a bed lost.
- Joint: `solvers.return_plan.solve` over the same shelters (4 per case) and the same Pareto
  itineraries (3 per shelter), checked by the independent validator, with the widening
  certificate.

Prints persons home, households home, total and mean travel minutes, money spent (all and on
those who got home), beds lost to lapsed holds, solve time, and the ratios. Deterministic by
seed.

    .venv/bin/python bench/return_plans.py [--households 200] [--time-limit 15] [--workers 2]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.national import national_calendar
from core.gazetteer import us_cities
from solvers.matching import (
    BatchOptions,
    Household,
    Member,
    ShelterIndex,
    ShelterOption,
    rank_for_household,
    solve_batch,
)
from solvers.return_plan import (
    BedPool,
    PlanOptions,
    ReturnCase,
    ReturnInstance,
    TripOption,
    solve,
    validate_plan,
    weight,
)
from solvers.return_plan.candidates import NearBed, Pool, build_options, widening_certificate
from solvers.transit import Place, TripQuery, plan_trips
from solvers.transit.calendar import expand
from solvers.travel_allocation import Candidate, CaseNeed, SourceRule, allocate

DAY = date(2023, 4, 12)
RAID = ("Houston", "TX", 29.7604, -95.3698)
BUFFER = 60
RADIUS_KM = 80


def shelters_near(rng: random.Random, cities: list, now: int) -> tuple[list[ShelterOption],
                                                                         dict[str, dict]]:
    options, facts = [], {}
    for city in cities:
        for _ in range(rng.randint(3, 5)):
            sid = f"S{len(options):04d}"
            lat = city.lat + rng.uniform(-0.15, 0.15)
            lon = city.lon + rng.uniform(-0.15, 0.15)
            available = {"adult_female": rng.randint(0, 3), "adult_any": rng.randint(0, 2),
                         "adult_male": rng.randint(0, 2), "family_unit": rng.randint(0, 2)}
            options.append(ShelterOption(
                sid, lat, lon, frozenset({"adult_women", "adult_men", "families_with_children",
                                          "transgender_nonbinary_adults"}),
                available, city=city.name, state=city.state, family_unit_max_household=4,
                children_max_age=17, trafficking_specialisation="both"))
            hold = rng.choice([240, 480, 720, 1440])
            facts[sid] = {"hold_until": now + hold, "tz": city.timezone,
                          "intake": rng.random() < 0.5}
    return options, facts


def intake_windows(tz: str, now: int) -> tuple[tuple[int, int], ...]:
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    start = datetime.fromtimestamp(now * 60, UTC).astimezone(zone)
    out = []
    for d in range(-1, 9):
        day = (start + timedelta(days=d)).date()
        lo = datetime(day.year, day.month, day.day, 8, tzinfo=zone)
        hi = datetime(day.year, day.month, day.day, 20, tzinfo=zone)
        out.append((int(lo.timestamp()) // 60, int(hi.timestamp()) // 60 - 1))
    return tuple(out)


def households(rng: random.Random, states: list[str], by_state: dict, n: int,
               id_rate: float) -> list[tuple]:
    made = []
    for i in range(n):
        state = states[i % len(states)]
        dest = rng.choice(by_state[state])
        kind = rng.random()
        if kind < 0.6:
            ages, genders = [rng.randint(18, 50)], ["female"]
        elif kind < 0.75:
            ages, genders = [rng.randint(18, 50)], ["male"]
        else:
            kids = rng.randint(1, 2)
            ages = [rng.randint(22, 45)] + [rng.randint(1, 16) for _ in range(kids)]
            genders = ["female"] + [rng.choice(["female", "male"]) for _ in range(kids)]
        urgency = rng.randint(1, 5)
        has_id = rng.random() < id_rate
        made.append((f"H{i:03d}", tuple(ages), tuple(genders), urgency, has_id, dest))
    return made


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--households", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    # Without photo ID only Amtrak and the regional buses carry a household (flights need ID).
    parser.add_argument("--id-rate", type=float, default=0.8)
    parser.add_argument("--no-amtrak", dest="amtrak", action="store_false",
                        help="the synthetic network alone")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    tt = expand(national_calendar(2000, amtrak=args.amtrak), DAY)
    now = int(datetime(2023, 4, 12, 15, tzinfo=UTC).timestamp()) // 60  # 10:00 in Houston
    print(f"national timetable ({'Amtrak and ' if args.amtrak else ''}synthetic): "
          f"{len(tt.network.stops)} stops, "
          f"{len(tt.network.trips)} trip instances ({time.perf_counter() - t0:.1f} s)")

    by_state: dict[str, list] = {}
    for c in us_cities():
        if c.state != "TX" and len(by_state.setdefault(c.state, [])) < 3:
            by_state[c.state].append(c)
    states = sorted(by_state, key=lambda s: -sum(c.population for c in by_state[s]))[:40]
    dest_cities = [c for s in states for c in by_state[s]]
    shelters, facts = shelters_near(rng, dest_cities, now)
    index = ShelterIndex(shelters)
    hh = households(rng, states, by_state, args.households, args.id_rate)

    t1 = time.perf_counter()
    pools, trips, near_of = {}, {}, {}
    for ref, ages, genders, urgency, has_id, dest in hh:
        h = Household(ref, tuple(Member(a, g) for a, g in zip(ages, genders, strict=True)),
                      dest.lat, dest.lon, urgency=urgency, max_travel_km=RADIUS_KM,
                      has_photo_id=has_id, has_referral=True)
        ranked = rank_for_household(h, index, limit=60)
        near_of[ref] = tuple(NearBed(o.shelter_id, o.bed_type, o.beds, o.travel_minutes,
                                     3 * o.language_match + 2 * o.specialisation_match
                                     + o.fresh) for o in ranked.options)
        found = plan_trips(tt, TripQuery(Place(RAID[2], RAID[3]), Place(dest.lat, dest.lon),
                                         now, traveller_ages=ages, has_photo_id=has_id,
                                         escort_available=True))
        trips[ref] = tuple(TripOption(f"{ref}-{k}", it.depart, it.arrive, it.cost_cents)
                           for k, it in enumerate(found.itineraries))
    candidates_s = time.perf_counter() - t1
    reach = sorted(min(t.arrive - now for t in ts) for ts in trips.values() if ts)
    print(f"households with an itinerary: {len(reach)} of {len(hh)}; fastest arrival after "
          f"the raid: median {reach[len(reach) // 2] / 60 if reach else 0:.1f} h, "
          f"within 23 h: {sum(r <= 23 * 60 for r in reach)}")
    for s in shelters:
        f = facts[s.shelter_id]
        for bt, n in s.available.items():
            pools[(s.shelter_id, bt)] = BedPool(
                s.shelter_id, bt, n, s.state, s.lat, s.lon, f["hold_until"],
                intake_windows(f["tz"], now) if f["intake"] else ())
    cheapest = sum(min((t.cost_cents for t in trips[r[0]]), default=0) for r in hh)
    sources = (SourceRule("general", int(cheapest * 0.45)),
               SourceRule("youth", int(cheapest * 0.15), min_age=0, max_age=24, priority=2))
    print(f"{len(hh)} households ({sum(len(r[1]) for r in hh)} persons) to {len(states)} "
          f"states, {len(shelters)} shelters; candidates (ranking + {len(hh)} Pareto "
          f"searches): {candidates_s:.1f} s; budgets {sources[0].budget_cents / 100:,.0f} + "
          f"{sources[1].budget_cents / 100:,.0f} $ (60 % of everyone's cheapest trip)")

    # Joint.
    cases, left_out = [], {}
    for ref, ages, _g, urgency, _id, _d in hh:
        opts, cut = build_options(Pool(near_of[ref], trips[ref]), k=4, per_shelter=3)
        cases.append(ReturnCase(ref, urgency, ages, opts))
        left_out[ref] = cut
    inst = ReturnInstance(now, tuple(cases), tuple(pools[k] for k in sorted(pools)), sources,
                          PlanOptions(hold_buffer_minutes=BUFFER, time_limit_s=args.time_limit,
                                      num_workers=args.workers))
    t2 = time.perf_counter()
    joint = solve(inst)
    joint_s = time.perf_counter() - t2
    problems = validate_plan(inst, joint)
    cert = widening_certificate(inst.cases, joint, left_out, 5, inst)

    # Sequential: match (batch matching at the destinations), search (fastest), allocate.
    t3 = time.perf_counter()
    hs = [Household(ref, tuple(Member(a, g) for a, g in zip(ages, gs, strict=True)),
                    d.lat, d.lon, urgency=u, max_travel_km=RADIUS_KM, has_photo_id=i,
                    has_referral=True) for ref, ages, gs, u, i, d in hh]
    matched = solve_batch(hs, index, options=BatchOptions(max_time_in_seconds=args.time_limit,
                                                          num_workers=args.workers))
    fastest = {}
    needs = []
    for a in matched.assignments:
        if trips[a.case_ref]:
            t = min(trips[a.case_ref], key=lambda t: (t.arrive, t.cost_cents))
            fastest[a.case_ref] = (t, a)
            needs.append(CaseNeed(a.case_ref, next(r[3] for r in hh if r[0] == a.case_ref),
                                  next(r[1] for r in hh if r[0] == a.case_ref),
                                  (Candidate(t.itinerary_id, t.cost_cents),)))
    funded = {f.case_id for f in allocate(needs, list(sources),
                                          time_limit_s=args.time_limit).assignments}
    seq_s = time.perf_counter() - t3
    ages_of = {r[0]: r[1] for r in hh}
    seq_home, lost_beds, seq_cost, seq_cost_home, seq_travel = [], 0, 0, 0, 0
    for ref, (t, a) in fastest.items():
        pool = pools[(a.shelter_id, a.bed_type)]
        arrive = t.arrive + a.travel_minutes
        in_time = arrive + BUFFER <= pool.hold_until
        in_hours = not pool.intake or any(lo <= arrive <= hi for lo, hi in pool.intake)
        if ref in funded:
            seq_cost += t.cost_cents
        if not in_time:
            lost_beds += a.beds
        if ref in funded and in_time and in_hours:
            seq_home.append(ref)
            seq_cost_home += t.cost_cents
            seq_travel += arrive - t.depart
    lost_unheld = sum(a.beds for a in matched.assignments if a.case_ref not in fastest)
    seq_persons = sum(len(ages_of[r]) for r in seq_home)
    seq_weight = sum(weight(c, 5) for c in cases if c.case_id in set(seq_home))

    o = joint.objective
    jh = len(joint.chosen)
    print(f"joint: {joint.status} ({', '.join(joint.level_status)}), gap {joint.gap:.4f}, "
          f"validator {'clean' if not problems else problems[:3]}, widening certificate "
          f"{'certified' if cert.certified else f'gap {cert.widening_gap:.3f}'} "
          f"({cert.cases_left_out} unplaced cases with options left out)")
    print(f"{'measure':<34}{'sequential':>14}{'joint':>14}{'ratio':>9}")

    def row(name: str, seq: float, jnt: float, fmt: str = ",.0f") -> None:
        ratio = f"{jnt / seq:.3f}" if seq else "-"
        print(f"{name:<34}{seq:>14{fmt}}{jnt:>14{fmt}}{ratio:>9}")

    row("persons home", seq_persons, joint.persons)
    row("households home", len(seq_home), jh)
    row("priority-weighted persons home", seq_weight, o.weighted_persons)
    row("travel minutes, total (home)", seq_travel, o.travel_minutes)
    row("travel minutes per household", seq_travel / max(len(seq_home), 1),
        o.travel_minutes / max(jh, 1), ",.1f")
    row("money spent $ (all funded trips)", seq_cost / 100, o.cost_cents / 100, ",.2f")
    row("money spent $ on trips home", seq_cost_home / 100, o.cost_cents / 100, ",.2f")
    row("beds lost to lapsed holds", lost_beds, 0)
    row("beds held without any trip", lost_unheld, 0)
    row("solve seconds", seq_s, joint_s, ",.2f")
    ok = (joint.persons >= seq_persons and o.weighted_persons >= seq_weight and not problems
          and joint_s <= 20)
    print(f"joint no worse on persons home and solved within 20 s: {ok}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
