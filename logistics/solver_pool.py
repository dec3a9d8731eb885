"""Batch solves in a separate worker process, with a wall-time limit and a memory cap.

A CP-SAT solve over hundreds of households can run long or, on a bad input or a native bug,
crash; neither may take the API down. Each solve therefore runs in its own child process
forked from a `multiprocessing` fork server that has already imported the solver (so a child
starts in milliseconds, not the second a fresh interpreter needs to import OR-Tools). The
child caps its own address space with `RLIMIT_AS` before it touches the input, and the parent
waits at most the wall-time limit: a crash, a kill, an exhausted memory cap or an overrun
all become `SolverUnavailable` (HTTP 503 with Retry-After), and the next solve gets a fresh
child. Bad input found inside the child comes back as the solver's own field-naming error.
A small per-process semaphore bounds concurrent solves so a burst of batch requests cannot
fork more CP-SAT children than the cores can serve; it holds no domain state.
"""

from __future__ import annotations

import logging
import multiprocessing
import resource
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from multiprocessing.connection import Connection, wait
from typing import Any, ClassVar, TypeVar

from core.errors import ErrorKind
from logistics.errors import LogisticsError
from solvers.errors import SolverInputError
from solvers.matching import (
    BatchOptions,
    BatchResult,
    Household,
    MatchWeights,
    ShelterOption,
    solve_batch,
)

log = logging.getLogger("homeward.solver_pool")

R = TypeVar("R")
_MB = 1024 * 1024
# Modules the fork server imports once, so that every forked child already has them. With
# "__main__" preloaded, children skip re-running the main script (the CLI, pytest) on start.
_PRELOAD = ["__main__", "numpy", "ortools.sat.python.cp_model", "solvers.matching",
            "logistics.solver_pool"]


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


@dataclass(frozen=True)
class _Failure:
    kind: str  # "memory", "input", "error"
    field: str = ""
    message: str = ""


_lock = threading.Lock()
_state: dict[str, Any] = {}


def _context() -> Any:
    """The fork-server context, with the solver preloaded (set once, before the server starts)."""
    with _lock:
        ctx = _state.get("ctx")
        if ctx is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _state["ctx"] = ctx
        return ctx


def _slots(limits: PoolLimits) -> threading.BoundedSemaphore:
    with _lock:
        sem = _state.get("slots")
        if sem is None or _state.get("slots_n") != limits.max_concurrent:
            sem = threading.BoundedSemaphore(limits.max_concurrent)
            _state["slots"], _state["slots_n"] = sem, limits.max_concurrent
        assert isinstance(sem, threading.BoundedSemaphore)
        return sem


def _child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...],
           memory_mb: int) -> None:
    """Worker entry point: cap memory first, run, send one message back."""
    if memory_mb > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = memory_mb * _MB
        if hard != resource.RLIM_INFINITY:
            cap = min(cap, hard)
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        message: Any = ("ok", fn(*args))
    except MemoryError:
        message = ("fail", _Failure("memory"))
    except SolverInputError as exc:
        message = ("fail", _Failure("input", exc.field, exc.message))
    except Exception as exc:  # noqa: BLE001 - any solver bug must reach the parent as a value
        message = ("fail", _Failure("error", message=type(exc).__name__))
    try:
        conn.send(message)
    except MemoryError:
        conn.send(("fail", _Failure("memory")))
    finally:
        conn.close()


def run_in_worker(fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
    """Run `fn(*args)` in a fresh child process under `limits`; its value or a domain error.

    `fn` and `args` must be picklable (a module-level function and plain values).
    """
    sem = _slots(limits)
    if not sem.acquire(timeout=limits.queue_wait_s):
        raise SolverUnavailable("every solver slot is busy; retry shortly")
    try:
        return _run(fn, args, limits)
    finally:
        sem.release()


def _run(fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
    ctx = _context()
    reader, writer = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(writer, fn, args, limits.memory_mb), daemon=True)
    try:
        proc.start()
    except OSError as exc:
        reader.close()
        writer.close()
        raise SolverUnavailable("the solver worker could not start; retry shortly") from exc
    writer.close()  # the child holds the only writer, so its death reads as end-of-file
    message: Any = None
    try:
        ready = wait([reader, proc.sentinel], timeout=limits.wall_time_s)
        if not ready:
            log.warning("solver overran", extra={"limit_s": limits.wall_time_s})
            raise SolverUnavailable(
                f"the solve overran its {limits.wall_time_s:g} s wall-time limit; "
                "retry with a shorter time limit or fewer households")
        if reader.poll():
            try:
                message = reader.recv()
            except (EOFError, OSError):
                message = None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(timeout=10)
        reader.close()
    if message is None:
        log.warning("solver worker died", extra={"exitcode": proc.exitcode})
        raise SolverUnavailable("the solver worker stopped unexpectedly; retry shortly")
    tag, value = message
    if tag == "ok":
        result: R = value
        return result
    assert isinstance(value, _Failure)
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


def _plain(shelter: ShelterOption) -> dict[str, Any]:
    # ShelterOption keeps its capacity in a read-only mapping proxy, which cannot be pickled.
    values = {f.name: getattr(shelter, f.name) for f in fields(shelter)}
    values["available"] = dict(shelter.available)
    return values


def _solve_plain(households: tuple[Household, ...], shelters: tuple[dict[str, Any], ...],
                 weights: MatchWeights, options: BatchOptions) -> BatchResult:
    return solve_batch(households, [ShelterOption(**s) for s in shelters], weights, options)


def solve_batch_in_worker(households: Sequence[Household], shelters: Sequence[ShelterOption],
                          weights: MatchWeights, options: BatchOptions,
                          limits: PoolLimits) -> BatchResult:
    """`solvers.matching.solve_batch` in a worker process (see the module docstring)."""
    return run_in_worker(
        _solve_plain,
        (tuple(households), tuple(_plain(s) for s in shelters), weights, options),
        limits)
