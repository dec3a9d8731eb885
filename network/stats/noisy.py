"""Differentially private state x type tables for a month, through OpenDP (issue 18, item 4).

Suppression hides most cells of a month's state x type table in the smaller states. For the
measures where each record is one cell (`cases`: one case; `unmet_need`: one recorded need),
a month can also be published with noise: every cell of a fixed grid (every US state, DC and
"unknown", by every trafficking type and "unknown", the same whatever the data) gets discrete
Laplace noise from OpenDP's `make_laplace` on the vector of counts, whose L1 sensitivity is 1
(one record moves one cell by one), so the table is epsilon-differentially private for one
record. The measures hold disjoint records, so the tables together spend epsilon once
(parallel composition). Negative noisy counts become 0, then every margin and the total are
sums of the noisy cells (post-processing, free): the table always adds up. A quarter or a
year sums its months' noisy tables (post-processing again); every record is in one month, so
it spends the most any one of its months spent. The budget per month is enforced by the
service (`StatsNoisy` rows record what each publication spent).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache

from core.gazetteer import us_cities
from network.stats.models import UNKNOWN, Measure, NoisyTable

NOISY_MEASURES = (Measure.CASES, Measure.UNMET_NEED)
TYPES = ("both", "labor", "sex", UNKNOWN)
MECHANISM = "discrete Laplace (OpenDP make_laplace), L1 sensitivity 1 per record"
LABEL = ("NOISY: differentially private figures with random noise added; they are not "
         "exact counts and may differ from the suppressed tables")


@cache
def states() -> tuple[str, ...]:
    """Every state of the gazetteer, then "unknown": fixed, never read from the data."""
    return (*sorted({city.state for city in us_cities()}), UNKNOWN)


def scale_for(epsilon: float) -> float:
    """Noise scale for epsilon-DP at sensitivity 1."""
    return 1.0 / epsilon


def laplace(values: Sequence[int], epsilon: float) -> list[int]:
    """Noisy integers: OpenDP's discrete Laplace over the whole vector (sensitivity 1)."""
    import opendp.prelude as dp  # loaded only when a noisy table is published

    dp.enable_features("contrib")
    measurement = dp.m.make_laplace(dp.vector_domain(dp.atom_domain(T=int)),
                                    dp.l1_distance(T=int), scale=scale_for(epsilon))
    spent = float(measurement.map(1))  # type: ignore[no-untyped-call]
    if spent > epsilon * (1 + 1e-9):  # OpenDP's own accounting must agree with ours
        raise ValueError(f"the mechanism spends {spent}, more than {epsilon}")
    return [int(v) for v in measurement(list(values))]


def table(grid: Mapping[tuple[str, str], int], epsilon: float) -> NoisyTable:
    """One month's noisy table from its (state, type) counts; keys off the grid go to unknown."""
    rows, cols = states(), TYPES
    keyed: dict[tuple[str, str], int] = {}
    for (state, kind), value in grid.items():
        key = (state if state in rows else UNKNOWN, kind if kind in cols else UNKNOWN)
        keyed[key] = keyed.get(key, 0) + value
    flat = [keyed.get((s, t), 0) for s in rows for t in cols]
    noisy = [max(0, v) for v in laplace(flat, epsilon)]
    cells = [noisy[i * len(cols):(i + 1) * len(cols)] for i in range(len(rows))]
    total = sum(noisy)
    return NoisyTable(cells=cells, by_state=[sum(r) for r in cells],
                      by_type=[sum(r[j] for r in cells) for j in range(len(cols))],
                      by_month=[total], total=total)


def combine(parts: Sequence[NoisyTable]) -> NoisyTable:
    """A longer period's noisy table: the sum of its months' (same fixed grid)."""
    rows, cols = len(states()), len(TYPES)
    cells = [[sum(p.cells[i][j] for p in parts) for j in range(cols)] for i in range(rows)]
    return NoisyTable(cells=cells, by_state=[sum(r) for r in cells],
                      by_type=[sum(r[j] for r in cells) for j in range(cols)],
                      by_month=[p.total for p in parts], total=sum(p.total for p in parts))
