"""Bad-input errors raised by the solvers package, all under `SolverInputError`.

Outcomes such as "no shelter fits" are result values, never exceptions; these classes exist
only for input that is malformed (a household without members, an age outside 0-120, an
exclusion naming an unknown shelter, a time limit above the cap). Each error names the field
at fault so the HTTP layer can turn it into a 422 without parsing messages.

    SolverInputError
    ├── InvalidHouseholdError, InvalidShelterError, UnknownShelterError, InvalidOptionsError
    │   (matching)
    ├── TransitInputError (transit)
    ├── AllocationInputError (travel budget allocation)
    └── ChildInputError (any of these, found in a solver child, raised in its parent)
"""

from __future__ import annotations


class SolverInputError(ValueError):
    """Base class: `field` is a dotted path to the offending input (e.g. `members[0].age`)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidHouseholdError(SolverInputError):
    """A household (case) field is missing, out of range or of an unknown kind."""


class InvalidShelterError(SolverInputError):
    """A shelter option field is out of range or names an unknown bed type or population."""


class UnknownShelterError(SolverInputError):
    """A household's exclusions name a shelter id that is not among the shelters given."""


class InvalidOptionsError(SolverInputError):
    """Solver options (time limit, workers, K, weights) are out of range."""


class AllocationInputError(SolverInputError):
    """Travel-budget allocation input (candidates, funding sources, options) is malformed."""


class TransitInputError(SolverInputError):
    """Bad input to the transit engine (network, query, rules)."""


class ChildInputError(SolverInputError):
    """Bad input found by a solver running in a child process, raised again in the parent with
    the same field (`logistics.matching.solver_pool`)."""
