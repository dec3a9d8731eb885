"""Candidate generation shared by ranking and batch placement: the shelters as an index, and
each household's eligible (shelter, bed type) pairs with capacity, nearest first.

A geographic box and the vectorised rules of `solvers.matching.eligibility` cut every shelter to
the pairs a household may take; each shelter left out is counted under each rule it fails, so
the reasons travel with the result.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from solvers.errors import InvalidShelterError, UnknownShelterError
from solvers.geo import bounding_box, haversine_m_many, travel_minutes_many
from solvers.matching.eligibility import (
    BED_COLUMN,
    Ctx,
    ShelterArrays,
    bed_need_columns,
    language_match_all,
    rule_masks,
    specialisation_match_all,
)
from solvers.matching.types import (
    Household,
    MatchWeights,
    ShelterOption,
)

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
