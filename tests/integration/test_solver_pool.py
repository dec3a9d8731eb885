"""Batch solves in solver child processes: kills, crashes, memory caps and overruns become a
domain error of kind "unavailable" and the next solve works in a new child; a healthy child
serves job after job (bad input included) until its share is done; children exit when the
process that started them dies; the same input gives the same plan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from logistics.matching import solver_pool
from logistics.matching.solver_pool import (
    PoolLimits,
    SolverPool,
    SolverUnavailable,
)
from solvers.errors import SolverInputError
from solvers.matching import (
    BatchOptions,
    BatchResult,
    Household,
    MatchWeights,
    Member,
    ShelterOption,
)
from solvers.matching.validation import validate_plan
from tests.support import wait_for

# One pool for the module, as one app process has one (api/services.py).
POOL = SolverPool()
run_in_worker = POOL.run
solve_batch_in_worker = POOL.solve_batch

LIMITS = PoolLimits(wall_time_s=20, memory_mb=2048)
OPTIONS = BatchOptions(max_time_in_seconds=2, num_workers=2, random_seed=7)


def _instance() -> tuple[list[Household], list[ShelterOption]]:
    """8 households, 5 shelters, fewer beds than people: a scarce instance with ties."""
    genders = ["female", "male", "female", "nonbinary", "female", "male", "female", "male"]
    households = []
    for i, gender in enumerate(genders):
        members = [Member(25 + i, gender)]
        if i % 3 == 0:
            members.append(Member(6 + i, "female"))
        households.append(Household(f"C-{i:02d}", tuple(members), 29.70 + i * 0.02,
                                    -95.40 + i * 0.01, urgency=1 + i % 5,
                                    languages=("es",) if i % 2 else ("en",)))
    pops = frozenset({"adult_women", "adult_men", "transgender_nonbinary_adults",
                      "families_with_children"})
    shelters = [
        ShelterOption(f"S{j}", 29.72 + j * 0.03, -95.38 + j * 0.02, pops,
                      {"adult_female": 1 + j % 2, "adult_male": j % 2, "adult_any": 1,
                       "family_unit": 1 if j % 2 == 0 else 0},
                      family_unit_max_household=4, children_max_age=17,
                      languages=frozenset({"en", "es"} if j % 2 else {"en"}))
        for j in range(5)
    ]
    return households, shelters


def _solve(limits: PoolLimits = LIMITS) -> BatchResult:
    households, shelters = _instance()
    return solve_batch_in_worker(households, shelters, MatchWeights(), OPTIONS, limits)


def test_a_solve_in_the_worker_is_a_valid_plan() -> None:
    households, shelters = _instance()
    result = _solve()
    assert result.status in ("optimal", "feasible") and result.assignments
    assert validate_plan(households, shelters, result.assignments, result.unplaced,
                         MatchWeights(), result.objective) == []


def test_same_input_and_seed_give_the_same_plan_20_of_20() -> None:
    first = _solve()
    for _ in range(19):
        again = _solve()
        assert again.assignments == first.assignments
        assert again.unplaced == first.unplaced and again.objective == first.objective


def _solver_children(parent: int | None = None) -> set[int]:
    """The children of `parent` (this process by default) running `python -m solvers.worker`."""
    parent = os.getpid() if parent is None else parent
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == parent and b"solvers.worker" in stat.with_name("cmdline").read_bytes():
                found.add(int(stat.parent.name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return found


def _kill_solver_children(done: threading.Event) -> None:
    while not done.is_set():
        for pid in _solver_children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def test_a_worker_killed_with_sigkill_is_unavailable_and_the_next_solve_works() -> None:
    done = threading.Event()
    killer = threading.Thread(target=_kill_solver_children, args=(done,))
    killer.start()
    try:
        with pytest.raises(SolverUnavailable) as caught:
            run_in_worker(time.sleep, (600,), LIMITS)
    finally:
        done.set()
        killer.join()
    assert caught.value.kind == "unavailable"
    assert "overran" not in caught.value.detail  # the kill ended it, not the clock
    assert _solve().assignments


def test_a_spare_that_dies_before_its_first_job_is_replaced_not_reported() -> None:
    # A spare that looks alive when taken but ends without ever saying it is ready (as one
    # SIGKILLed a moment ago can, on a busy machine): the solve goes to a fresh child.
    pool = SolverPool()
    dying = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    with pool.children.lock:
        spare = solver_pool._Child(dying, LIMITS.memory_mb)
        pool.children.every.add(spare)
        pool.children.idle.append(spare)
    try:
        households, shelters = _instance()
        result = pool.solve_batch(households, shelters, MatchWeights(), OPTIONS, LIMITS)
        assert result.assignments
        assert dying.poll() is not None and spare not in pool.children.idle
    finally:
        pool.close()


def test_the_child_imports_only_the_solver_package() -> None:
    # A builtin as the job, so that unpickling it imports nothing more into the child.
    loaded = run_in_worker(eval, ("sorted(__import__('sys').modules)",), LIMITS)
    project = {m.split(".")[0] for m in loaded} & {"api", "core", "logistics", "safety_plans",
                                                    "fixtures", "network", "sqlmodel",
                                                    "fastapi", "typer"}
    assert project == set() and "solvers.matching" in loaded


def test_exceeding_the_memory_cap_is_unavailable_and_the_next_solve_works() -> None:
    with pytest.raises(SolverUnavailable) as caught:
        run_in_worker(bytearray, (3 * 1024**3,), PoolLimits(wall_time_s=20, memory_mb=1024))
    assert "memory" in caught.value.detail
    # A cap below what the solver needs: the real solve fails the same way.
    with pytest.raises(SolverUnavailable):
        _solve(PoolLimits(wall_time_s=20, memory_mb=64))
    assert _solve().assignments


def test_an_overrun_is_killed_at_the_wall_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(SolverUnavailable) as caught:
        run_in_worker(time.sleep, (600,), PoolLimits(wall_time_s=0.5, memory_mb=2048))
    assert "wall-time" in caught.value.detail
    assert time.monotonic() - started < 600  # stopped at the limit, not waited out
    assert _solve().assignments


def test_a_native_crash_is_unavailable() -> None:
    with pytest.raises(SolverUnavailable):
        run_in_worker(os.abort, (), LIMITS)
    assert _solve().assignments


def test_bad_input_found_in_the_worker_names_the_field() -> None:
    households, shelters = _instance()
    with pytest.raises(SolverInputError) as caught:
        solve_batch_in_worker([households[0], households[0]], shelters, MatchWeights(),
                              OPTIONS, LIMITS)
    assert caught.value.field == "case_ref"


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def test_one_child_serves_job_after_job() -> None:
    pids = [run_in_worker(os.getpid, (), LIMITS) for _ in range(5)]
    assert len(set(pids)) == 1 and pids[0] in _solver_children()
    assert _solve().assignments
    assert run_in_worker(os.getpid, (), LIMITS) == pids[0]


def test_a_child_retires_after_its_share_of_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(solver_pool, "JOBS_PER_CHILD", 2)
    # Another memory cap than the other tests': a child is kept for the cap it started with,
    # so these jobs start from a new child.
    limits = PoolLimits(wall_time_s=20, memory_mb=1536)
    first, second, third = (run_in_worker(os.getpid, (), limits) for _ in range(3))
    assert first == second != third
    assert not _alive(first)


def test_after_an_overrun_the_next_job_runs_in_a_new_child() -> None:
    before = run_in_worker(os.getpid, (), LIMITS)
    # The idle child used last takes the next job: this one.
    with pytest.raises(SolverUnavailable) as caught:
        run_in_worker(time.sleep, (600,), PoolLimits(wall_time_s=0.5, memory_mb=2048))
    assert "wall-time" in caught.value.detail
    assert not _alive(before)
    after = run_in_worker(os.getpid, (), LIMITS)
    assert after != before and after in _solver_children()
    assert _solve().assignments


def test_bad_input_leaves_the_child_serving() -> None:
    households, shelters = _instance()
    before = run_in_worker(os.getpid, (), LIMITS)
    with pytest.raises(SolverInputError) as caught:
        solve_batch_in_worker([households[0], households[0]], shelters, MatchWeights(),
                              OPTIONS, LIMITS)
    assert caught.value.field == "case_ref"
    assert run_in_worker(os.getpid, (), LIMITS) == before


# A process that solves once, then forks a copy of itself (which inherits whatever pipes it
# holds), prints its solver child's pid and the copy's, and waits.
_PARENT = """
import os, sys
from logistics.matching.solver_pool import PoolLimits, SolverPool
pool = SolverPool()  # held, as Services holds the app's
child = pool.run(os.getpid, (), PoolLimits(wall_time_s=60, memory_mb=2048))
copy = os.fork()
if copy == 0:
    sys.stdin.read()
    os._exit(0)
print(child, copy, flush=True)
sys.stdin.read()
"""


def test_children_exit_when_their_parent_dies_even_if_a_fork_of_it_lives() -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert parent.stdin is not None and parent.stdout is not None
    copy = 0
    try:
        child, copy = (int(word) for word in parent.stdout.readline().split())
        children = _solver_children(parent.pid)  # the one that solved, and a spare
        assert child in children
        parent.kill()
        parent.wait()
        wait_for(lambda: not any(_alive(pid) for pid in children),
                 what="the solver children to see end-of-file and exit")
        assert _alive(copy)  # the fork still holds the pipes it inherited, but not theirs
    finally:
        parent.kill()
        parent.wait()
        parent.stdin.close()  # the fork reads end-of-file and exits
        parent.stdout.close()
        if copy:
            wait_for(lambda: not _alive(copy), what="the fork to exit")
