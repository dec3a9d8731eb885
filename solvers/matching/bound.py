"""Lexicographic flow relaxation over every eligible pair: the certificate and the travel hint.

The batch model prunes each household to its K nearest eligible shelters. To know that pruning
lost nothing, the pruned answer is compared with a bound of the unpruned problem: a min-cost
flow in which household i supplies b_i units (the fewest beds or family units it needs at any
of its shelters), may split them across its eligible (shelter, bed type) nodes, and each node
holds its free beds or units. Every real plan is a feasible flow of equal level-1 value (it
uses at least b_i units wherever it goes), so `floor(flow optimum)` bounds the true optimum.

Costs are lexicographic in one solve: level 1 (priority per unit, scaled by the lcm of the b_i)
times a weight larger than any total travel, plus travel per unit. The flow therefore also
minimises total travel among the level-1-optimal flows, which makes its households that end up
whole on one pair an excellent travel-aware starting plan; where no household is split the
flow *is* the lexicographic optimum of levels 1-2 over all eligible pairs. Travel is kept in
metres when the int64 cost range allows and coarsened by powers of ten otherwise (then it only
guides, it proves nothing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

IntArray = NDArray[np.int64]
_COST_LIMIT = 1 << 62


@dataclass(frozen=True)
class FlowRelaxation:
    """Optimum of the relaxation.

    `bound` = floor of its level-1 value (an upper bound on priority-weighted persons over all
    eligible pairs); `value_scaled` = that value times `scale` exactly. Per household,
    `units[i]` = b_i, `gain[i]` = level-1 value per unit times `scale`, and `flow[i]` maps
    candidate row -> units sent there. `travel_exact` is False when travel was coarsened.
    """

    bound: int
    value_scaled: int
    scale: int
    units: tuple[int, ...]
    gain: tuple[int, ...]
    flow: tuple[dict[int, int], ...]
    travel_exact: bool

    def household_value_scaled(self, i: int) -> int:
        return sum(self.flow[i].values()) * self.gain[i]


def lexicographic_flow(
    priorities: Sequence[int],
    nodes: Sequence[IntArray],
    beds: Sequence[IntArray],
    distance_m: Sequence[IntArray],
    node_capacity: IntArray,
) -> FlowRelaxation:
    """Solve the relaxation. Household i may use candidate rows k with node `nodes[i][k]`
    (an index into `node_capacity`), needing `beds[i][k]` and travelling `distance_m[i][k]`."""
    n_h = len(priorities)
    units = [int(b.min()) if len(b) else 0 for b in beds]
    scale = 1
    for b in set(units) - {0}:
        scale = math.lcm(scale, b)
    gain = [p * scale // b if b else 0 for p, b in zip(priorities, units, strict=True)]
    level1_total = sum(b * g for b, g in zip(units, gain, strict=True))
    used_nodes = np.unique(np.concatenate([*nodes, np.zeros(0, np.int64)]))
    # OR-tools scales costs by the node count internally; keep that product in int64 too.
    arc_limit = _COST_LIMIT // (n_h + len(used_nodes) + 3)
    top_gain = max(gain, default=0)
    div = 1
    while True:
        far = sum(int(d.max()) // div * scale for d in distance_m if len(d))
        weight = far + 1
        if weight * (level1_total + 1) + far < _COST_LIMIT and weight * top_gain < arc_limit:
            break
        div *= 10
    source, sink, h0 = 0, 1, 2
    n0 = h0 + n_h
    tails: list[IntArray] = []
    heads: list[IntArray] = []
    caps: list[IntArray] = []
    costs: list[IntArray] = []
    arc_start: list[int] = []
    n_arcs = 0
    lookup = np.zeros(int(used_nodes.max()) + 1 if len(used_nodes) else 1, np.int64)
    lookup[used_nodes] = np.arange(len(used_nodes))
    # Household arcs first (source -> household -> node), household by household.
    for i in range(n_h):
        b = units[i]
        k = len(nodes[i])
        arc_start.append(n_arcs + 1)
        if k == 0:
            continue
        tails.append(np.array([source], np.int64))
        heads.append(np.array([h0 + i], np.int64))
        caps.append(np.array([b], np.int64))
        costs.append(np.array([-weight * gain[i]], np.int64))
        tails.append(np.full(k, h0 + i, np.int64))
        heads.append(n0 + lookup[nodes[i]])
        caps.append(np.full(k, b, np.int64))
        costs.append((distance_m[i] // div) * (scale // b))
        n_arcs += 1 + k
    tails.append(n0 + np.arange(len(used_nodes), dtype=np.int64))
    heads.append(np.full(len(used_nodes), sink, np.int64))
    caps.append(node_capacity[used_nodes].astype(np.int64))
    costs.append(np.zeros(len(used_nodes), np.int64))
    total = sum(units)
    # Bypass arc: units that are not placed flow straight to the sink at no gain.
    tails.append(np.array([source], np.int64))
    heads.append(np.array([sink], np.int64))
    caps.append(np.array([total], np.int64))
    costs.append(np.zeros(1, np.int64))
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.concatenate(caps),
        np.concatenate(costs),
    )
    smcf.set_node_supply(source, total)
    smcf.set_node_supply(sink, -total)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    all_flows = smcf.flows(np.arange(n_arcs, dtype=np.int64)) if n_arcs else np.zeros(0)
    flow: list[dict[int, int]] = []
    value = 0
    for i in range(n_h):
        k = len(nodes[i])
        if k == 0:
            flow.append({})
            continue
        start = arc_start[i]
        f = all_flows[start : start + k]
        value += int(all_flows[start - 1]) * gain[i]
        flow.append({int(r): int(f[r]) for r in np.flatnonzero(f).tolist()})
    return FlowRelaxation(
        bound=value // scale,
        value_scaled=value,
        scale=scale,
        units=tuple(units),
        gain=tuple(gain),
        flow=tuple(flow),
        travel_exact=div == 1,
    )
