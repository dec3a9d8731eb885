"""The probing rule on its own: places, shapes and the sliding-window verdict (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from logistics.probes.rules import (
    CaseGeometry,
    ProbeLimits,
    by_place,
    case_probes,
    cell,
    search_probes,
    verdict,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LIMITS = ProbeLimits(limit=3, window=timedelta(hours=1))


def test_points_around_one_place_share_a_cell_and_far_ones_do_not() -> None:
    assert cell(29.76, -95.37) == cell(29.71, -95.31) == "29.7,-95.4"
    assert cell(29.76, -95.37) != cell(29.86, -95.37)
    assert cell(-0.05, -0.05) == "-0.1,-0.1" and cell(0.05, 0.05) == "0.0,0.0"
    assert cell(29.7, -95.3) == "29.7,-95.3"  # a point on a cell edge belongs to its own cell


def test_a_repeated_request_draws_the_same_shape_and_a_new_radius_a_new_one() -> None:
    first, again = search_probes(29.76, -95.37, 20.0), search_probes(29.76, -95.37, 20.0)
    assert first == again
    nearby = search_probes(29.76, -95.37, 20.01)[0]
    assert nearby.place == first[0].place and nearby.shape != first[0].shape
    # Below a metre of radius or ~11 m of anchor nothing new is learnt: the same shape.
    assert search_probes(29.760001, -95.37, 20.0004) == first


def test_a_case_draws_its_reach_and_each_exclusion_circle() -> None:
    probes = case_probes(CaseGeometry(lat=29.76, lon=-95.37, city=None, state=None,
                                      max_travel_km=800,
                                      exclusions=((29.85, -95.43, 5.0), (30.27, -97.74, 2.0))))
    assert [p.place for p in probes] == ["29.7,-95.4", "29.8,-95.5", "30.2,-97.8"]
    assert [p.shape.split("|")[0] for p in probes] == ["travel", "exclusion", "exclusion"]
    by_city = case_probes(CaseGeometry(lat=None, lon=None, city=" Houston ", state="TX",
                                       max_travel_km=100))
    assert [p.place for p in by_city] == ["TX:houston"]


def test_by_place_keeps_distinct_shapes() -> None:
    probes = [*search_probes(29.76, -95.37, 5), *search_probes(29.76, -95.37, 5),
              *search_probes(29.76, -95.37, 6), *search_probes(40.7, -74.0, 5)]
    grouped = by_place(probes)
    assert {place: len(shapes) for place, shapes in grouped.items()} == {
        "29.7,-95.4": 2, "40.7,-74.0": 1}


def test_verdict_allows_up_to_the_limit_and_repeats_for_free() -> None:
    seen = {"a": NOW - timedelta(minutes=50), "b": NOW - timedelta(minutes=10)}
    assert verdict("p", seen=seen, requested={"c"}, limits=LIMITS, now=NOW).allowed
    assert verdict("p", seen=seen | {"c": NOW}, requested={"a"}, limits=LIMITS, now=NOW).allowed


def test_verdict_refuses_the_next_new_shape_until_the_oldest_leaves_the_window() -> None:
    seen = {"a": NOW - timedelta(minutes=50), "b": NOW - timedelta(minutes=10), "c": NOW}
    refused = verdict("p", seen=seen, requested={"d"}, limits=LIMITS, now=NOW)
    assert not refused.allowed and (refused.seen, refused.new) == (3, 1)
    assert refused.retry_after_s == 10 * 60  # "a" leaves the window in ten minutes
    two_new = verdict("p", seen=seen, requested={"d", "e"}, limits=LIMITS, now=NOW)
    assert two_new.retry_after_s == 50 * 60  # both "a" and "b" must leave


def test_a_request_larger_than_the_limit_waits_a_whole_window() -> None:
    found = verdict("p", seen={}, requested={"a", "b", "c", "d"}, limits=LIMITS, now=NOW)
    assert found.retry_after_s == 3600
