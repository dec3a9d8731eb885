"""Stateful schema fuzzing: chains of calls that follow the OpenAPI links of `api/openapi.py`.

Schemathesis builds a Hypothesis state machine from the document's links (create -> read ->
update -> close or delete, for accounts and tokens, cases and screenings, shelters, beds and
holds, safety plans and travel plans) and drives it in process with a real admin token (each
scenario has its own agency and admin, so a replayed scenario sees the same answers). Its own
link inference is off, so only the documented links are exercised. The checks are those of
`test_schemathesis.py`: no 5xx, responses (status, headers, bodies) conform to the schema;
"valid data must be accepted" is left out (schema-valid ids may name nothing). Invalid input is
fuzzed operation by operation there; here only valid data is generated, so chains get going.
Bounded and derandomised, so a run takes seconds.
"""

from __future__ import annotations

import uuid
from typing import Any

import hypothesis
import pytest
import schemathesis
import schemathesis.specs.openapi.stateful as stateful
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api.app import create_app
from api.deps import Services
from api.openapi import LINKS
from core.models import Role
from tests.support import AccountFactory, shelter_body

CASE_FIXES = {"languages": ["en"], "location": {"lat": 29.76, "lon": -95.37},
              "exclusions": {}}
MAX_EXAMPLES = 30
STEP_COUNT = 8


@pytest.fixture
def creates_are_roots(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let every documented create start a chain.

    Schemathesis's dependency heuristics read `has_photo_id` and `street_address` as foreign
    keys to resources nothing creates, so they demote POST /v1/cases, /v1/shelters and
    /v1/accounts to fallback roots, used only when no other root exists; chains would then
    start only at nested creates with random parent ids (404s). Promote the top-level creates.
    """
    original = stateful.classify_root_transitions

    def classify(operations: Any, transitions: Any, graph: Any) -> Any:
        roots = original(operations, transitions, graph)
        for label in list(roots.fallback):
            method, path = label.split(" ", 1)
            if method == "POST" and "{" not in path:
                roots.reliable.add(label)
        return roots

    monkeypatch.setattr(stateful, "classify_root_transitions", classify)


@pytest.fixture
def schema(services: Services, make: AccountFactory, creates_are_roots: None) -> Any:
    app = create_app(services=services)
    admin = make.account(Role.PLATFORM_ADMIN, agency="Stateful Hotline")
    with TestClient(app) as client:  # one shelter the shelter-less chains can also reach
        created = client.post("/v1/shelters", headers=admin.headers,
                              json=shelter_body(make.agency("Stateful Shelters")))
        assert created.status_code == 201, created.text
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)
    loaded.config.phases.stateful.inference.algorithms = []
    # Invalid input is fuzzed operation by operation in test_schemathesis.py; here the chains
    # need creates that succeed.
    loaded.config.phases.stateful.generation.modes = [GenerationMode.POSITIVE]
    return loaded


def test_links_resolve(schema: Any) -> None:
    """Every documented link names an existing operation and parameters it takes."""
    document = schema.raw_schema
    links = [(path, method, status, name)
             for path, ops in document["paths"].items() for method, op in ops.items()
             for status, response in op["responses"].items()
             for name in response.get("links", {})]
    assert len(links) == sum(len(v) for v in LINKS.values()) > 30
    machine = schema.as_state_machine()
    assert machine.schema.statistic.transitions.total >= len(links)


def test_stateful_chains_conform(schema: Any, make: AccountFactory) -> None:
    base = schema.as_state_machine()
    calls: dict[str, int] = {}

    class Machine(base):  # type: ignore[misc, valid-type]
        # Hypothesis replays scenarios and needs each to see the same answers, so every
        # scenario starts from its own agency and admin: no case reference, account name or
        # active-hold count left over from an earlier scenario changes an answer.
        def setup(self) -> None:
            self.admin = make.account(Role.PLATFORM_ADMIN,
                                      agency=f"Stateful {uuid.uuid4().hex}")

        def before_call(self, case: Any) -> None:
            if not isinstance(case.body, dict):
                return
            # A random agency id names no agency (422): point creates at the caller's.
            if isinstance(case.body.get("agency_id"), int):
                case.body["agency_id"] = self.admin.agency_id
            if case.path == "/v1/accounts" and isinstance(case.body.get("name"), str):
                case.body["name"] = f"{case.body['name'][:60]}-{self.admin.agency_id}"
            if case.path == "/v1/cases" and case.method == "POST":
                # Rules the schema cannot state (a known language code, both halves of a
                # place): without them nearly every case is a 422 and no chain starts.
                case.body.update(CASE_FIXES)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": self.admin.headers}

        def after_call(self, response: Any, case: Any) -> None:
            key = f"{case.method} {case.path} {response.status_code}"
            calls[key] = calls.get(key, 0) + 1

        def validate_response(self, response: Any, case: Any,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, excluded_checks=[positive_data_acceptance],
                                   transport_kwargs=kwargs)

    Machine.run(settings=hypothesis.settings(
        max_examples=MAX_EXAMPLES, stateful_step_count=STEP_COUNT, deadline=None,
        derandomize=True, database=None, suppress_health_check=list(HealthCheck)))
    for key, count in sorted(calls.items()):
        print(f"{count:4d}  {key}")
    # The chains did reach linked reads with ids from real creates, not only 404s.
    assert any(k.startswith(("GET /v1/cases/{case_id} 200", "GET /v1/accounts/{account_id} 200",
                             "GET /v1/holds/{hold_id} 200", "GET /v1/shelters/{shelter_id} 200"))
               for k in calls), calls
