"""Engines and transactions for SQLite (embedded default) and PostgreSQL (production).

SQLite runs in WAL mode with a busy timeout and foreign keys on. The driver's own transaction
handling is switched off so that we emit BEGIN ourselves: a write transaction starts with
BEGIN IMMEDIATE, taking the write lock before its first read, so a read-then-write can never
be invalidated halfway (SQLite has no row locks). Writers first take a turn
(core/writer_turns.py), so the lock passes from one writer to the next without the sleeps of
SQLite's busy handler. Reads use a plain deferred BEGIN and run concurrently with writers
under WAL.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.pool import QueuePool
from sqlmodel import Session

from core.writer_turns import TurnConnection, WriterTurns

_WRITE_OPTION = "homeward_write"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str
    busy_timeout_ms: int = 5000
    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout_s: float = 5.0
    statement_timeout_ms: int = 15000
    echo: bool = False


def _sqlite_path(settings: DatabaseSettings) -> Path | None:
    if not settings.url.startswith("sqlite"):
        return None
    path = make_url(settings.url).database
    return None if not path or path == ":memory:" else Path(path)


def _writer_turns(settings: DatabaseSettings) -> WriterTurns | None:
    path = _sqlite_path(settings)
    return None if path is None else WriterTurns(Path(f"{path}-writers"),
                                                   settings.busy_timeout_ms / 1000)


def keep_private(path: Path) -> None:
    """The database file and its companions readable by this user alone (0600), like the key.

    SQLite creates its WAL and shared-memory files with the database file's permissions, so
    the file is made 0600 before SQLite first opens it; files left wider by an older version
    are narrowed.
    """
    if path.parent.exists() and not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for companion in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-writers")):
        if companion.exists() and companion.stat().st_mode & 0o077:
            companion.chmod(0o600)


def _sqlite_engine(settings: DatabaseSettings, turns: WriterTurns | None) -> Engine:
    engine = create_engine(
        settings.url,
        echo=settings.echo,
        connect_args={"check_same_thread": False, "timeout": settings.busy_timeout_ms / 1000,
                      "factory": TurnConnection},
        # Pooled connections: opening a file and setting its pragmas on every request cost
        # more than the request itself. WAL lets pooled readers and one writer work at once.
        poolclass=QueuePool,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        dbapi_conn.turns = turns
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted personal data is overwritten with zeros, not left in free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if not conn.get_execution_options().get(_WRITE_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        raw = conn.connection.dbapi_connection
        assert isinstance(raw, TurnConnection)
        raw.take_turn()
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            raw.end_turn()
            raise

    return engine


def _postgres_engine(settings: DatabaseSettings) -> Engine:
    url = settings.url
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return create_engine(
        url,
        echo=settings.echo,
        pool_pre_ping=True,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        connect_args={
            "connect_timeout": 5,
            "options": f"-c statement_timeout={int(settings.statement_timeout_ms)}",
            "application_name": "homeward",
        },
    )


def make_engine(settings: DatabaseSettings, turns: WriterTurns | None = None) -> Engine:
    if settings.url.startswith("sqlite"):
        return _sqlite_engine(settings, turns)
    if settings.url.startswith(("postgresql", "postgres")):
        return _postgres_engine(settings)
    raise ValueError("HOMEWARD_DATABASE_URL must be a sqlite:// or postgresql:// URL")


# The key, in a read session's `info`, of the factory of write sessions for its audit rows.
SIDE_WRITER = "homeward.side_writer"


def insert_skipping_conflicts(connection: Connection, table: Table, *,
                              index_elements: list[str]) -> Any:
    """An INSERT for this connection's dialect that skips rows clashing on `index_elements`.

    Both dialects spell it `ON CONFLICT DO NOTHING`, through each dialect's own `insert`;
    imported here, when first used, because importing SQLAlchemy's PostgreSQL dialect loads
    all its drivers' modules (asyncpg's among them) into every process at start-up (issue 14).
    """
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    from sqlalchemy.dialects import sqlite

    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


class Database:
    """One engine and the two kinds of session the application uses."""

    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings
        path = _sqlite_path(settings)
        if path is not None:
            keep_private(path)
        self._turns = _writer_turns(settings)
        self.engine = make_engine(settings, self._turns)
        self._write_engine = self.engine.execution_options(**{_WRITE_OPTION: True})
        # Put in every session's `info`: what the application hands to use cases deep below
        # their callers (a bed hold's lapse warning: logistics/beds/holds_warning.py).
        self.session_info: dict[str, object] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def new_session(self, *, write: bool) -> Session:
        """A session the caller closes; it connects on first use. Write sessions' transactions
        start with BEGIN IMMEDIATE on SQLite.

        A read session on SQLite cannot write once another writer has committed since its
        snapshot began (SQLITE_BUSY_SNAPSHOT, at once, without waiting), so the audit rows of
        its reads go through `SIDE_WRITER` instead: a write transaction of their own that takes
        its writer turn like any other (`core.audit.record`).
        """
        session = Session(self._write_engine if write else self.engine, expire_on_commit=False)
        session.info.update(self.session_info)
        if not write and self.dialect == "sqlite":
            session.info[SIDE_WRITER] = self.write_session
        return session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        with self.new_session(write=False) as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """A session whose transactions start with BEGIN IMMEDIATE on SQLite."""
        with self.new_session(write=True) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        if self._turns is not None:
            self._turns.close()
