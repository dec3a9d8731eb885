"""The fuzzer against the real server: two worker processes, the failed-token throttle lifted.

In process (`test_schemathesis.py`) every request is served by one app in one thread, and
with the throttle in force most operations answered 429 to an outside fuzzing run, their logic
untried. Here `homeward serve --workers 2` answers over TCP on this machine's loopback, with
`HOMEWARD_AUTH_FAILURE_LIMIT` raised so the throttle never answers; every operation gets
generated requests with several roles' tokens, and no answer may be a 5xx, 503 included
(a read that waits behind writers, an audit write that cannot get the lock, a solver child
that overruns). Issue 17.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from core.models import Role
from tests.conftest import TEST_KEY
from tests.support import Account, AccountFactory, coordinator, served, shelter_body

pytestmark = pytest.mark.servers  # the multi-process tier

MAX_EXAMPLES = 6
LIFTED = {"HOMEWARD_AUTH_FAILURE_LIMIT": "1000000", "HOMEWARD_PROBE_LIMIT": "1000000"}


def _fuzz(operation: Any, roles: Iterator[Account]) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        case.call_and_validate(headers=next(roles).headers, timeout=120,
                               excluded_checks=[positive_data_acceptance])

    run()


def test_no_server_error_from_two_workers(database_url: str, tmp_path: Path,
                                          make: AccountFactory, admin: Account) -> None:
    agency = make.agency("Fuzz Shelters")
    with served(database_url, TEST_KEY, tmp_path, workers=2, env=LIFTED) as base:
        import httpx

        shelter = httpx.post(f"{base}/v1/shelters", headers=admin.headers,
                             json=shelter_body(agency), timeout=60).json()
        people = {"admin": admin, "advocate": make.account(Role.ADVOCATE),
                  "coordinator": coordinator(make, [shelter["id"]], agency="Fuzz Shelters")}
        api = schemathesis.openapi.from_url(f"{base}/openapi.json")
        failures: list[str] = []
        operations = 0
        for result in api.get_all_operations():
            operation = result.ok()
            operations += 1
            try:
                _fuzz(operation, itertools.cycle(people.values()))
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (report them all)
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        assert operations > 40
        assert failures == [], "\n\n".join(failures)
