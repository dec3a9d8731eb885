"""transport feeds: how many weeks a feed's calendar was re-dated by

Revision ID: 0029
Revises: 0021
Create Date: 2026-12-02 12:20:00

`homeward transport load-national --redate` (and `homeward demo`) can shift a stale feed's
calendar by whole weeks so that it runs on today's dates for demos and benchmarks; the stored
feed says so, and by how much. The revision is numbered for the branch that adds it and is
re-chained onto main's head when merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0029'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('transport_feed', schema=None) as batch_op:
        batch_op.add_column(sa.Column('redated_weeks', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('transport_feed', schema=None) as batch_op:
        batch_op.drop_column('redated_weeks')
