"""The solver's child process: `python -m solvers.worker MEMORY_MB` runs jobs in isolation.

`logistics.matching.solver_pool` starts it for batch solves and hands it one job at a time, as
many as it likes. It imports only this package (so numpy and OR-Tools) and the standard
library, never the application: started through the `homeward` console script, as
`multiprocessing` children are, it re-imported the whole app (seconds on a busy machine) for a
solve of tens of milliseconds. Every message over its stdin and stdout pipes is a frame: an
8-byte big-endian length, then that many bytes. The exchange:
1. at start it imports and warms up CP-SAT, then caps its own address space (RLIMIT_AS) at the
   MEMORY_MB given on its command line, once, before it reads any input, and writes a READY
   frame, so the parent can start a job's wall-time clock when the job starts, not while an
   interpreter starts under load;
2. then, for each job: it reads a frame holding a pickle of `(fn, args)`, runs `fn(*args)` and
   writes a frame holding a pickle of `("ok", value)` or `("fail", Failure)`;
3. it exits at end-of-file on stdin (the parent is done with it, or died: a dead parent's
   pipes close), and after a failure other than bad input (an exhausted memory cap or a
   solver bug may leave it in a state no later job should inherit).
Its stdout carries frames alone: whatever else writes to file descriptor 1 (a native library's
log) is sent to stderr. A solving child whose parent died ends at its solver time limit, fails
to write its answer and exits.
"""

from __future__ import annotations

import os
import pickle
import resource
import struct
import sys
from dataclasses import dataclass, fields
from typing import IO, Any

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

READY = b"READY"
HEADER = struct.Struct(">Q")  # a frame's length
_MB = 1024 * 1024


@dataclass(frozen=True)
class Failure:
    kind: str  # "memory", "input", "error"
    field: str = ""
    message: str = ""


def frame(payload: bytes) -> bytes:
    """`payload` framed for the pipe: its length, then itself."""
    return HEADER.pack(len(payload)) + payload


def read_frame(source: IO[bytes]) -> bytes | None:
    """The next frame's payload from a blocking stream; None at end-of-file (also mid-frame:
    a writer that died half-way sent nothing usable)."""
    header = source.read(HEADER.size)
    if header is None or len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    payload = source.read(size)
    if payload is None or len(payload) < size:
        return None
    return payload


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


def _result(job: bytes) -> tuple[bytes, bool]:
    """Run the pickled job; the pickled message for the parent, and whether this child may
    take another job after it."""
    message: Any
    reusable = False
    try:
        fn, args = pickle.loads(job)  # noqa: S301 - written by our own parent process
        message, reusable = ("ok", fn(*args)), True
    except MemoryError:
        message = ("fail", Failure("memory"))
    except SolverInputError as exc:
        message, reusable = ("fail", Failure("input", exc.field, exc.message)), True
    except Exception as exc:  # noqa: BLE001 - any solver bug must reach the parent as a value
        message = ("fail", Failure("error", message=type(exc).__name__))
    try:
        return pickle.dumps(message), reusable
    except MemoryError:
        return pickle.dumps(("fail", Failure("memory"))), False
    except Exception as exc:  # noqa: BLE001 - e.g. a value that cannot be pickled
        return pickle.dumps(("fail", Failure("error", message=type(exc).__name__))), False


def warm_up() -> None:
    """Solve a one-household batch, so that the first real job does not pay CP-SAT's and the
    flow bound's first-call costs (~0.2 s: the solve itself then takes 10-20 ms)."""
    household = Household(case_ref="warm", members=(Member(30, "female"),), lat=0.0, lon=0.0)
    shelter = ShelterOption(shelter_id="warm", lat=0.0, lon=0.01,
                            populations=frozenset({"adult_women"}),
                            available={"adult_female": 1})
    solve_batch([household], [shelter], MatchWeights(),
                BatchOptions(max_time_in_seconds=1.0, num_workers=1, random_seed=0))


def serve(source: IO[bytes], out: IO[bytes]) -> None:
    """Answer jobs read from `source` on `out` until end-of-file or a failure that ends us."""
    while True:
        try:
            job = read_frame(source)
        except MemoryError:  # the job alone is over the cap
            message, reusable = pickle.dumps(("fail", Failure("memory"))), False
        else:
            if job is None:
                return
            message, reusable = _result(job)
        try:
            out.write(frame(message))
            out.flush()
        except BrokenPipeError:
            return  # the parent is gone
        if not reusable:
            return


def main() -> None:
    # The cap is fixed for the child's life: the parent hands it only jobs under that cap.
    memory_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray writes to stdout must not corrupt the frames
    # CP-SAT is imported lazily by the solver modules (the API process imports them too, and
    # never solves); here it is imported and exercised before READY, so no job waits for
    # either. The cap follows the warm-up: OR-Tools, imported and warmed up, maps ~250 MB of
    # address space, which is the same for every job; the cap bounds what a job adds to it.
    warm_up()
    cap_memory(memory_mb)
    try:
        out.write(frame(READY))
        out.flush()
        serve(sys.stdin.buffer, out)
        out.close()
    except BrokenPipeError:
        pass  # the parent died while this child started or answered


if __name__ == "__main__":
    # Run the imported module's main, not this `__main__` copy's, so that a Failure pickles as
    # `solvers.worker.Failure`, which the parent can find.
    from solvers import worker
    worker.main()
