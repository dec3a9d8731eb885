"""Batch solves in long-lived solver child processes, with a per-job wall-time limit and a
memory cap.

A CP-SAT solve over hundreds of households can run long or, on a bad input or a native bug,
crash; neither may take the API down. Solves therefore run in child processes,
`python -m solvers.worker`, which import only the solver package (numpy, OR-Tools), never the
application, cap their own address space with `RLIMIT_AS` once at start, before they read any
input, and then serve one job after another over length-prefixed frames on their pipes (see
its docstring for the exchange).

A healthy child is reused: the idle one used last takes the next job. Starting and warming up
a child costs most of a second of CPU, and when each child served one job and exited,
back-to-back batches waited for the next one to start (bench/matching_http.py: p95 ~0.5 s,
against ~0.1 s for batches 1 s apart). A process keeps at most as many children as it may run
solves at once (`max_concurrent`), and starts one ahead of need whenever none is idle, so a
second solve beside the first does not wait for an interpreter to import OR-Tools. A child is
retired after `JOBS_PER_CHILD` jobs, to bound whatever a long run leaks.

The parent waits at most the wall-time limit for a job, counted from when the child takes it:
a crash, a kill, an exhausted memory cap or an overrun all become `SolverUnavailable` (HTTP
503 with Retry-After), and the child is killed and replaced. Bad input found inside the child
comes back as the solver's own field-naming error, and the child stays. A small per-process
semaphore bounds concurrent solves so a burst of batch requests cannot start more CP-SAT
children than the cores can serve; it holds no domain state. All of it lives in a `SolverPool`
that the app factory builds and `Services` holds; the module keeps only a weak set of the live
pools, for the exit and fork hooks that must reach them without a handle.

Children are started with `subprocess`, not `multiprocessing`: a `multiprocessing` child
re-runs the parent's main script first, and in `homeward serve` that is the console script.
A child exits when its parent dies because its stdin then reaches end-of-file; so a process
forked from one that has children drops its copies of their pipes at once (`os.register_at_fork`),
or it would hold them open after the parent's death.
"""

from __future__ import annotations

import atexit
import logging
import math
import os
import pickle
import select
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any, TypeVar

from logistics.errors import SolverUnavailable
from solvers.errors import ChildInputError
from solvers.matching import BatchOptions, BatchResult, Household, MatchWeights, ShelterOption
from solvers.worker import HEADER, READY, Failure, frame, plain_shelter, solve_plain

log = logging.getLogger("homeward.solver_pool")

R = TypeVar("R")
_CHILD = [sys.executable, "-m", "solvers.worker"]
# A child that has not imported OR-Tools by then is stuck, not slow; the job's own clock
# starts only once it is ready.
_START_CAP_S = 120.0
# Jobs a child serves before it is replaced: enough that its start is paid rarely, few enough
# that a slow leak in a native library cannot grow towards the memory cap.
JOBS_PER_CHILD = 200
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PoolLimits:
    """Limits of one solve: wall time of its job in a child, the child's address space (set
    when the child starts), concurrency."""

    wall_time_s: float
    memory_mb: int
    max_concurrent: int = 2
    queue_wait_s: float = 2.0


@dataclass(eq=False)
class _Child:
    process: subprocess.Popen[bytes]
    memory_mb: int
    ready: bool = False  # its READY frame has been read
    jobs: int = 0

    def fit(self) -> bool:
        """Running and, once ready, with nothing on its stdout: between jobs a child writes
        nothing, so a readable stdout is end-of-file (it died) or bytes nobody asked for."""
        if self.process.poll() is not None:
            return False
        assert self.process.stdout is not None
        return not (self.ready and wait([self.process.stdout.fileno()], 0))


class _Children:
    """This process's solver children (idle ones, the one released last at the end) and its
    solve slots."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: list[_Child] = []
        self.busy = 0
        self.every: set[_Child] = set()  # started and not yet closed, busy or idle
        self.slots: threading.BoundedSemaphore | None = None
        self.slots_n = 0



def _slots(pool: _Children, limits: PoolLimits) -> threading.BoundedSemaphore:
    with pool.lock:
        if pool.slots is None or pool.slots_n != limits.max_concurrent:
            pool.slots = threading.BoundedSemaphore(limits.max_concurrent)
            pool.slots_n = limits.max_concurrent
        return pool.slots


def _launch(pool: _Children, memory_mb: int) -> _Child:
    """Start a child (the caller holds the pool's lock and tracks it)."""
    process = subprocess.Popen([*_CHILD, str(memory_mb)],  # noqa: S603 - this interpreter,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,  # our module
                               bufsize=0)
    assert process.stdin is not None
    # Jobs are written without blocking, so a child that stops reading cannot hold the
    # caller past the job's wall-time limit.
    os.set_blocking(process.stdin.fileno(), False)
    child = _Child(process, memory_mb)
    pool.every.add(child)
    return child


def _take(pool: _Children, memory_mb: int) -> _Child:
    """The idle child with this memory cap released last, if it is fit; else a new one."""
    unfit: list[_Child] = []
    try:
        with pool.lock:
            while pool.idle:
                child = pool.idle.pop()
                if child.memory_mb == memory_mb and child.fit():
                    break
                unfit.append(child)
            else:
                child = _launch(pool, memory_mb)
            pool.busy += 1
            return child
    finally:
        for other in unfit:
            _close(pool, other)


def _start_spare(pool: _Children, limits: PoolLimits) -> None:
    """Start a child ahead of need if none is idle and fewer than `max_concurrent` exist, so
    the next solve does not wait for an interpreter to import OR-Tools."""
    with pool.lock:
        if pool.idle or pool.busy >= limits.max_concurrent:
            return
        try:
            pool.idle.insert(0, _launch(pool, limits.memory_mb))
        except OSError:
            log.warning("no spare solver worker could be started")


def _release(pool: _Children, child: _Child, limits: PoolLimits) -> None:
    """Back among the idle children, unless it has served its share of jobs or more children
    exist than solves may run at once."""
    surplus: list[_Child] = []
    with pool.lock:
        pool.busy -= 1
        (pool.idle if child.jobs < JOBS_PER_CHILD else surplus).append(child)
        while pool.idle and len(pool.idle) + pool.busy > limits.max_concurrent:
            surplus.append(pool.idle.pop(0))
    for extra in surplus:
        _close(pool, extra)
    if child in surplus:
        _start_spare(pool, limits)


def _discard(pool: _Children, child: _Child, limits: PoolLimits) -> None:
    """Kill a child that failed or overran, and start its replacement."""
    with pool.lock:
        pool.busy -= 1
    _close(pool, child)
    _start_spare(pool, limits)


def _close(pool: _Children, child: _Child) -> None:
    """Kill (if still running) and reap a child; closing an already closed one does nothing."""
    process = child.process
    if process.poll() is None:
        process.kill()
    process.wait()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            pipe.close()
    with pool.lock:
        pool.every.discard(child)


# Every pool of this process, for the two moments that must reach them all without a handle:
# interpreter exit and fork. Weak, so a pool that is dropped (a test's Services) goes away.
_LIVE: weakref.WeakSet[SolverPool] = weakref.WeakSet()


@atexit.register
def _stop_idle() -> None:
    """Stop the idle children on exit (they would exit at end-of-file anyway; this says so)."""
    for pool in list(_LIVE):
        pool.close()


def _forget_children() -> None:
    """In a process just forked from this one: close its copies of the children's pipes and
    start with no children. They belong to the parent, and a copy of the write end of a
    child's stdin would keep the child from reaching end-of-file when the parent dies."""
    for pool in list(_LIVE):
        for child in list(pool.children.every):
            for pipe in (child.process.stdin, child.process.stdout):
                if pipe is not None:
                    try:
                        pipe.close()
                    except OSError:
                        pass
            child.process.returncode = 0  # not ours to wait for
        # the parent's lock may have been held by a thread not copied here
        pool.children = _Children()


os.register_at_fork(after_in_child=_forget_children)


def _read_exact(child: _Child, size: int, deadline: float) -> bytes | None:
    """`size` bytes from the child's stdout; None at end-of-file; TimeoutError at `deadline`."""
    assert child.process.stdout is not None
    fd = child.process.stdout.fileno()
    chunks: list[bytes] = []
    while size:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not wait([fd], timeout=remaining):
            raise TimeoutError
        chunk = os.read(fd, min(size, _CHUNK))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(child: _Child, deadline: float) -> bytes | None:
    header = _read_exact(child, HEADER.size, deadline)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    return _read_exact(child, size, deadline)


def _write(child: _Child, data: bytes, deadline: float) -> None:
    """All of `data` to the child's stdin by `deadline` (else TimeoutError). A child that died
    takes nothing more; its stdout then reaches end-of-file, which the read reports."""
    assert child.process.stdin is not None
    fd = child.process.stdin.fileno()
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    view = memoryview(data)
    while view:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if not poller.poll(math.ceil(remaining * 1000)):
            continue
        try:
            view = view[os.write(fd, view[:_CHUNK]):]
        except BlockingIOError:
            continue
        except BrokenPipeError:
            return


def _exchange(pool: _Children, child: _Child, job: bytes, limits: PoolLimits) -> tuple[str, Any]:
    """Hand the framed job to the child and wait for its answer; SolverUnavailable if it does
    not start, dies or overruns."""
    if not child.ready:
        try:
            ready = _read_frame(child, time.monotonic() + _START_CAP_S)
        except TimeoutError:
            ready = None
        if ready != READY:
            log.warning("solver worker did not start", extra={"exitcode": child.process.poll()})
            raise _NotStarted
        child.ready = True
    deadline = time.monotonic() + limits.wall_time_s  # the child takes the job now
    try:
        _write(child, job, deadline)
        _start_spare(pool, limits)  # if this child was the last idle one
        answer = _read_frame(child, deadline)
    except TimeoutError:
        log.warning("solver overran", extra={"limit_s": limits.wall_time_s})
        raise SolverUnavailable(
            f"the solve overran its {limits.wall_time_s:g} s wall-time limit; "
            "retry with a shorter time limit or fewer households") from None
    if answer is None:
        _close(pool, child)
        log.warning("solver worker died", extra={"exitcode": child.process.returncode})
        raise SolverUnavailable("the solver worker stopped unexpectedly; retry shortly")
    tag, value = pickle.loads(answer)  # noqa: S301 - written by our own child process
    return str(tag), value


class _NotStarted(Exception):
    """A child never said it was ready (it died or hung while starting)."""


def _exchange_on_a_started_child(pool: _Children, job: bytes,
                                 limits: PoolLimits) -> tuple[_Child, str, Any]:
    """Take a child and hand it the job. A spare that died before it was ever used (killed, or
    out of memory while idle: it can still look alive for a moment after a SIGKILL on a busy
    machine) is replaced once rather than failing the caller's solve."""
    for attempt in range(2):
        try:
            child = _take(pool, limits.memory_mb)
        except OSError as exc:
            raise SolverUnavailable("the solver worker could not start; retry shortly") from exc
        try:
            tag, value = _exchange(pool, child, job, limits)
        except _NotStarted:
            _discard(pool, child, limits)
            if attempt:
                raise SolverUnavailable("the solver worker could not start; retry shortly") \
                    from None
            continue
        except BaseException:
            _discard(pool, child, limits)
            raise
        return child, tag, value
    raise AssertionError("unreachable")


def _run(pool: _Children, fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
    job = frame(pickle.dumps((fn, args)))
    child, tag, value = _exchange_on_a_started_child(pool, job, limits)
    keep = False
    try:
        child.jobs += 1
        # After bad input the child is as it was; after any other failure it exits.
        keep = tag == "ok" or (isinstance(value, Failure) and value.kind == "input")
    finally:
        if keep:
            _release(pool, child, limits)
        else:
            _discard(pool, child, limits)
    if tag == "ok":
        result: R = value
        return result
    assert isinstance(value, Failure)
    if value.kind == "input":
        raise ChildInputError(value.field, value.message)
    if value.kind == "memory":
        raise SolverUnavailable(
            f"the solve needed more than its {limits.memory_mb} MB memory cap; "
            "retry with fewer households")
    log.warning("solver failed", extra={"error": value.message})
    raise SolverUnavailable("the solver failed; retry shortly")


# ---- the batch solve ------------------------------------------------------------------


class SolverPool:
    """This process's solver children and solve slots, built once by the app factory and held
    by `Services` (api/services.py), so no module holds process state of its own."""

    def __init__(self) -> None:
        self.children = _Children()
        _LIVE.add(self)

    def run(self, fn: Callable[..., R], args: tuple[Any, ...], limits: PoolLimits) -> R:
        """Run `fn(*args)` in a solver child process under `limits`; its value or a domain
        error. `fn` and `args` must be picklable (a module-level function and plain values),
        and `fn` importable in a child that has only the standard library and `solvers`."""
        sem = _slots(self.children, limits)
        if not sem.acquire(timeout=limits.queue_wait_s):
            raise SolverUnavailable("every solver slot is busy; retry shortly")
        try:
            return _run(self.children, fn, args, limits)
        finally:
            sem.release()

    def solve_batch(self, households: Sequence[Household], shelters: Sequence[ShelterOption],
                    weights: MatchWeights, options: BatchOptions,
                    limits: PoolLimits) -> BatchResult:
        """`solvers.matching.solve_batch` in a worker process (see the module docstring)."""
        return self.run(
            solve_plain,
            (tuple(households), tuple(plain_shelter(s) for s in shelters), weights, options),
            limits)

    def close(self) -> None:
        """Stop the idle children; busy ones are stopped as their solves end."""
        pool = self.children
        with pool.lock:
            idle, pool.idle = pool.idle, []
        for child in idle:
            _close(pool, child)
