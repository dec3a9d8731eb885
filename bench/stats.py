"""Percentiles as every benchmark here prints them: the nearest-rank value, 0 for no values."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The `q` quantile (0..1) of `values` by nearest rank; 0.0 when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0
