"""Chart axes: ticks are equally spaced whole numbers from 0 that just cover the largest count."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from network.stats import charts
from network.stats.models import Dimension, Measure, MeasureTable, StatsPublic


@given(top=st.integers(min_value=0, max_value=10**9), most=st.integers(min_value=2,
                                                                        max_value=12))
def test_ticks_are_equally_spaced_integers_covering_the_top(top: int, most: int) -> None:
    ticks = charts.integer_ticks(top, most)
    assert ticks[0] == 0 and 2 <= len(ticks) <= most
    assert all(isinstance(t, int) for t in ticks)
    step = ticks[1]
    assert all(b - a == step for a, b in itertools.pairwise(ticks))
    assert ticks[-1] >= max(top, 1) > ticks[-2]  # covers the top, with no tick to spare
    power = 10 ** (len(str(step)) - 1)
    assert step in (power, 2 * power, 5 * power)


@given(top=st.integers(min_value=1, max_value=10**6))
def test_no_smaller_nice_step_would_do(top: int) -> None:
    ticks = charts.integer_ticks(top)
    nice = sorted(f * 10**k for k in range(8) for f in (1, 2, 5))
    smaller = [s for s in nice if s < ticks[1]]
    assert all(-(-top // s) + 1 > 6 for s in smaller)


def test_the_case_in_issue_18_reads_0_to_5_in_ones() -> None:
    assert charts.integer_ticks(5) == [0, 1, 2, 3, 4, 5]
    assert charts.integer_ticks(7) == [0, 2, 4, 6, 8]
    with pytest.raises(ValueError):
        charts.integer_ticks(5, most=1)


def test_the_trend_chart_labels_its_axis_with_the_ticks() -> None:
    table = MeasureTable(cells=[[5], [3]], row_totals=None, column_totals=None, total=8)
    stats = StatsPublic(group_by=[Dimension.MONTH], date_from="2026-01-01",
                        date_to="2026-02-28", rows=["2026-01", "2026-02"], columns=None,
                        measures={Measure.CASES: table}, notes=[])
    svg = charts.to_svg(charts.monthly_trends(stats, [Measure.CASES]))
    labels = [f'text-anchor="end" fill="#222222">{t}</text>' for t in range(6)]
    assert all(label in svg for label in labels)
