"""mass rescue hold budget: an agency's budget of batch holds, and each hold's source

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 00:50:00

Existing holds were all placed one at a time or by batches that were not yet marked; they
become `single` holds (counting against their account's cap, as they did). Existing agencies
get the default budget of 20 active batch holds. It follows 0011 (the admin role split); the
chain runs 0005 -> 0010 -> 0009 -> 0006 -> 0007 -> 0008 -> 0011 -> 0012.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mass_rescue_hold_budget', sa.Integer(),
                                      server_default='20', nullable=False))
        batch_op.create_check_constraint(op.f('ck_agency_mass_rescue_hold_budget'),
                                         'mass_rescue_hold_budget >= 0')

    with op.batch_alter_table('bed_hold', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=16), server_default='single',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_bed_hold_source'),
                                         "source IN ('single', 'batch')")
        batch_op.create_index('ix_bed_hold_agency_source_status',
                              ['agency_id', 'source', 'status', 'case_ref'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bed_hold', schema=None) as batch_op:
        batch_op.drop_index('ix_bed_hold_agency_source_status')
        batch_op.drop_constraint(op.f('ck_bed_hold_source'), type_='check')
        batch_op.drop_column('source')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_agency_mass_rescue_hold_budget'), type_='check')
        batch_op.drop_column('mass_rescue_hold_budget')
