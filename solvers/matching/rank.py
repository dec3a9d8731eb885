"""One household on a live call: eligible shelters ranked by a score of explicit parts.

The score is travel time less credits for language, trafficking specialisation and fresh counts,
each in minutes (`MatchWeights`), so an advocate can read why one shelter is above another.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from solvers.matching.candidates import ShelterIndex, as_index, candidates
from solvers.matching.eligibility import (
    REASONS,
)
from solvers.matching.types import (
    BED_TYPES,
    Household,
    MatchWeights,
    ShelterOption,
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
