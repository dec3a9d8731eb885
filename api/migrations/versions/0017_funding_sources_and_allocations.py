"""funding sources with their budgets, and travel allocations solved and committed against them

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 05:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('funding_source',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('budget_cents', sa.Integer(), nullable=False),
    sa.Column('spent_cents', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('min_age', sa.Integer(), nullable=False),
    sa.Column('max_age', sa.Integer(), nullable=False),
    sa.Column('lifetime_from_age', sa.Integer(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('spent_cents >= 0 AND budget_cents >= 0', name=op.f('ck_funding_source_amounts')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_funding_source_agency_id_agency')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_source')),
    sa.UniqueConstraint('agency_id', 'name', name='uq_funding_source_agency_name')
    )
    with op.batch_alter_table('funding_source', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_source_agency_id'), ['agency_id'], unique=False)

    op.create_table('travel_allocation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('result_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('committed_by', sa.Integer(), nullable=True),
    sa.Column('committed_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'committed')", name=op.f('ck_travel_allocation_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_travel_allocation_agency_id_agency')),
    sa.ForeignKeyConstraint(['committed_by'], ['account.id'], name=op.f('fk_travel_allocation_committed_by_account')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_travel_allocation_created_by_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travel_allocation'))
    )
    with op.batch_alter_table('travel_allocation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_travel_allocation_agency_id'), ['agency_id'], unique=False)

    op.create_table('travel_allocation_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('allocation_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('funding_source_id', sa.Integer(), nullable=False),
    sa.Column('itinerary_id', sa.String(length=64), nullable=False),
    sa.Column('cost_cents', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['allocation_id'], ['travel_allocation.id'], name=op.f('fk_travel_allocation_item_allocation_id_travel_allocation')),
    sa.ForeignKeyConstraint(['case_id'], ['survivor_case.id'], name=op.f('fk_travel_allocation_item_case_id_survivor_case')),
    sa.ForeignKeyConstraint(['funding_source_id'], ['funding_source.id'], name=op.f('fk_travel_allocation_item_funding_source_id_funding_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travel_allocation_item'))
    )
    with op.batch_alter_table('travel_allocation_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_travel_allocation_item_allocation_id'), ['allocation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_travel_allocation_item_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_travel_allocation_item_funding_source_id'), ['funding_source_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('travel_allocation_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_travel_allocation_item_funding_source_id'))
        batch_op.drop_index(batch_op.f('ix_travel_allocation_item_case_id'))
        batch_op.drop_index(batch_op.f('ix_travel_allocation_item_allocation_id'))
    op.drop_table('travel_allocation_item')
    with op.batch_alter_table('travel_allocation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_travel_allocation_agency_id'))
    op.drop_table('travel_allocation')
    with op.batch_alter_table('funding_source', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_source_agency_id'))
    op.drop_table('funding_source')
