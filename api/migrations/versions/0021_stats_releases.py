"""statistics releases: published periods stored as served, and noisy tables with their budget

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-02 07:20:00

The revision is numbered for the branch that adds it and is re-chained onto main's head when
merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types

revision = '0021'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stats_release',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('stats_release', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stats_release_period'), ['period'], unique=True)
    op.create_table('stats_noisy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('epsilon', sa.Float(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'))
    with op.batch_alter_table('stats_noisy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stats_noisy_period'), ['period'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stats_noisy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stats_noisy_period'))
    op.drop_table('stats_noisy')
    with op.batch_alter_table('stats_release', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stats_release_period'))
    op.drop_table('stats_release')
