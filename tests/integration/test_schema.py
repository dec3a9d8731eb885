"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from api import migrate
from api.deps import Services
from api.schema import metadata


def test_migrations_yield_the_models_schema(services: Services) -> None:
    with services.db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(services: Services) -> None:
    engine = services.db.engine
    assert migrate.is_current(engine)
    migrate.upgrade(engine, "head")  # idempotent
    from alembic import command

    command.downgrade(migrate.alembic_config(engine), "base")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.is_current(engine)
