"""Upper bound on priority-weighted persons placed, over every eligible pair (the certificate).

The batch model prunes each household to its K nearest eligible shelters. To know that pruning
lost nothing, the pruned answer is compared with a bound of the unpruned problem: a min-cost
flow in which a household may be split across shelters and a family unit holds up to its
maximum household size in persons. Every real plan is a feasible flow of equal value, so the
flow optimum bounds the true optimum from above. Costs are integers: the per-person gain of a
household (its priority divided by its size) is scaled by the lcm of household sizes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from ortools.graph.python import min_cost_flow

from solvers.eligibility import BED_COLUMN


def flow_upper_bound(
    sizes: Sequence[int],
    priorities: Sequence[int],
    pairs: Sequence[Sequence[tuple[int, int]]],
    capacity: np.ndarray,
    family_max: np.ndarray,
) -> tuple[int, list[set[tuple[int, int]]]]:
    """Bound for households i (size, priority) that may use the (row, bed column) nodes in
    `pairs[i]`; `capacity[row, col]` beds or units, `family_max[row]` persons per unit.

    Also returns, per household, the pairs that carry flow in the optimal relaxation: adding
    them to a pruned model makes that model's own relaxation reach the same bound.
    """
    node_of: dict[tuple[int, int], int] = {}
    for ps in pairs:
        for p in ps:
            node_of.setdefault(p, len(node_of))
    n_h = len(sizes)
    source, sink = 0, 1
    h0, s0 = 2, 2 + n_h
    scale = 1
    for n in set(sizes):
        scale = math.lcm(scale, n)
    arc_pair: list[tuple[int, tuple[int, int]]] = []
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    total = int(sum(sizes))
    fam = BED_COLUMN["family_unit"]
    for i, (n, pr) in enumerate(zip(sizes, priorities, strict=True)):
        if not pairs[i]:
            continue
        tails.append(source)
        heads.append(h0 + i)
        caps.append(n)
        costs.append(-(pr * scale // n))
        for p in pairs[i]:
            arc_pair.append((len(tails), p))
            tails.append(h0 + i)
            heads.append(s0 + node_of[p])
            caps.append(n)
            costs.append(0)
    for (row, col), node in node_of.items():
        persons = int(capacity[row, col]) * (int(family_max[row]) if col == fam else 1)
        tails.append(s0 + node)
        heads.append(sink)
        caps.append(persons)
        costs.append(0)
    # Bypass arc: persons that are not placed flow straight to the sink at no gain.
    tails.append(source)
    heads.append(sink)
    caps.append(total)
    costs.append(0)
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.array(tails, np.int32), np.array(heads, np.int32),
        np.array(caps, np.int64), np.array(costs, np.int64),
    )
    smcf.set_node_supply(source, total)
    smcf.set_node_supply(sink, -total)
    status = smcf.solve()
    if status != smcf.OPTIMAL:
        raise RuntimeError(f"min-cost flow failed with status {status}")
    support: list[set[tuple[int, int]]] = [set() for _ in sizes]
    flows = smcf.flows(np.array([a for a, _ in arc_pair], np.int64)) if arc_pair else []
    for (arc, p), f in zip(arc_pair, flows, strict=True):
        if f > 0:
            support[tails[arc] - h0].add(p)
    # Floor is valid: the true objective is an integer no larger than the relaxation.
    return int((-smcf.optimal_cost()) // scale), support
