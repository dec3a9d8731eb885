"""Shelter matching: one household ranked now, or many placed at once, with reasons.

`rank_for_household` serves an advocate on a live call: a geographic and vectorised pre-filter
over every shelter, the hard rules of `solvers.eligibility`, then a score made of explicit parts
(travel time, language, trafficking specialisation, fresh counts). Every shelter left out is
counted under each rule it fails, so "none within 400 km takes men with children" is visible.
`solve_batch` (in `solvers.matching_batch`) places many households with CP-SAT and
`greedy_nearest_first` is the hand-placement baseline it must never do worse than. This module
also holds the candidate generation that both share.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from solvers.eligibility import (
    BED_COLUMN,
    REASONS,
    Ctx,
    ShelterArrays,
    bed_need_columns,
    language_match_all,
    rule_masks,
    specialisation_match_all,
)
from solvers.errors import InvalidShelterError, UnknownShelterError
from solvers.geo import bounding_box, haversine_m_many, travel_minutes_many
from solvers.matching_types import (
    BED_TYPES,
    Assignment,
    BatchOptions,
    BatchResult,
    Certificate,
    ExclusionPoint,
    Exclusions,
    Household,
    MatchWeights,
    Member,
    Objective,
    ShelterOption,
    Unplaced,
)

__all__ = [
    "Assignment",
    "BatchOptions",
    "BatchResult",
    "Candidates",
    "Certificate",
    "ExcludedCount",
    "ExclusionPoint",
    "Exclusions",
    "Household",
    "MatchWeights",
    "Member",
    "Objective",
    "RankResult",
    "RankedOption",
    "ShelterIndex",
    "ShelterOption",
    "Unplaced",
    "candidates",
    "greedy_nearest_first",
    "rank_for_household",
    "solve_batch",
]

IntArray = NDArray[np.int64]


class ShelterIndex:
    """Shelters sorted by id with their column view; build once, query many times."""

    def __init__(self, shelters: Sequence[ShelterOption]) -> None:
        ordered = sorted(shelters, key=lambda s: s.shelter_id)
        for a, b in itertools.pairwise(ordered):
            if a.shelter_id == b.shelter_id:
                raise InvalidShelterError("shelter_id", f"duplicate shelter id {a.shelter_id!r}")
        self.shelters: tuple[ShelterOption, ...] = tuple(ordered)
        self.arr = ShelterArrays.build(ordered)
        self.row = {s.shelter_id: i for i, s in enumerate(ordered)}

    def __len__(self) -> int:
        return len(self.shelters)

    def check_exclusion_ids(self, h: Household) -> None:
        for i, sid in enumerate(h.exclusions.shelter_ids):
            if sid not in self.row:
                raise UnknownShelterError(
                    f"exclusions.shelter_ids[{i}]", f"unknown shelter {sid!r} ({h.case_ref})"
                )


def as_index(shelters: ShelterIndex | Sequence[ShelterOption]) -> ShelterIndex:
    return shelters if isinstance(shelters, ShelterIndex) else ShelterIndex(shelters)


@dataclass(frozen=True)
class Candidates:
    """Feasible (shelter, bed type) pairs of one household, nearest first.

    Arrays are parallel; `shelter` holds rows of the ShelterIndex. `excluded` counts, per
    reason code, the shelters failing that rule (a shelter failing several counts under each).
    """

    shelter: IntArray
    bed_col: IntArray
    beds: IntArray
    distance_m: IntArray
    minutes: IntArray
    language: NDArray[np.bool_]
    specialisation: NDArray[np.bool_]
    fresh: NDArray[np.bool_]
    excluded: dict[str, int]

    def __len__(self) -> int:
        return len(self.shelter)

    def preference(self, w: MatchWeights) -> IntArray:
        pts = (
            w.language * self.language.astype(np.int64)
            + w.specialisation * self.specialisation.astype(np.int64)
            + w.fresh * self.fresh.astype(np.int64)
        )
        return pts.astype(np.int64)


def candidates(h: Household, index: ShelterIndex, weights: MatchWeights) -> Candidates:
    """Every eligible (shelter, bed type) pair with capacity now, plus rejection counts."""
    arr = index.arr
    reach_m = h.max_travel_km * 1000
    box = bounding_box(h.lat, h.lon, reach_m + 1)
    rows = np.flatnonzero(box.mask(arr.lat, arr.lon)).astype(np.int64)
    sub = arr.take(rows)
    dist = haversine_m_many(h.lat, h.lon, sub.lat, sub.lon)
    ctx = Ctx(sub, dist)
    ok = np.ones(len(rows), dtype=np.bool_)
    excluded: dict[str, int] = {}
    for code, mask in rule_masks(h, ctx):
        fails = int(len(rows) - np.count_nonzero(mask))
        if code == "beyond_max_travel":
            fails += len(arr) - len(rows)
        if fails:
            excluded[code] = fails
        ok &= mask
    good = np.flatnonzero(ok)
    parts: list[tuple[IntArray, IntArray, IntArray]] = []
    for bed_type, need in bed_need_columns(h, sub):
        col = BED_COLUMN[bed_type]
        fit = sub.capacity[good, col] >= need[good]
        parts.append((good[fit], np.full(int(fit.sum()), col, np.int64), need[good][fit]))
    local = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
    bed_col = np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.int64)
    beds = np.concatenate([p[2] for p in parts]) if parts else np.zeros(0, np.int64)
    d = np.rint(dist[local]).astype(np.int64)
    # Nearest first; ties by shelter id (rows are id-sorted), then bed-type preference order.
    order = np.lexsort((np.arange(len(local)), rows[local], d))
    local, bed_col, beds, d = local[order], bed_col[order], beds[order], d[order]
    return Candidates(
        shelter=rows[local],
        bed_col=bed_col,
        beds=beds,
        distance_m=d,
        minutes=travel_minutes_many(d),
        language=language_match_all(h, sub)[local],
        specialisation=specialisation_match_all(h, sub)[local],
        fresh=sub.count_age[local] <= weights.fresh_max_age_minutes,
        excluded=excluded,
    )


@dataclass(frozen=True)
class RankedOption:
    shelter_id: str
    bed_type: str
    beds: int
    distance_m: int
    travel_minutes: int
    count_age_minutes: int
    fresh: bool
    language_match: bool
    specialisation_match: bool
    confidential: bool
    score: int
    score_parts: tuple[tuple[str, int], ...]

    @property
    def distance_km(self) -> float:
        return round(self.distance_m / 1000, 1)


@dataclass(frozen=True)
class ExcludedCount:
    code: str
    count: int
    sentence: str


@dataclass(frozen=True)
class RankResult:
    case_ref: str
    options: tuple[RankedOption, ...]
    eligible_shelters: int
    excluded: tuple[ExcludedCount, ...]
    shelters_considered: int


def _excluded_counts(counts: dict[str, int]) -> tuple[ExcludedCount, ...]:
    return tuple(
        ExcludedCount(code, n, REASONS[code])
        for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )


def rank_for_household(
    household: Household,
    shelters: ShelterIndex | Sequence[ShelterOption],
    weights: MatchWeights | None = None,
    limit: int = 10,
    strict_exclusion_ids: bool = True,
) -> RankResult:
    """Best `limit` shelters for one household, one option per shelter, with score parts.

    Score (in minutes of travel it is worth) = -travel minutes + language bonus +
    specialisation bonus + fresh-count bonus. At each shelter the most specific fitting bed
    type is offered (e.g. adult_female before adult_any).
    """
    w = weights or MatchWeights()
    index = as_index(shelters)
    if strict_exclusion_ids:
        index.check_exclusion_ids(household)
    c = candidates(household, index, w)
    # Candidates are nearest-first with bed preference as tiebreak, so the first row per
    # shelter is its preferred bed type.
    _, first = np.unique(c.shelter, return_index=True)
    first = np.sort(first)
    lang = c.language[first].astype(np.int64) * w.rank_language_minutes
    spec = c.specialisation[first].astype(np.int64) * w.rank_specialisation_minutes
    fresh = c.fresh[first].astype(np.int64) * w.rank_fresh_minutes
    score = lang + spec + fresh - c.minutes[first]
    order = np.lexsort((c.shelter[first], c.distance_m[first], -score))[: max(limit, 0)]
    options = []
    for k in order.tolist():
        i = int(first[k])
        s = index.shelters[int(c.shelter[i])]
        options.append(
            RankedOption(
                shelter_id=s.shelter_id,
                bed_type=BED_TYPES[int(c.bed_col[i])],
                beds=int(c.beds[i]),
                distance_m=int(c.distance_m[i]),
                travel_minutes=int(c.minutes[i]),
                count_age_minutes=s.count_age_minutes,
                fresh=bool(c.fresh[i]),
                language_match=bool(c.language[i]),
                specialisation_match=bool(c.specialisation[i]),
                confidential=s.confidential,
                score=int(score[k]),
                score_parts=(
                    ("travel", -int(c.minutes[i])),
                    ("language", int(lang[k])),
                    ("specialisation", int(spec[k])),
                    ("fresh", int(fresh[k])),
                ),
            )
        )
    return RankResult(
        case_ref=household.case_ref,
        options=tuple(options),
        eligible_shelters=len(first),
        excluded=_excluded_counts(c.excluded),
        shelters_considered=len(index),
    )


# ---- shared by greedy and batch --------------------------------------------------------


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


from solvers.matching_batch import solve_batch  # noqa: E402
