"""return disruptions: a travel plan and its hold disrupted (feed or registry), with proposals

Revision ID: 0027
Revises: 0029
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types


revision = '0027'
# Numbered by the lead for this branch; re-chained onto main's head at merge.
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('return_disruption',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('travel_plan_id', sa.Integer(), nullable=False),
    sa.Column('hold_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('cause', sa.String(length=64), nullable=False),
    sa.Column('reasons_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('proposals_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('detected_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('replaced_by_plan_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('trip_cancelled', 'trip_delayed', 'out_of_service', 'hold_ended')", name=op.f('ck_return_disruption_kind')),
    sa.CheckConstraint("status IN ('open', 'accepted', 'rejected', 'resolved')", name=op.f('ck_return_disruption_status')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_return_disruption_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['survivor_case.id'], name=op.f('fk_return_disruption_case_id_survivor_case')),
    sa.ForeignKeyConstraint(['decided_by'], ['account.id'], name=op.f('fk_return_disruption_decided_by_account')),
    sa.ForeignKeyConstraint(['hold_id'], ['bed_hold.id'], name=op.f('fk_return_disruption_hold_id_bed_hold')),
    sa.ForeignKeyConstraint(['replaced_by_plan_id'], ['travel_plan.id'], name=op.f('fk_return_disruption_replaced_by_plan_id_travel_plan')),
    sa.ForeignKeyConstraint(['travel_plan_id'], ['travel_plan.id'], name=op.f('fk_return_disruption_travel_plan_id_travel_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_disruption')),
    sa.UniqueConstraint('travel_plan_id', 'cause', name='uq_return_disruption_plan_cause')
    )
    with op.batch_alter_table('return_disruption', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_disruption_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_disruption_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_disruption_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_disruption_travel_plan_id'), ['travel_plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('return_disruption', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_disruption_travel_plan_id'))
        batch_op.drop_index(batch_op.f('ix_return_disruption_status'))
        batch_op.drop_index(batch_op.f('ix_return_disruption_case_id'))
        batch_op.drop_index(batch_op.f('ix_return_disruption_agency_id'))
    op.drop_table('return_disruption')
