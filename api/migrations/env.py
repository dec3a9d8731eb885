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
    sqlite = connection.dialect.name == "sqlite"
    raw = connection.connection.dbapi_connection
    if sqlite and raw is not None:
        # SQLite changes a constraint by copying the table (batch mode); dropping the original
        # would trip, or with deferred keys fail at commit, the foreign keys that point at it.
        # Keys are off while migrating (a pragma only takes effect outside a transaction, so
        # on the bare connection, before SQLAlchemy's BEGIN) and checked before the commit.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"migration broke foreign keys: {broken[:5]}")
        connection.commit()
    finally:
        if sqlite and raw is not None:
            connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")  # the pooled connection goes back as it came
