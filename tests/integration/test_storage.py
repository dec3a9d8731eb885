"""Storage settings that correctness depends on: SQLite pragmas, BEGIN IMMEDIATE, UTC times."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, StatementError

from api.deps import Services
from core.db import Database, DatabaseSettings
from core.models import Agency, AgencyKind
from tests.support import BACKEND

sqlite_only = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite behaviour")


@sqlite_only
def test_sqlite_runs_wal_with_foreign_keys_and_busy_timeout(services: Services) -> None:
    with services.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() == 2000


@sqlite_only
def test_write_sessions_begin_immediate(services: Services) -> None:
    impatient = Database(DatabaseSettings(url=services.settings.database_url,
                                          busy_timeout_ms=100))
    with services.db.write_session() as holder:
        holder.execute(text("SELECT 1"))  # a read alone takes the write lock
        with impatient.write_session() as second:
            with pytest.raises(OperationalError, match="locked"):
                second.execute(text("SELECT 1"))
        with impatient.read_session() as reader:  # readers still proceed under WAL
            assert reader.execute(text("SELECT count(*) FROM agency")).scalar_one() == 0
    impatient.dispose()


@sqlite_only
def test_writers_of_two_processes_take_turns(services: Services) -> None:
    """Two Database objects stand for two worker processes: every write lands, none waits out
    the busy timeout, and each writer's turn ends with its transaction, commit or rollback."""
    import threading

    other = Database(DatabaseSettings(url=services.settings.database_url, busy_timeout_ms=2000))
    failures: list[BaseException] = []

    def writer(db: Database, tag: str) -> None:
        try:
            for i in range(15):
                with db.write_session() as session:
                    session.add(Agency(name=f"turns-{tag}-{i}", kind=AgencyKind.HOTLINE))
                    if i % 5 == 4:
                        session.rollback()  # a rolled-back turn must end too
                    else:
                        session.commit()
        except BaseException as exc:  # noqa: BLE001 (collected and asserted below)
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(db, f"{n}-{k}"))
               for n, db in enumerate((services.db, other)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.dispose()
    assert failures == []
    with services.db.read_session() as session:
        count = session.execute(text("SELECT count(*) FROM agency WHERE name LIKE 'turns-%'"))
        assert count.scalar_one() == 8 * 12


def test_foreign_keys_are_enforced(services: Services) -> None:
    from sqlalchemy.exc import IntegrityError

    from core.models import Account, Role

    with services.db.write_session() as session:
        session.add(Account(name="orphan", role=Role.ADVOCATE, agency_id=424242))
        with pytest.raises(IntegrityError):
            session.commit()


def test_timestamps_come_back_aware_utc_and_naive_is_refused(services: Services) -> None:
    with services.db.write_session() as session:
        agency = Agency(name="Tz", kind=AgencyKind.HOTLINE)
        session.add(agency)
        session.commit()
        agency_id = agency.id
    with services.db.read_session() as session:
        loaded = session.get(Agency, agency_id)
        assert loaded is not None and loaded.created_at.utcoffset() is not None
        assert loaded.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    with services.db.write_session() as session:
        session.add(Agency(name="Naive", kind=AgencyKind.HOTLINE,
                           created_at=datetime(2026, 1, 1)))
        with pytest.raises(StatementError, match="naive"):
            session.commit()


@sqlite_only
def test_the_database_file_and_its_companions_are_private(tmp_path: Path) -> None:
    """Issue 17: the SQLite file was created 0644 (world-readable); now 0600 with its WAL,
    shared memory and writers' lock, and an older, wider file is narrowed on start."""
    path = tmp_path / "fresh.db"
    db = Database(DatabaseSettings(url=f"sqlite:///{path}"))
    with db.write_session() as session:
        session.connection().exec_driver_sql("CREATE TABLE t (x INTEGER)")
        session.connection().exec_driver_sql("INSERT INTO t VALUES (1)")
        session.commit()
    made = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-writers"))
            if p.exists()]
    assert path in made and Path(f"{path}-wal") in made
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in made} == {
        p.name: "0o600" for p in made}
    db.dispose()
    path.chmod(0o644)
    Database(DatabaseSettings(url=f"sqlite:///{path}")).dispose()
    assert path.stat().st_mode & 0o777 == 0o600
