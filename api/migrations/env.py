"""Alembic environment: runs migrations on the engine the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from api.schema import metadata

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):
    raise RuntimeError("run migrations through `homeward db upgrade`")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
