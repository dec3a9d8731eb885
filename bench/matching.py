"""Benchmark of shelter matching on a synthetic national instance (a script, not a test).

Builds about 5,000 shelters around real US cities (GeoNames extract in /work/shared/data,
CC BY 4.0): each state gets shelters in proportion to its year-round emergency, transitional
and safe-haven beds in the HUD 2024 Housing Inventory Count (public domain, also in
/work/shared/data), spread over its cities by population; and 2,000 households (~3,800
persons) from three origin cities, in two regimes: plenty of beds and scarce beds. Prints,
per regime: time to optimal or the gap at the limit, persons placed and total travel against
the greedy nearest-first baseline and against the unpruned flow bound, and the
single-household p95 of `rank_for_household` against a bare numpy distance-and-sort over the
same shelters. Every figure carries a ratio to a baseline measured in the same run. Skips
cleanly without the data.

    .venv/bin/python bench/matching.py [--time-limit 10] [--workers 2] [--seed 7]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from pathlib import Path

import numpy as np

from solvers.geo import haversine_m_many
from solvers.matching import (
    BatchOptions,
    Household,
    Member,
    ShelterIndex,
    ShelterOption,
    greedy_nearest_first,
    rank_for_household,
    solve_batch,
)
from solvers.matching.validation import validate_plan

CITIES = Path("/work/shared/data/us_geography_from_pypi/us_cities_geonames_min15000.csv")
HIC = Path("/work/shared/data/hud_hic_pit_2024/2024-HIC-Counts-by-State.csv")
ORIGINS = [("Houston", "TX"), ("Los Angeles", "CA"), ("Chicago", "IL")]
KINDS = [  # (populations, bed types, weight)
    (("adult_women",), ("adult_female",), 30),
    (("adult_women", "transgender_nonbinary_adults"), ("adult_female", "adult_any"), 10),
    (("adult_men",), ("adult_male",), 18),
    (("adult_women", "adult_men", "transgender_nonbinary_adults"), ("adult_any",), 10),
    (("families_with_children", "adult_women"), ("family_unit", "adult_female"), 20),
    (("youth_12_17",), ("youth",), 7),
    (("young_adults_18_24", "adult_women", "adult_men"), ("adult_female", "adult_male"), 5),
]


def load_cities() -> list[tuple[str, str, float, float, int]]:
    with CITIES.open() as f:
        return [
            (r["name"], r["state"], float(r["latitude"]), float(r["longitude"]),
             int(r["population"]))
            for r in csv.DictReader(f)
        ]


def load_hic_beds() -> dict[str, int]:
    """State -> total year-round beds (ES, TH, SH); empty when the file is missing."""
    if not HIC.exists():
        return {}
    with HIC.open(newline="") as f:
        rows = list(csv.reader(f))[1:]  # row 0 is a merged group header
    col = rows[0].index("Total Year-Round Beds (ES, TH, SH)")
    out = {}
    for r in rows[1:]:
        if r and len(r[0]) == 2 and r[col].replace(",", "").isdigit():
            out[r[0]] = int(r[col].replace(",", ""))
    return out


def jitter(rng: random.Random, lat: float, lon: float, km: float) -> tuple[float, float]:
    return lat + rng.uniform(-km, km) / 111.0, lon + rng.uniform(-km, km) / 85.0


def make_shelters(rng: random.Random, cities: list, n: int, scarce: bool) -> list[ShelterOption]:
    weights = [c[4] ** 0.8 for c in cities]
    beds = load_hic_beds()
    if beds:
        # Each state's share of shelters follows its HIC beds; within it, city population.
        in_state: dict[str, float] = {}
        for c, wt in zip(cities, weights, strict=True):
            in_state[c[1]] = in_state.get(c[1], 0.0) + wt
        weights = [wt * beds.get(c[1], 0) / in_state[c[1]]
                   for c, wt in zip(cities, weights, strict=True)]
    picks = rng.choices(cities, weights=weights, k=n)
    kinds = rng.choices(KINDS, weights=[k[2] for k in KINDS], k=n)
    out = []
    for i, ((name, st, lat, lon, _), (pops, beds, _)) in enumerate(zip(picks, kinds, strict=True)):
        hi = 3 if scarce else 14
        avail = {b: rng.randint(0, hi) for b in beds}
        la, lo = jitter(rng, lat, lon, 15)
        out.append(ShelterOption(
            shelter_id=f"SH{i:05d}", lat=la, lon=lo, populations=frozenset(pops),
            available=avail, city=name, state=st,
            languages=frozenset({"en", "es"} if rng.random() < 0.4 else {"en"}),
            family_unit_max_household=rng.choice([4, 5, 6]), children_max_age=17,
            wheelchair_accessible=rng.random() < 0.5, medical_support=rng.random() < 0.3,
            requires_photo_id=rng.random() < 0.1,
            trafficking_specialisation=rng.choice(["none", "none", "sex", "labor", "both"]),
            count_age_minutes=rng.randint(0, 2000), confidential=rng.random() < 0.3,
        ))
    return out


def make_households(rng: random.Random, cities: list, n: int) -> list[Household]:
    origin = {(c[0], c[1]): c for c in cities}
    out = []
    for j in range(n):
        _, _, lat, lon, _ = origin[ORIGINS[j % 3]]
        r = rng.random()
        if r < 0.50:
            ms = [Member(rng.randint(18, 60), rng.choice(["female"] * 3 + ["male", "nonbinary"]))]
        elif r < 0.60:
            g = rng.choice(["female", "male"])
            ms = [Member(rng.randint(18, 60), g) for _ in range(rng.randint(2, 6))]
        elif r < 0.92:
            ms = [Member(rng.randint(20, 50), "female")] + [
                Member(rng.randint(0, 17), rng.choice(["female", "male"]))
                for _ in range(rng.randint(1, 3))
            ]
        else:
            ms = [Member(rng.randint(12, 17), rng.choice(["female", "male"]))]
        la, lo = jitter(rng, lat, lon, 25)
        out.append(Household(
            case_ref=f"C-{j:05d}", members=tuple(ms), lat=la, lon=lo,
            urgency=rng.randint(1, 5), max_travel_km=rng.choice([300, 500, 800, 1200]),
            languages=("es",) if rng.random() < 0.4 else ("en",),
            needs=frozenset({"wheelchair"}) if rng.random() < 0.05 else frozenset(),
            trafficking_type=rng.choice(["sex", "labor", "none"]),
            has_photo_id=rng.random() < 0.5,
        ))
    return out


def p95_ms(samples: list[float]) -> float:
    return float(np.percentile(np.array(samples) * 1000, 95))


def single_household(index: ShelterIndex, hs: list[Household]) -> None:
    ranked, bare = [], []
    for h in hs[:300]:
        t = time.perf_counter()
        rank_for_household(h, index, limit=10)
        ranked.append(time.perf_counter() - t)
        t = time.perf_counter()
        np.argsort(haversine_m_many(h.lat, h.lon, index.arr.lat, index.arr.lon))[:10]
        bare.append(time.perf_counter() - t)
    a, b = p95_ms(ranked), p95_ms(bare)
    print(f"  single household p95: {a:.2f} ms (target <= 50 ms); bare numpy distance+sort "
          f"p95 {b:.2f} ms; ratio {a / b:.1f}x")


def regime(name: str, shelters: list[ShelterOption], hs: list[Household], args) -> None:
    persons = sum(h.size for h in hs)
    print(f"\n== {name}: {len(shelters)} shelters, {len(hs)} households, {persons} persons ==")
    index = ShelterIndex(shelters)
    t = time.perf_counter()
    g = greedy_nearest_first(hs, index)
    tg = time.perf_counter() - t
    t = time.perf_counter()
    opts = BatchOptions(max_time_in_seconds=args.time_limit, num_workers=args.workers,
                        candidate_k=args.k)
    r = solve_batch(hs, index, options=opts)
    ts = time.perf_counter() - t
    c = r.certificate
    assert c is not None
    bad = validate_plan(hs, shelters, r.assignments, r.unplaced, None, r.objective)
    go, ro = g.objective, r.objective
    print(f"  greedy: {tg:.2f} s, persons {go.persons}, weighted {go.weighted_persons}, "
          f"travel {go.travel_m / 1000:,.0f} km")
    g_gap = (r.bound - go.weighted_persons) / max(1, r.bound)
    print(f"  solver: {ts:.2f} s ({ts / tg:.1f}x greedy time), status {r.status}, levels "
          f"{r.level_status}, gap {r.gap:.4%} to the unpruned bound {r.bound} "
          f"(greedy's gap {g_gap:.2%})")
    print(f"  certificate: certified={c.certified} K={c.candidate_k} rounds={c.rounds} "
          f"pairs modelled {c.pairs_modelled:,} of {c.pairs_eligible:,} eligible "
          f"({c.pairs_modelled / max(1, c.pairs_eligible):.1%})")
    print(f"  persons placed {ro.persons} vs greedy {go.persons} "
          f"(ratio {ro.persons / max(1, go.persons):.3f}); weighted {ro.weighted_persons} vs "
          f"greedy {go.weighted_persons} ({ro.weighted_persons / max(1, go.weighted_persons):.3f})"
          f", vs bound {ro.weighted_persons / max(1, r.bound):.4f}")
    print(f"  total travel {ro.travel_m / 1000:,.0f} km vs greedy {go.travel_m / 1000:,.0f} km "
          f"(ratio {ro.travel_m / max(1, go.travel_m):.3f}); per placed household "
          f"{ro.travel_m / 1000 / max(1, ro.households):.0f} km vs "
          f"{go.travel_m / 1000 / max(1, go.households):.0f} km")
    print(f"  validator violations: {len(bad)}; never below greedy: "
          f"{ro.weighted_persons >= go.weighted_persons}")
    single_household(index, hs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--k", type=int, default=20)
    ap.add_argument("--shelters", type=int, default=5000)
    ap.add_argument("--households", type=int, default=2000)
    ap.add_argument("--regime", choices=["both", "plenty", "scarce"], default="both")
    args = ap.parse_args()
    if not CITIES.exists():
        print(f"skipped: {CITIES} not found")
        return 0
    cities = load_cities()
    hs = make_households(random.Random(args.seed), cities, args.households)
    for name in ("plenty", "scarce"):
        if args.regime in (name, "both"):
            shelters = make_shelters(random.Random(args.seed), cities, args.shelters,
                                     scarce=name == "scarce")
            regime(name, shelters, hs, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
