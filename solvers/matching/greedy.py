"""Turning chosen candidates into a result value, and the hand-placement baseline.

`build_result` is shared by the greedy baseline and the CP-SAT batch (`solvers.matching.batch`);
`greedy_nearest_first` places households as a coordinator would by hand, and the batch solve
must never do worse than it.
"""

from __future__ import annotations

from collections.abc import Sequence

from solvers.matching.candidates import Candidates, ShelterIndex, as_index, candidates
from solvers.matching.types import (
    BED_TYPES,
    Assignment,
    BatchResult,
    Certificate,
    Household,
    MatchWeights,
    Objective,
    ShelterOption,
    Unplaced,
)


def unplaced_reasons(c: Candidates) -> tuple[str, ...]:
    if len(c) == 0:
        ranked = sorted(c.excluded.items(), key=lambda kv: (-kv[1], kv[0]))
        return ("no_eligible_shelter", *(code for code, _ in ranked))
    return ("capacity_used_by_higher_priority",)


def priority_order(hs: Sequence[Household], weights: MatchWeights) -> list[int]:
    """Greedy order: households with minors first, then urgency, then priority per person."""
    return sorted(
        range(len(hs)),
        key=lambda i: (
            not hs[i].has_minor,
            -hs[i].urgency,
            -weights.person_priority(hs[i]),
            hs[i].case_ref,
        ),
    )


def build_result(
    hs: Sequence[Household],
    cands: Sequence[Candidates],
    index: ShelterIndex,
    chosen: dict[int, int],
    weights: MatchWeights,
    status: str,
    bound: int,
    certificate: Certificate | None = None,
    level_status: tuple[str, ...] = (),
) -> BatchResult:
    """Turn {household position: candidate row} into a result value with its objective."""
    assignments, unplaced = [], []
    wp = travel = pref = persons = 0
    for i, h in enumerate(hs):
        c = cands[i]
        k = chosen.get(i)
        if k is None:
            unplaced.append(Unplaced(h.case_ref, unplaced_reasons(c)))
            continue
        assignments.append(
            Assignment(
                case_ref=h.case_ref,
                shelter_id=index.shelters[int(c.shelter[k])].shelter_id,
                bed_type=BED_TYPES[int(c.bed_col[k])],
                beds=int(c.beds[k]),
                distance_m=int(c.distance_m[k]),
                travel_minutes=int(c.minutes[k]),
            )
        )
        wp += weights.person_priority(h)
        travel += int(c.distance_m[k])
        pref += int(c.preference(weights)[k])
        persons += h.size
    obj = Objective(wp, travel, pref, persons, len(assignments))
    gap = 0.0 if bound <= 0 else max(0.0, (bound - wp) / bound)
    return BatchResult(
        status, tuple(assignments), tuple(unplaced), obj, bound, gap, certificate, level_status
    )


def greedy_assign(
    hs: Sequence[Household],
    cands: Sequence[Candidates],
    index: ShelterIndex,
    weights: MatchWeights,
) -> dict[int, int]:
    """Nearest-first: in priority order, each household takes its nearest pair that still fits."""
    left = index.arr.capacity.copy()
    chosen: dict[int, int] = {}
    for i in priority_order(hs, weights):
        c = cands[i]
        for k in range(len(c)):
            row, col, need = int(c.shelter[k]), int(c.bed_col[k]), int(c.beds[k])
            if left[row, col] >= need:
                left[row, col] -= need
                chosen[i] = k
                break
    return chosen


def greedy_nearest_first(
    households: Sequence[Household],
    shelters: ShelterIndex | Sequence[ShelterOption],
    weights: MatchWeights | None = None,
) -> BatchResult:
    """Baseline: hand placement as a coordinator would do it (see `greedy_assign`).

    Status is "feasible"; `bound` is the trivial bound (everyone placed).
    """
    w = weights or MatchWeights()
    index = as_index(shelters)
    hs = sorted(households, key=lambda h: h.case_ref)
    cands = [candidates(h, index, w) for h in hs]
    chosen = greedy_assign(hs, cands, index, w)
    trivial = sum(w.person_priority(h) for h in hs)
    return build_result(hs, cands, index, chosen, w, "feasible", trivial)
