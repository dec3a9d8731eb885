"""A busy or unreachable database is a 503 with Retry-After, never a 500."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import build_services, create_app
from api.config import Settings
from tests.conftest import TEST_KEY
from tests.support import BACKEND, Account


def test_unreachable_database_is_503(tmp_path: Path) -> None:
    settings = Settings(database_url="postgresql://postgres@127.0.0.1:1/nowhere",
                        secret_key=TEST_KEY, key_file=tmp_path / "k")
    with TestClient(create_app(services=build_services(settings))) as client:
        response = client.get("/v1/me", headers={"Authorization": "Bearer hw_x"})
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert response.headers["content-type"] == "application/problem+json"
        assert "nowhere" not in response.text and "Traceback" not in response.text
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite write lock")
def test_locked_sqlite_database_is_503(settings: Settings, admin: Account) -> None:
    impatient = settings.model_copy(update={"busy_timeout_ms": 100})
    with TestClient(create_app(services=build_services(impatient))) as client:
        path = impatient.sqlite_path()
        assert path is not None
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            response = client.post("/v1/agencies", headers=admin.headers,
                                   json={"name": "Blocked", "kind": "hotline"})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert response.status_code == 503 and response.headers["retry-after"]
        after = client.post("/v1/agencies", headers=admin.headers,
                            json={"name": "Blocked", "kind": "hotline"})
        assert after.status_code == 201


def test_readyz_reports_a_schema_behind(services: object, client: TestClient) -> None:
    from alembic import command

    from api import migrate
    from api.deps import Services

    assert isinstance(services, Services)
    command.downgrade(migrate.alembic_config(services.db.engine), "base")
    response = client.get("/readyz")
    assert response.status_code == 503 and "homeward db upgrade" in response.json()["detail"]
