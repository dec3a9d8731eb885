"""return plans: joint bed, itinerary and funding decisions, sealed, with their accepted cases

Revision ID: 0020
Revises: 0025
Create Date: 2026-12-02 07:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types


revision = '0020'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('return_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('accepted_case_ids', sa.JSON(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_return_plan_agency_id_agency')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_return_plan_created_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_plan'))
    )
    with op.batch_alter_table('return_plan', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_plan_agency_id'), ['agency_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('return_plan', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_plan_agency_id'))
    op.drop_table('return_plan')
