"""A short run of the mixed-traffic load test (`bench/load.py`) against two worker processes.

Bounded in time and to loopback. It asserts correctness only: no 5xx under concurrent mixed
traffic, and every inventory's counters agree with its holds afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.config import Settings
from api.deps import Services
from bench.load import (
    SERVER_ENV,
    broken_invariants,
    drive,
    make_cases,
    prepare,
    print_report,
)
from tests.conftest import TEST_KEY
from tests.support import served

pytestmark = pytest.mark.servers  # the multi-process tier


def test_mixed_traffic_has_no_5xx_and_keeps_invariants(settings: Settings, services: Services,
                                                       tmp_path: Path) -> None:
    world = prepare(services, clients=8)
    with served(settings.database_url, TEST_KEY, tmp_path, workers=2, env=SERVER_ENV) as base:
        make_cases(base, world, 2)
        report = drive(base, world, seconds=8, clients=8)
    print_report(report)
    assert report.server_errors() == 0, dict(report.statuses)
    assert broken_invariants(services) == []
    exercised = {route for route, values in report.latencies.items() if values}
    assert {"GET /v1/shelters", "POST /v1/shelters/{id}/holds", "POST /v1/matches",
            "POST /v1/safety-plans"} <= exercised
