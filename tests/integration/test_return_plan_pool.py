"""A large joint return plan in a solver child (the path `optimise` takes past 4,000 option x
source pairs): 300 cases x 12 options x 3 sources, scarce beds and money, comes back within
the pool's wall time with a plan the independent validator accepts, a bound at least its
value, and every case left out with a reason."""

from __future__ import annotations

import random

from logistics.matching.solver_pool import PoolLimits, SolverPool
from solvers.return_plan import (
    BedPool,
    PlanOptions,
    ReturnCase,
    ReturnInstance,
    ReturnOption,
    SourceRule,
    TripOption,
    solve,
    validate_plan,
)

NOW = 27_000_000
POOL = SolverPool()


def instance(seed: int) -> ReturnInstance:
    rng = random.Random(seed)
    pools = [BedPool(f"S{j:03d}", "adult_any", rng.randint(0, 3), rng.choice("ABCD"),
                     30 + rng.random() * 10, -100 + rng.random() * 10,
                     NOW + rng.choice([240, 600, 1440])) for j in range(120)]
    cases = []
    for i in range(300):
        trips = [TripOption(f"c{i}t{k}", NOW + (d := rng.randint(0, 300)),
                      NOW + d + rng.randint(120, 1200), rng.randint(2_000, 30_000))
                 for k in range(3)]
        shelters = rng.sample(pools, 4)
        cases.append(ReturnCase(
            f"C{i:03d}", rng.randint(1, 5), tuple(rng.randint(1, 60) for _ in range(
                rng.randint(1, 3))),
            tuple(ReturnOption(p.shelter_id, p.bed_type, 1, t, rng.randint(0, 3))
                  for p in shelters for t in trips)))
    sources = (SourceRule("general", 1_500_000), SourceRule("youth", 400_000, 0, 24),
               SourceRule("adults", 600_000, 18, 120))
    return ReturnInstance(NOW, tuple(cases), tuple(pools), sources,
                          PlanOptions(hold_buffer_minutes=60, time_limit_s=8, num_workers=2))


def test_a_large_plan_in_a_solver_child_is_valid() -> None:
    inst = instance(3)
    result = POOL.run(solve, (inst,), PoolLimits(wall_time_s=30, memory_mb=2048))
    assert validate_plan(inst, result) == []
    assert result.chosen and result.unplaced
    assert result.bound >= result.objective.weighted_persons
    assert all(u.reasons for u in result.unplaced)
