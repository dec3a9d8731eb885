"""unmet need: a dedupe key under a unique index, so a need is recorded once

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 05:15:00

Rows already in the ledger keep a NULL key (both databases let NULLs repeat under a unique
index): who asked them is not known, so they cannot be merged. The revision is numbered for
the branch that adds it and is re-chained onto main's head when merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unmet_need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dedupe_key', sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f('ix_unmet_need_dedupe_key'), ['dedupe_key'],
                              unique=True)


def downgrade() -> None:
    with op.batch_alter_table('unmet_need', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unmet_need_dedupe_key'))
        batch_op.drop_column('dedupe_key')
