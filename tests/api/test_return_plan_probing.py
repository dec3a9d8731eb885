"""Return plans count against the probing limit like matching (README, Security, "Probing"):
each destination and radius is a circle drawn around a place; asking around one place with
more distinct circles than the limit is refused (429) before anything is searched, and
repeating a request costs nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from core.models import Role
from tests.api.test_return_plans import _case, _feed
from tests.conftest import TEST_KEY
from tests.support import AccountFactory

__all__ = ["_feed"]  # the feed fixture, autouse


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_KEY,
                    key_file=tmp_path / "unused.key", busy_timeout_ms=2000, probe_limit=2)


def test_circles_around_a_destination_are_counted(client: TestClient,
                                                  make: AccountFactory) -> None:
    manager = make.account(Role.CASE_MANAGER)
    case = _case(client, manager, "P-1", 3)

    def ask(radius: int) -> int:
        body = {"cases": [{"case_id": case, "radius_km": radius,
                           "destination": {"lat": 39.74, "lon": -104.99}}]}
        return client.post("/v1/return-plans/optimise", json=body,
                           headers=manager.headers).status_code

    assert [ask(10), ask(20), ask(10)] == [201, 201, 201]
    assert ask(30) == 429
