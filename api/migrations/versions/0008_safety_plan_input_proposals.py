"""safety plans: proposals that change a plan's inputs (priorities, code word, shelters)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('safety_plan_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inputs_sealed', sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('safety_plan_proposal', schema=None) as batch_op:
        batch_op.drop_column('inputs_sealed')
