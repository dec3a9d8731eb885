"""Schema-driven fuzzing of the whole API, in process, with real tokens for several roles.

Every operation in the OpenAPI document gets Hypothesis-generated requests (valid and invalid),
sent with an admin's and an advocate's token so authenticated paths are exercised too. Checks:
no 5xx, status codes and bodies conform to the schema (errors are problem+json), and invalid
data is rejected with a 4xx. Schema-valid data that names something that does not exist (an
agency id 0) is rightly refused with a 422 naming the field, so the "valid data must be
accepted" check is the one check left out. Bounded (a few examples per operation,
derandomised) so CI stays within minutes.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.deps import Services
from core.models import Role
from tests.support import Account, AccountFactory, coordinator, shelter_body

MAX_EXAMPLES = 4
ROLES = ("admin", "advocate", "coordinator")


@pytest.fixture
def world(services: Services, make: AccountFactory, admin: Account) -> dict[str, Any]:
    app = create_app(services=services)
    with TestClient(app) as client:
        agency = make.agency("Fuzz Shelters")
        shelter = client.post("/v1/shelters", headers=admin.headers,
                              json=shelter_body(agency)).json()
    return {"app": app, "admin": admin, "advocate": make.account(Role.ADVOCATE),
            "coordinator": coordinator(make, [shelter["id"]], agency="Fuzz Shelters")}


def _fuzz(operation: Any, world: dict[str, Any]) -> None:
    roles = itertools.cycle(ROLES)

    @given(case=operation.as_strategy())
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        # Roles take turns, so every operation is tried by several of them.
        case.call_and_validate(headers=world[next(roles)].headers,
                               excluded_checks=[positive_data_acceptance])

    run()


def test_api_conforms(world: dict[str, Any]) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", world["app"])
    failures: list[str] = []
    timings: dict[str, float] = {}
    for result in api.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        started = time.perf_counter()
        try:
            _fuzz(operation, world)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (report every operation)
            failures.append(f"{name}: {exc}")
        timings[name] = time.perf_counter() - started
    for name, seconds in sorted(timings.items(), key=lambda t: -t[1])[:8]:
        print(f"{seconds:6.2f} s  {name}")
    assert len(timings) > 40
    assert failures == [], "\n\n".join(failures)
