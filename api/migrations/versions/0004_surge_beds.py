"""surge beds: overflow windows and the inventory's surge column

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 15:12:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('surge_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inventory_id', sa.Integer(), nullable=False),
    sa.Column('shelter_id', sa.Integer(), nullable=False),
    sa.Column('bed_type', sa.String(length=16), nullable=False),
    sa.Column('beds', sa.Integer(), nullable=False),
    sa.Column('starts_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('beds >= 1', name=op.f('ck_surge_window_beds_positive')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_surge_window_window')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_surge_window_created_by_account')),
    sa.ForeignKeyConstraint(['inventory_id'], ['bed_inventory.id'], name=op.f('fk_surge_window_inventory_id_bed_inventory'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shelter_id'], ['shelter.id'], name=op.f('fk_surge_window_shelter_id_shelter'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_surge_window'))
    )
    with op.batch_alter_table('surge_window', schema=None) as batch_op:
        batch_op.create_index('ix_surge_window_inventory_time', ['inventory_id', 'starts_at', 'ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_surge_window_shelter_id'), ['shelter_id'], unique=False)

    with op.batch_alter_table('bed_inventory', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surge', sa.Integer(), server_default='0', nullable=False))
        batch_op.drop_constraint(op.f('ck_bed_inventory_capacity'), type_='check')
        batch_op.create_check_constraint(op.f('ck_bed_inventory_surge_non_negative'), 'surge >= 0')
        batch_op.create_check_constraint(op.f('ck_bed_inventory_capacity'),
                                         'occupied + held <= total + surge')


def downgrade() -> None:
    with op.batch_alter_table('bed_inventory', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bed_inventory_capacity'), type_='check')
        batch_op.drop_constraint(op.f('ck_bed_inventory_surge_non_negative'), type_='check')
        batch_op.drop_column('surge')
        batch_op.create_check_constraint(op.f('ck_bed_inventory_capacity'), 'occupied + held <= total')
    with op.batch_alter_table('surge_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_surge_window_shelter_id'))
        batch_op.drop_index('ix_surge_window_inventory_time')
    op.drop_table('surge_window')
