"""The solver's child process: `python -m solvers.worker` runs one job in isolation and exits.

`logistics.matching.solver_pool` starts it for each batch solve. It imports only this package (so
numpy and OR-Tools) and the standard library, never the application: started through the
`homeward` console script, as `multiprocessing` children are, it re-imported the whole app
(seconds on a busy machine) for a solve of tens of milliseconds. The exchange, over its
stdin and stdout pipes:
1. once its imports are done it writes one READY byte, so the parent can start the job's
   wall-time clock when the job starts, not while an interpreter starts under load;
2. it reads one line, the memory cap in MB, and caps its own address space (RLIMIT_AS)
   before it touches the input;
3. it reads a pickle of `(fn, args)`, runs `fn(*args)` and writes a pickle of
   `("ok", value)` or `("fail", Failure)`, then exits.
Its stdout carries that message alone: whatever else writes to file descriptor 1 (a native
library's log) is sent to stderr. A parent that dies closes the pipes, so a waiting child reads
end-of-file and exits; a solving one ends at its solver time limit.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from dataclasses import dataclass, fields
from typing import Any

from solvers.errors import SolverInputError
from solvers.matching import (
    BatchOptions,
    BatchResult,
    Household,
    MatchWeights,
    ShelterOption,
    solve_batch,
)
from solvers.matching.types import Member

READY = b"R"
_MB = 1024 * 1024


@dataclass(frozen=True)
class Failure:
    kind: str  # "memory", "input", "error"
    field: str = ""
    message: str = ""


def plain_shelter(shelter: ShelterOption) -> dict[str, Any]:
    """A shelter as plain values: its capacity is a read-only mapping proxy, which cannot be
    pickled."""
    values = {f.name: getattr(shelter, f.name) for f in fields(shelter)}
    values["available"] = dict(shelter.available)
    return values


def solve_plain(households: tuple[Household, ...], shelters: tuple[dict[str, Any], ...],
                weights: MatchWeights, options: BatchOptions) -> BatchResult:
    """`solve_batch` over shelters given by `plain_shelter`: the job of a batch solve."""
    return solve_batch(households, [ShelterOption(**s) for s in shelters], weights, options)


def cap_memory(memory_mb: int) -> None:
    if memory_mb > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory_mb * _MB
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))


def _result(source: Any) -> bytes:
    """Read the job from `source`, run it, and return the pickled message for the parent."""
    message: Any
    try:
        fn, args = pickle.load(source)  # noqa: S301 - written by our own parent process
        message = ("ok", fn(*args))
    except MemoryError:
        message = ("fail", Failure("memory"))
    except SolverInputError as exc:
        message = ("fail", Failure("input", exc.field, exc.message))
    except Exception as exc:  # noqa: BLE001 - any solver bug must reach the parent as a value
        message = ("fail", Failure("error", message=type(exc).__name__))
    try:
        return pickle.dumps(message)
    except MemoryError:
        return pickle.dumps(("fail", Failure("memory")))
    except Exception as exc:  # noqa: BLE001 - e.g. a value that cannot be pickled
        return pickle.dumps(("fail", Failure("error", message=type(exc).__name__)))


def warm_up() -> None:
    """Solve a one-household batch, so that the first real job does not pay CP-SAT's and the
    flow bound's first-call costs (~0.2 s: the solve itself then takes 10-20 ms)."""
    household = Household(case_ref="warm", members=(Member(30, "female"),), lat=0.0, lon=0.0)
    shelter = ShelterOption(shelter_id="warm", lat=0.0, lon=0.01,
                            populations=frozenset({"adult_women"}),
                            available={"adult_female": 1})
    solve_batch([household], [shelter], MatchWeights(),
                BatchOptions(max_time_in_seconds=1.0, num_workers=1, random_seed=0))


def main() -> None:
    # CP-SAT is imported lazily by the solver modules (the API process imports them too, and
    # never solves); here it is imported and exercised before READY, so the job does not
    # wait for either.
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)  # stray writes to stdout must not corrupt the message
    warm_up()
    out.write(READY)
    source = sys.stdin.buffer
    header = source.readline()
    if not header:
        return  # the parent went away before giving a job
    cap_memory(int(header))
    out.write(_result(source))
    out.close()


if __name__ == "__main__":
    # Run the imported module's main, not this `__main__` copy's, so that a Failure pickles as
    # `solvers.worker.Failure`, which the parent can find.
    from solvers import worker
    worker.main()
