"""Shared fixtures: a fresh, migrated database per test on SQLite or PostgreSQL, and clients.

The backend is SQLite unless `HOMEWARD_TEST_POSTGRES_URL` is set, in which case every
database-backed test runs on PostgreSQL instead; `.ci/run` runs the suite once each way. The
schema is migrated once per run into a template (a file on SQLite, a template database on
PostgreSQL) and copied for each test, so every test starts from the real migrations quickly.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api import migrate
from api.app import build_services, create_app
from api.config import Settings
from api.deps import Services
from core.crypto import new_key_text
from core.db import Database, DatabaseSettings
from core.models import Role
from tests import support
from tests.support import BACKEND, POSTGRES_URL, Account, AccountFactory

TEST_KEY = new_key_text()
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _pg_admin_url() -> str:
    assert POSTGRES_URL is not None
    return str(make_url(POSTGRES_URL).set(drivername="postgresql+psycopg"))


def _pg_url_for(dbname: str) -> str:
    assert POSTGRES_URL is not None
    return make_url(POSTGRES_URL).set(drivername="postgresql+psycopg", database=dbname) \
        .render_as_string(hide_password=False)


def _pg_exec(sql: str) -> None:
    engine = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Template:
    kind: str
    location: str  # a file path on SQLite, a database name on PostgreSQL


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    if BACKEND == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.db"
        db = Database(DatabaseSettings(url=f"sqlite:///{path}"))
        migrate.upgrade(db.engine)
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.dispose()
        yield Template("sqlite", str(path))
        return
    name = f"hw_tpl_{uuid.uuid4().hex[:10]}"
    _pg_exec(f'CREATE DATABASE "{name}"')
    db = Database(DatabaseSettings(url=_pg_url_for(name)))
    migrate.upgrade(db.engine)
    db.dispose()
    yield Template("postgresql", name)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(template: Template, tmp_path: Path) -> Iterator[str]:
    """A URL to a fresh copy of the migrated schema, private to this test."""
    if template.kind == "sqlite":
        path = tmp_path / "homeward.db"
        shutil.copyfile(template.location, path)
        yield f"sqlite:///{path}"
        return
    name = f"hw_t_{uuid.uuid4().hex[:12]}"
    _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
    yield _pg_url_for(name)
    _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def new_database_url(template: Template, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Makes further fresh copies of the migrated schema (e.g. two worlds to compare)."""
    made: list[str] = []

    def make() -> str:
        name = f"hw_t_{uuid.uuid4().hex[:12]}"
        if template.kind == "sqlite":
            path = tmp_path / f"{name}.db"
            shutil.copyfile(template.location, path)
            return f"sqlite:///{path}"
        _pg_exec(f'CREATE DATABASE "{name}" TEMPLATE "{template.location}"')
        made.append(name)
        return _pg_url_for(name)

    yield make
    for name in made:
        _pg_exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, secret_key=TEST_KEY,
                    key_file=tmp_path / "unused.key", busy_timeout_ms=2000)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    built = build_services(settings)
    yield built
    built.db.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


@pytest.fixture
def make(services: Services) -> AccountFactory:
    return AccountFactory(services)


@pytest.fixture
def admin(make: AccountFactory) -> Account:
    """A platform admin of the hotline: may see and do everything."""
    return make.account(Role.PLATFORM_ADMIN, name="admin")


@pytest.fixture
def agency_admin(make: AccountFactory) -> Account:
    """An admin of the hotline agency only (the platform admin's own agency)."""
    return make.account(Role.AGENCY_ADMIN, name="agency-admin")


@pytest.fixture(autouse=True)
def _current_test(request: pytest.FixtureRequest) -> Iterator[None]:
    support.CURRENT_TEST.append(request.node)
    yield
    support.CURRENT_TEST.pop()


# With HOMEWARD_TEST_DATABASE_ONLY=1 (the PostgreSQL tier of .ci/run), the unit and property tests
# that never open a database are left out: they ran in the SQLite tier on the very same code, and
# a second run on another backend cannot differ. Anything under tests/api, tests/integration or
# tests/browser runs on both backends whatever its fixtures (servers open their own databases).
DATABASE_ONLY = os.environ.get("HOMEWARD_TEST_DATABASE_ONLY") == "1"
BACKEND_FREE_FOLDERS = ("unit", "property")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not DATABASE_ONLY:
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        folder = item.path.relative_to(Path(__file__).parent).parts[0]
        uses_database = "template" in getattr(item, "fixturenames", ())
        (left if folder in BACKEND_FREE_FOLDERS and not uses_database else kept).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept
