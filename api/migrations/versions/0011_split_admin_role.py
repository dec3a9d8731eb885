"""split admin role

The all-powerful `admin` becomes `platform_admin` (the hotline's operators: an admin whose
agency is of kind hotline) or `agency_admin` (everyone else's admins, who now administer only
their own agency). The CHECK constraint on `account.role` changes with it; on SQLite that
copies the `account` table, with foreign keys off meanwhile (see `api/migrations/env.py`).

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 01:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('advocate', 'shelter_coordinator', 'case_manager', 'admin')"
NEW_ROLES = ("role IN ('advocate', 'shelter_coordinator', 'case_manager', 'agency_admin', "
             "'platform_admin')")


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_role'), type_='check')
    # Only the hotline's admins keep platform-wide power; every other agency's admin is
    # confined to its own agency.
    op.execute("UPDATE account SET role = 'platform_admin' WHERE role = 'admin' AND agency_id IN "
               "(SELECT id FROM agency WHERE kind = 'hotline')")
    op.execute("UPDATE account SET role = 'agency_admin' WHERE role = 'admin'")
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_account_role'), NEW_ROLES)


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_account_role'), type_='check')
    op.execute("UPDATE account SET role = 'admin' "
               "WHERE role IN ('platform_admin', 'agency_admin')")
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_account_role'), OLD_ROLES)
