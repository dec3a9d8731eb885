"""Batch solves in a worker process: kills, crashes, memory caps and overruns become a domain
error of kind "unavailable", the next solve works, and the same input gives the same plan."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from logistics.matching.solver_pool import (
    PoolLimits,
    SolverUnavailable,
    run_in_worker,
    solve_batch_in_worker,
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


def _solver_children() -> set[int]:
    """This process's children running `python -m solvers.worker`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid() and b"solvers.worker" in stat.with_name("cmdline").read_bytes():
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
