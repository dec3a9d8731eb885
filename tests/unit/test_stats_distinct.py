"""A multi-state tip counts in each state of a by-state table and once in every total."""

from __future__ import annotations

from collections import Counter
from datetime import date

from network.stats import counts as service
from network.stats.models import Dimension, Measure

MONTH = date(2026, 1, 1)


def _build(counts: Counter[service.Key], *dims: Dimension) -> service.StatsPublic:
    return service.build({Measure.TIPS: counts}, list(dims), MONTH, MONTH)


def test_a_small_distinct_total_is_hidden_even_when_the_touches_are_not_small() -> None:
    # Two tips, one in two states: AZ 2 and CA 1 hide each other and their sum 3 is safe to
    # publish, but the total is two tips, a small count.
    stats = _build(Counter({("2026-01", "AZ+CA", "sex", "hotel"): 1,
                            ("2026-01", "AZ", "sex", "hotel"): 1}), Dimension.STATE)
    table = stats.measures[Measure.TIPS]
    assert stats.rows == ["AZ", "CA"] and table.cells == [["<3"]] * 2
    assert table.total == "<3"
    assert stats.counted_in_each_state == [Measure.CONTACTS, Measure.TIPS, Measure.TIPS_ROUTED]


def test_tables_without_state_count_each_tip_once() -> None:
    counts = Counter({("2026-01", "OK+TX", "sex", "hotel"): 4,
                      ("2026-01", "TX", "labor", "hotel"): 5})
    stats = _build(counts, Dimension.TRAFFICKING_TYPE, Dimension.VENUE)
    table = stats.measures[Measure.TIPS]
    assert table.cells == [[5], [4]] and table.total == 9
    assert stats.counted_in_each_state == []
    by_state = _build(counts, Dimension.TRAFFICKING_TYPE, Dimension.STATE)
    tips = by_state.measures[Measure.TIPS]
    assert by_state.columns == [["OK"], ["TX"]]
    assert tips.cells == [[0, 5], [4, 4]]
    assert tips.row_totals == [5, 4] and tips.column_totals == [4, 9] and tips.total == 9
