"""travel alerts: unsafe or overdue check-ins raise an alert on the case until acknowledged

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-02 05:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types


revision = '0016'
# 0014 and 0015 are being written on other branches; the chain is rejoined at merge.
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('travel_alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('check_in_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('raised_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('note_sealed', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint("kind IN ('unsafe', 'overdue')", name=op.f('ck_travel_alert_kind')),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['account.id'], name=op.f('fk_travel_alert_acknowledged_by_account')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_travel_alert_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['survivor_case.id'], name=op.f('fk_travel_alert_case_id_survivor_case')),
    sa.ForeignKeyConstraint(['check_in_id'], ['travel_check_in.id'], name=op.f('fk_travel_alert_check_in_id_travel_check_in')),
    sa.ForeignKeyConstraint(['plan_id'], ['travel_plan.id'], name=op.f('fk_travel_alert_plan_id_travel_plan')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_travel_alert')),
    sa.UniqueConstraint('check_in_id', 'kind', name='uq_travel_alert_check_in_kind')
    )
    with op.batch_alter_table('travel_alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_travel_alert_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_travel_alert_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_travel_alert_plan_id'), ['plan_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('travel_alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_travel_alert_plan_id'))
        batch_op.drop_index(batch_op.f('ix_travel_alert_case_id'))
        batch_op.drop_index(batch_op.f('ix_travel_alert_agency_id'))
    op.drop_table('travel_alert')
