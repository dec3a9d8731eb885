"""Benchmark: itinerary search on a national network versus a networkx time-expanded baseline.

Network: what `homeward transport load-national` stores, read the way the service reads it: the
real 2023 Amtrak feed plus the synthetic intercity bus among the 2,000 most populous US places
(GeoNames) and daily flights between 35 real airports (`fixtures.national_transit`, written as
GTFS), merged with walking transfers under 3 km and 45-minute airport shuttles under 40 km.
The engine's calendar-aware timetable is built once (`build_calendar`), written to and loaded
from a disk cache file as `homeward serve` does, and expanded for departures on 12 April 2023:
service days 11-19 April, trips of up to seven days. 200 random origin-destination queries
(seeded) depart between 06:00 and 18:00 Central on 12 April. The networkx baseline is a
time-expanded graph of the same nine service days (`build_network` over the same merged feed),
so both see the whole 7-day horizon; earliest arrivals must be identical. Reports the build,
cache-load and expansion times and memory, p50/p95 for earliest arrival and the Pareto search,
each with its ratio to the baseline measured in the same run.
Run: `.venv/bin/python bench/itineraries.py [--queries N]`. While iterating on the engine,
`--baseline-cache FILE` keeps the networkx answers and timings of this query set in FILE (the
first run builds the graph, about 70 s and 6 GB, later runs reuse it and say so),
`--calendar-cache FILE` keeps the built calendar likewise, and `--answers FILE` records every
earliest arrival and Pareto answer the first time and checks later runs give the same. The
default builds everything afresh.
"""

from __future__ import annotations

import argparse
import os
import pickle
import random
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stats import pct
from fixtures.national_transit import national_gtfs
from logistics.travel.feeds import parse
from logistics.travel.gtfs import (
    Feed,
    StopInfo,
    build_calendar,
    build_network,
    read_feed,
    read_stop_info,
)
from logistics.travel.search import link_feeds, merge_feeds
from solvers.transit import (
    Network,
    Place,
    SearchResult,
    TripQuery,
    earliest_arrival,
    plan_trips,
)
from solvers.transit.calendar import expand
from solvers.transit.reference import build_reference, reference_earliest_arrival

DAY = date(2023, 4, 12)
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * 4096 / 1e6


def baseline(cache: Path | None, queries: list[tuple[str, str, int]], feed: Feed,
             stop_info: dict[str, StopInfo], owner: dict[str, int], built: tuple[float, float]
             ) -> tuple[list[int | None], list[float]]:
    """The networkx answers and milliseconds per query, built afresh or reused from `cache`."""
    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            stored = pickle.load(handle)  # written by an earlier run of this benchmark
        if stored["queries"] == queries:
            print(f"baseline networkx answers and timings reused from {cache} (measured at "
                  f"load {stored['load']})")
            return stored["answers"], stored["ms"]
        print(f"{cache} holds another query set: the baseline is built afresh")
    t4 = time.perf_counter()
    network = build_network(feed, DAY, DAY + timedelta(days=7), stop_info=stop_info,
                            default_transfer_minutes=10)
    network = link_feeds(network, [owner[s.stop_id] for s in network.stops])
    mem2 = rss_mb()
    ref = build_reference(network, 10)
    ref_s, ref_mb = time.perf_counter() - t4, rss_mb() - mem2
    print(f"baseline networkx graph of the same horizon ({len(network.connections)} connections):"
          f" {ref_s:.2f} s, {ref_mb:.0f} MB ({ref.graph.number_of_nodes()} nodes, "
          f"{ref.graph.number_of_edges()} edges); build ratio {built[0] / ref_s:.2f}x"
          f" time, {built[1] / max(ref_mb, 1):.2f}x memory")
    ref_index = {s.stop_id: i for i, s in enumerate(network.stops)}
    wanted: list[int | None] = []
    ref_ms: list[float] = []
    for so, sd, t in queries:
        b = time.perf_counter()
        wanted.append(reference_earliest_arrival(ref, ref_index[so], ref_index[sd], t)
                      if so in ref_index and sd in ref_index else None)
        ref_ms.append((time.perf_counter() - b) * 1000)
    if cache is not None:
        load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
        with cache.open("wb") as handle:
            pickle.dump({"queries": queries, "answers": wanted, "ms": ref_ms, "load": load},
                        handle, protocol=pickle.HIGHEST_PROTOCOL)
    return wanted, ref_ms


def same_answers(path: Path, queries: list[tuple[str, str, int]], answers: list[int | None],
                 found: list[SearchResult]) -> bool:
    """Records the answers in `path` the first time; later, whether they are the same."""
    mine = {"queries": queries, "earliest": answers, "pareto": found}
    if not path.exists():
        with path.open("wb") as handle:
            pickle.dump(mine, handle, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"answers recorded in {path}")
        return True
    with path.open("rb") as handle:
        stored = pickle.load(handle)  # written by an earlier run of this benchmark
    if stored["queries"] != queries:
        print(f"{path} holds another query set: nothing compared")
        return False
    ea = sum(a != b for a, b in zip(stored["earliest"], answers, strict=True))
    pareto = sum(a != b for a, b in zip(stored["pareto"], found, strict=True))
    print(f"answers against {path}: {ea} earliest arrivals and {pareto} Pareto results differ")
    return bool(ea == 0 and pareto == 0)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--cities", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--baseline-cache", type=Path)
    parser.add_argument("--calendar-cache", type=Path)
    parser.add_argument("--answers", type=Path)
    args = parser.parse_args()
    feed_dir = DATA / "amtrak_gtfs_2023"
    if not feed_dir.is_dir():
        print(f"skipped: {feed_dir} is absent")
        return 0
    mem0, t0 = rss_mb(), time.perf_counter()
    info = read_stop_info(DATA / "amtrak_stations_metadata" / "amtrak_stations.csv",
                          feed_dir / "stops_state_lookup.csv")
    files, synth_info = national_gtfs(cities=args.cities, seed=7)
    feed, stop_info, owner = merge_feeds([(1, read_feed(feed_dir), info),
                                          (2, parse(files), synth_info)])
    read_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if args.calendar_cache is not None and args.calendar_cache.exists():
        with args.calendar_cache.open("rb") as handle:
            cal = pickle.load(handle)  # written by an earlier run of this benchmark
        print(f"calendar reused from {args.calendar_cache}: build time not measured")
    else:
        cal = build_calendar(feed, stop_info=stop_info, default_transfer_minutes=10)
        linked = link_feeds(Network(cal.stops, cal.carriers, (), (), cal.footpaths),
                            [owner[s.stop_id] for s in cal.stops])
        cal = replace(cal, footpaths=linked.footpaths)
        if args.calendar_cache is not None:
            with args.calendar_cache.open("wb") as handle:
                pickle.dump(cal, handle, protocol=pickle.HIGHEST_PROTOCOL)
    build_s, build_mb = time.perf_counter() - t1, rss_mb() - mem0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calendar.pickle"
        with path.open("wb") as handle:
            pickle.dump(cal, handle, protocol=pickle.HIGHEST_PROTOCOL)
        size_mb = path.stat().st_size / 1e6
        t2 = time.perf_counter()
        with path.open("rb") as handle:
            cal = pickle.load(handle)  # written just above
        load_s = time.perf_counter() - t2
    mem1, t3 = rss_mb(), time.perf_counter()
    tt = expand(cal, DAY)
    expand_s, expand_mb = time.perf_counter() - t3, rss_mb() - mem1
    covered = cal.covers()
    print(f"calendar: {len(cal.stops)} stops, {sum(len(g.trip_ids) for g in cal.groups)} trips "
          f"in {len(cal.groups)} route patterns, service {covered[0]}..{covered[1]}; "
          f"day timetable {DAY}: {len(tt.network.trips)} trip instances, {len(tt.patterns)} "
          f"patterns, {len(cal.footpaths)} footpaths")
    print(f"feeds read: {read_s:.2f} s   timetable build: {build_s:.2f} s, {build_mb:.0f} MB "
          f"(with the feeds)   disk cache: {size_mb:.1f} MB, load {load_s:.2f} s   "
          f"expansion for a departure day (9 service days): {expand_s:.2f} s, {expand_mb:.0f} MB")

    rng = random.Random(args.seed)
    boardable = [i for i, p in enumerate(tt.stop_patterns) if p]
    start = int(datetime(2023, 4, 12, 11, tzinfo=UTC).timestamp()) // 60
    queries = [(rng.choice(boardable), rng.choice(boardable), start + rng.randint(0, 720))
               for _ in range(args.queries)]
    named = [(tt.network.stops[o].stop_id, tt.network.stops[d].stop_id, t)
             for o, d, t in queries]
    wanted, ref_ms = baseline(args.baseline_cache, named, feed, stop_info, owner,
                              (build_s + expand_s, build_mb + expand_mb))
    ea_ms, answers, mismatches = [], [], 0
    for (o, d, t), want in zip(queries, wanted, strict=True):
        a = time.perf_counter()
        got = earliest_arrival(tt, o, d, t, min_transfer_minutes=10)
        ea_ms.append((time.perf_counter() - a) * 1000)
        answers.append(got)
        mismatches += got != want
    reached = sum(a is not None for a in answers)
    p50, p95 = statistics.median(ea_ms), pct(ea_ms, 0.95)
    r50, r95 = statistics.median(ref_ms), pct(ref_ms, 0.95)
    print(f"earliest arrival: p50 {p50:.2f} ms, p95 {p95:.2f} ms   networkx: p50 {r50:.1f} ms, "
          f"p95 {r95:.1f} ms   speed-up p50 {r50 / p50:.1f}x, p95 {r95 / p95:.1f}x, mean "
          f"{sum(ref_ms) / sum(ea_ms):.1f}x   identical answers: {len(queries) - mismatches}/"
          f"{len(queries)} ({reached} reachable)")

    pareto_ms, sizes, found = [], [], []
    for o, d, t in queries:
        so, sd = tt.network.stops[o], tt.network.stops[d]
        query = TripQuery(Place(so.lat, so.lon), Place(sd.lat, sd.lon), t)
        a = time.perf_counter()
        result = plan_trips(tt, query)
        pareto_ms.append((time.perf_counter() - a) * 1000)
        sizes.append(len(result.itineraries))
        found.append(result)
    q50, q95 = statistics.median(pareto_ms), pct(pareto_ms, 0.95)
    print(f"pareto search: p50 {q50:.1f} ms, p95 {q95:.1f} ms (ratio to networkx earliest "
          f"arrival p95 {q95 / r95:.2f}x), mean {statistics.mean(sizes):.1f} itineraries, "
          f"max {max(sizes)}")
    # Other work on the machine moves the milliseconds (not the ratios): print the load with them.
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min): {load} on {os.cpu_count()} cores")
    ok = p95 <= 15 and r95 / p95 >= 5 and q95 <= 200 and mismatches == 0
    if args.answers is not None:
        ok = same_answers(args.answers, named, answers, found) and ok
    print(f"targets (EA p95 <= 15 ms, >= 5x networkx, Pareto p95 <= 200 ms, identical): "
          f"{'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
