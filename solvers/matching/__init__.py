"""Shelter matching: one household ranked now, or many placed at once, with reasons.

`rank_for_household` serves an advocate on a live call: a geographic and vectorised pre-filter
over every shelter, the hard rules of `solvers.matching.eligibility`, then a score made of explicit
parts
(travel time, language, trafficking specialisation, fresh counts). Every shelter left out is
counted under each rule it fails, so "none within 400 km takes men with children" is visible.
`solve_batch` (in `solvers.matching.batch`) places many households with CP-SAT and
`greedy_nearest_first` is the hand-placement baseline it must never do worse than. This
package's public names are re-exported here; its modules:
- `types`: the frozen input and result values; `errors` live in `solvers.errors`;
- `eligibility`, `eligibility_common`, `eligibility_vec`: the hard rules, scalar and vectorised;
- `candidates`: the shelter index and each household's feasible pairs (shared by both uses);
- `rank`: one household ranked; `greedy`: results and the baseline; `batch`, `bound`: CP-SAT
  placement and its flow relaxation bound; `validation`: the independent checker.
"""

from solvers.matching.batch import solve_batch
from solvers.matching.candidates import Candidates, ShelterIndex, candidates
from solvers.matching.greedy import greedy_nearest_first
from solvers.matching.rank import ExcludedCount, RankedOption, RankResult, rank_for_household
from solvers.matching.types import (
    Assignment,
    BatchOptions,
    BatchResult,
    Certificate,
    ExclusionCircle,
    ExclusionZones,
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
    "ExclusionCircle",
    "ExclusionZones",
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
