"""Migration 0011 splits the old `admin` role by the agency's kind, on SQLite and PostgreSQL.

A database at revision 0010 with old admins (and tokens that point at their accounts, so that
SQLite's copy of the `account` table must keep every foreign key whole) is migrated to the
newest revision: the hotline's admins become platform admins, every other agency's become
agency admins, and the new CHECK constraint refuses the old role.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, column, select, table, text
from sqlalchemy.exc import IntegrityError

from api import migrate
from api.deps import Services
from core.clock import utcnow

# The tables as they stood at 0010 (only the columns seeded here): the models are newer.
AGENCIES = table("agency", column("id"), column("name"), column("kind"), column("created_at"))
ACCOUNTS = table("account", column("id"), column("name"), column("role"), column("agency_id"),
                 column("disabled"), column("version"), column("created_at"),
                 column("updated_at"))
TOKENS = table("api_token", column("id"), column("account_id"), column("token_hash"),
               column("prefix"), column("created_at"), column("expires_at"))

# (account name, its agency's kind, role at 0010, role expected at head)
PEOPLE = [
    ("hotline-admin", "hotline", "admin", "platform_admin"),
    ("police-admin", "law_enforcement", "admin", "agency_admin"),
    ("shelter-admin", "shelter_organisation", "admin", "agency_admin"),
    ("provider-admin", "service_provider", "admin", "agency_admin"),
    ("hotline-advocate", "hotline", "advocate", "advocate"),
    ("police-case-manager", "law_enforcement", "case_manager", "case_manager"),
]


def _seed_old_admins(engine: Engine) -> None:
    now = utcnow()
    with engine.begin() as conn:
        agency_ids = {}
        for kind in sorted({p[1] for p in PEOPLE}):
            agency_ids[kind] = conn.execute(AGENCIES.insert().values(
                name=f"old {kind}", kind=kind, created_at=now).returning(
                AGENCIES.c.id)).scalar_one()
        for name, kind, role, _ in PEOPLE:
            account_id = conn.execute(ACCOUNTS.insert().values(
                name=name, role=role, agency_id=agency_ids[kind], disabled=False, version=1,
                created_at=now, updated_at=now).returning(ACCOUNTS.c.id)).scalar_one()
            conn.execute(TOKENS.insert().values(
                account_id=account_id, token_hash=f"{name:x<64}"[:64], prefix="hw_old",
                created_at=now, expires_at=now + timedelta(days=1)))


def _roles(engine: Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return {name: role for name, role in conn.execute(select(ACCOUNTS.c.name,
                                                                 ACCOUNTS.c.role))}


def test_old_admins_become_platform_or_agency_admins(services: Services) -> None:
    engine = services.db.engine
    config = migrate.alembic_config(engine)
    command.downgrade(config, "0010")
    assert migrate.current_revision(engine) == "0010"
    _seed_old_admins(engine)

    migrate.upgrade(engine)

    assert migrate.is_current(engine)
    assert _roles(engine) == {name: new for name, _, _, new in PEOPLE}
    with engine.connect() as conn:
        # Every token still belongs to its (same-id) account.
        orphans = conn.execute(text(
            "SELECT count(*) FROM api_token t LEFT JOIN account a ON a.id = t.account_id "
            "WHERE a.id IS NULL")).scalar_one()
        assert orphans == 0
        assert conn.execute(select(TOKENS.c.id)).all().__len__() == len(PEOPLE)
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    # The old role is gone from the CHECK constraint; the new ones pass it.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(ACCOUNTS.update().where(ACCOUNTS.c.name == "hotline-advocate")
                     .values(role="admin"))
    with engine.begin() as conn:
        conn.execute(ACCOUNTS.update().where(ACCOUNTS.c.name == "hotline-advocate")
                     .values(role="agency_admin"))


def test_downgrade_folds_both_admins_back_into_admin(services: Services) -> None:
    engine = services.db.engine
    config = migrate.alembic_config(engine)
    command.downgrade(config, "0010")
    _seed_old_admins(engine)
    migrate.upgrade(engine)
    command.downgrade(config, "0008")
    assert _roles(engine) == {name: old for name, _, old, _ in PEOPLE}
    migrate.upgrade(engine)
    assert _roles(engine) == {name: new for name, _, _, new in PEOPLE}
