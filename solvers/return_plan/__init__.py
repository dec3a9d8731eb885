"""Joint return planning (issue 22): destination bed, itinerary and funding for many cases in
one lexicographic CP-SAT model, with an independent validator. See docs/return_plans.md."""

from solvers.return_plan.rules import REASON_TEXT, weight
from solvers.return_plan.solve import ReturnPlanInputError, greedy, solve, usable_keys
from solvers.return_plan.types import (
    BedPool,
    Chosen,
    ExclusionZone,
    NotHome,
    ObjectiveValue,
    PlanOptions,
    ReturnCase,
    ReturnInstance,
    ReturnOption,
    ReturnResult,
    SourceRule,
    TripOption,
)
from solvers.return_plan.validation import validate_plan

__all__ = [
    "REASON_TEXT",
    "BedPool",
    "Chosen",
    "ExclusionZone",
    "NotHome",
    "ObjectiveValue",
    "PlanOptions",
    "ReturnCase",
    "ReturnInstance",
    "ReturnOption",
    "ReturnPlanInputError",
    "ReturnResult",
    "SourceRule",
    "TripOption",
    "greedy",
    "solve",
    "usable_keys",
    "validate_plan",
    "weight",
]
