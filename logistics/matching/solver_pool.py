"""Batch solves in a separate worker process, with a wall-time limit and a memory cap.

A CP-SAT solve over hundreds of households can run long or, on a bad input or a native bug,
crash; neither may take the API down. Each solve therefore runs in its own child process,
`python -m solvers.worker`, which imports only the solver package (numpy, OR-Tools), never the
application, and caps its own address space with `RLIMIT_AS` before it touches the input (see
its docstring for the exchange over its pipes). One child is kept started and imported ahead of
need, so a solve does not wait for an interpreter to import OR-Tools; it serves one solve and
exits, and the next is started as it takes its job. The parent waits at most the wall-time
limit, counted from when the child has the job: a crash, a kill, an exhausted memory cap or an
overrun all become `SolverUnavailable` (HTTP 503 with Retry-After), and the next solve gets a
fresh child. Bad input found inside the child comes back as the solver's own field-naming
error. A small per-process semaphore bounds concurrent solves so a burst of batch requests
cannot start more CP-SAT children than the cores can serve; it holds no domain state.

Children are started with `subprocess`, not `multiprocessing`: a `multiprocessing` child
re-runs the parent's main script first, and in `homeward serve` that is the console script.
"""

from __future__ import annotations

import atexit
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, ClassVar, TypeVar

from core.errors import ErrorKind
from logistics.errors import LogisticsError
from solvers.errors import SolverInputError
from solvers.matching import BatchOptions, BatchResult, Household, MatchWeights, ShelterOption
from solvers.worker import READY, Failure, plain_shelter, solve_plain

log = logging.getLogger("homeward.solver_pool")

R = TypeVar("R")
_CHILD = [sys.executable, "-m", "solvers.worker"]
# A child that has not imported OR-Tools by then is stuck, not slow; the job's own clock
# starts only once it is ready.
_START_CAP_S = 120.0


class SolverUnavailable(LogisticsError):
    kind: ClassVar[ErrorKind] = "unavailable"
    code = "solver-unavailable"
    title = "The solver is unavailable"


@dataclass(frozen=True)
class PoolLimits:
    """Limits of one solve: wall time of the whole child, its address space, concurrency."""

    wall_time_s: float
    memory_mb: int
    max_concurrent: int = 2
    queue_wait_s: float = 2.0


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _slots(limits: PoolLimits) -> threading.BoundedSemaphore:
    with _lock:
        sem = _state.get("slots")
        if sem is None or _state.get("slots_n") != limits.max_concurrent:
            sem = threading.BoundedSemaphore(limits.max_concurrent)
            _state["slots"], _state["slots_n"] = sem, limits.max_concurrent
        assert isinstance(sem, threading.BoundedSemaphore)
        return sem


def run_in_worker(fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
    """Run `fn(*args)` in a fresh child process under `limits`; its value or a domain error.

    `fn` and `args` must be picklable (a module-level function and plain values), and `fn`
    importable in a child that has only the standard library and `solvers`.
    """
    sem = _slots(limits)
    if not sem.acquire(timeout=limits.queue_wait_s):
        raise SolverUnavailable("every solver slot is busy; retry shortly")
    try:
        return _run(fn, args, limits)
    finally:
        sem.release()


def _launch() -> subprocess.Popen[bytes]:
    return subprocess.Popen(_CHILD, stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # noqa: S603
                            bufsize=0)  # fixed argv: this interpreter and our module


def _take() -> subprocess.Popen[bytes]:
    """The child started ahead of need if it is still alive, else a new one."""
    with _lock:
        child: subprocess.Popen[bytes] | None = _state.pop("spare", None)
    if child is not None and child.poll() is None:
        return child
    if child is not None:
        _close(child)
    return _launch()


def _start_spare() -> None:
    with _lock:
        if "spare" not in _state:
            try:
                _state["spare"] = _launch()
            except OSError:
                log.warning("no spare solver worker could be started")


@atexit.register
def _drop_spare() -> None:
    """Stop the idle child on exit (it would exit at end-of-file anyway; this says so)."""
    with _lock:
        child: subprocess.Popen[bytes] | None = _state.pop("spare", None)
    if child is not None:
        _close(child)


def _close(child: subprocess.Popen[bytes]) -> None:
    if child.poll() is None:
        child.kill()
    child.wait()
    for pipe in (child.stdin, child.stdout):
        if pipe is not None:
            pipe.close()


def _read(child: subprocess.Popen[bytes], limit: int, timeout_s: float) -> bytes | None:
    """Up to `limit` bytes from the child's stdout, all until end-of-file if `limit` is 0;
    None if `timeout_s` passed first."""
    assert child.stdout is not None
    fd = child.stdout.fileno()
    deadline = time.monotonic() + timeout_s
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not wait([fd], timeout=remaining):
            return None
        chunk = os.read(fd, limit or 1 << 16)
        chunks.append(chunk)
        if not chunk or limit:
            return b"".join(chunks)


def _run(fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
    try:
        child = _take()
    except OSError as exc:
        raise SolverUnavailable("the solver worker could not start; retry shortly") from exc
    _start_spare()  # the next solve's child imports while this one solves
    try:
        if _read(child, 1, _START_CAP_S) != READY:
            log.warning("solver worker did not start", extra={"exitcode": child.poll()})
            raise SolverUnavailable("the solver worker could not start; retry shortly")
        assert child.stdin is not None
        try:
            child.stdin.write(f"{limits.memory_mb}\n".encode() + pickle.dumps((fn, args)))
            child.stdin.close()
        except BrokenPipeError:
            pass  # it died: its stdout is at end-of-file, reported below
        answer = _read(child, 0, limits.wall_time_s)
        if answer is None:
            log.warning("solver overran", extra={"limit_s": limits.wall_time_s})
            raise SolverUnavailable(
                f"the solve overran its {limits.wall_time_s:g} s wall-time limit; "
                "retry with a shorter time limit or fewer households")
    finally:
        _close(child)
    if not answer:
        log.warning("solver worker died", extra={"exitcode": child.returncode})
        raise SolverUnavailable("the solver worker stopped unexpectedly; retry shortly")
    tag, value = pickle.loads(answer)  # noqa: S301 - written by our own child process
    if tag == "ok":
        result: R = value
        return result
    assert isinstance(value, Failure)
    if value.kind == "input":
        raise _InputError(value.field, value.message)
    if value.kind == "memory":
        raise SolverUnavailable(
            f"the solve needed more than its {limits.memory_mb} MB memory cap; "
            "retry with fewer households")
    log.warning("solver failed", extra={"error": value.message})
    raise SolverUnavailable("the solver failed; retry shortly")


class _InputError(SolverInputError):
    """Bad input detected in the child, re-raised in the parent with the same field."""


# ---- the batch solve ------------------------------------------------------------------


def solve_batch_in_worker(households: Sequence[Household], shelters: Sequence[ShelterOption],
                          weights: MatchWeights, options: BatchOptions,
                          limits: PoolLimits) -> BatchResult:
    """`solvers.matching.solve_batch` in a worker process (see the module docstring)."""
    return run_in_worker(
        solve_plain,
        (tuple(households), tuple(plain_shelter(s) for s in shelters), weights, options),
        limits)
