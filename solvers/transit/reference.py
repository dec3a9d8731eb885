"""Reference earliest arrival: networkx Dijkstra over a time-expanded graph (test oracle).

Built straight from a `Network`'s connections, independently of the pattern index the fast
search uses. Every connection has a departure node and an arrival node; a trip chains its
arrival node to its next departure node (staying seated); each stop has a chain of "ready to
board" nodes in time order, entered after alighting plus the minimum transfer time (never at a
no-transfer stop) or after a footpath; ready nodes lead to departures that allow pickup, and
arrivals that allow drop-off lead to a per-stop sink. Edge weights are time differences, so the
distance to a sink is the arrival time minus the departure time. It is slow and simple on
purpose: the benchmark baseline.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from dataclasses import dataclass

import networkx as nx

from solvers.errors import TransitInputError
from solvers.transit.model import Network


@dataclass(frozen=True, slots=True)
class ReferenceGraph:
    graph: nx.DiGraph
    # Per stop: sorted ready times and their node ids.
    ready_times: tuple[tuple[int, ...], ...]
    ready_nodes: tuple[tuple[int, ...], ...]
    sink_base: int


def build_reference(network: Network, min_transfer_minutes: int = 0) -> ReferenceGraph:
    n = len(network.stops)
    conns = network.connections
    mtt = [max(s.min_transfer_minutes, min_transfer_minutes) for s in network.stops]
    walks: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for fp in network.footpaths:
        if fp.from_stop != fp.to_stop:
            walks[fp.from_stop].append((fp.to_stop, fp.minutes))
    ready: list[set[int]] = [set() for _ in range(n)]
    for c in conns:
        if c.pickup:
            ready[c.from_stop].add(c.dep)
        if c.dropoff:
            if not network.stops[c.to_stop].no_transfer:
                ready[c.to_stop].add(c.arr + mtt[c.to_stop])
            for w, walk in walks[c.to_stop]:
                ready[w].add(c.arr + walk)
    base = 2 * len(conns)
    ids: dict[tuple[int, int], int] = {}
    times: list[tuple[int, ...]] = []
    nodes: list[tuple[int, ...]] = []
    graph = nx.DiGraph()
    for s in range(n):
        ordered = tuple(sorted(ready[s]))
        chain = []
        for t in ordered:
            ids[(s, t)] = base
            chain.append(base)
            base += 1
        times.append(ordered)
        nodes.append(tuple(chain))
        for i in range(1, len(ordered)):
            graph.add_edge(chain[i - 1], chain[i], weight=ordered[i] - ordered[i - 1])
    sink_base = base
    by_trip: dict[int, list[int]] = {}
    for i, c in enumerate(conns):
        by_trip.setdefault(c.trip, []).append(i)
        graph.add_edge(2 * i, 2 * i + 1, weight=c.arr - c.dep)
        if c.pickup:
            graph.add_edge(ids[(c.from_stop, c.dep)], 2 * i, weight=0)
        if c.dropoff:
            v = c.to_stop
            if not network.stops[v].no_transfer:
                graph.add_edge(2 * i + 1, ids[(v, c.arr + mtt[v])], weight=mtt[v])
            graph.add_edge(2 * i + 1, sink_base + v, weight=0)
            for w, walk in walks[v]:
                graph.add_edge(2 * i + 1, ids[(w, c.arr + walk)], weight=walk)
                # Parallel footpaths share the sink edge; the shortest walk must win.
                old = graph.get_edge_data(2 * i + 1, sink_base + w)
                if old is None or old["weight"] > walk:
                    graph.add_edge(2 * i + 1, sink_base + w, weight=walk)
    for rows in by_trip.values():
        rows.sort(key=lambda i: conns[i].seq)
        for a, b in itertools.pairwise(rows):
            if conns[b].dep < conns[a].arr:
                raise TransitInputError("connections", "trip departs before it arrives")
            graph.add_edge(2 * a + 1, 2 * b, weight=conns[b].dep - conns[a].arr)
    return ReferenceGraph(graph, tuple(times), tuple(nodes), sink_base)


def reference_earliest_arrival(
    ref: ReferenceGraph, origin: int, target: int, depart_after: int
) -> int | None:
    if origin == target:
        return depart_after
    times = ref.ready_times[origin]
    k = bisect_left(times, depart_after)
    sink = ref.sink_base + target
    if k == len(times) or sink not in ref.graph:
        return None
    source = ref.ready_nodes[origin][k]
    try:
        dist = nx.dijkstra_path_length(ref.graph, source, sink, weight="weight")
    except nx.NetworkXNoPath:
        return None
    return times[k] + int(dist)
