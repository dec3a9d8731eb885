"""outbox: delivery endpoints and outbox messages (issue 21)

Revision ID: 0019
Revises: 0020
Create Date: 2026-12-02 07:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.types


revision = '0019'
down_revision = '0020'
branch_labels = None
depends_on = None

_ONE_OWNER = " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in (
    "organization_id", "agency_id", "account_id", "case_id")) + " = 1"


def upgrade() -> None:
    op.create_table('delivery_endpoint',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('purpose', sa.String(length=8), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('address_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('secret_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('safe', sa.Boolean(), nullable=False),
    sa.Column('discreet', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('webhook', 'email', 'sms')", name=op.f('ck_delivery_endpoint_channel')),
    sa.CheckConstraint("purpose IN ('default', 'on_call')", name=op.f('ck_delivery_endpoint_purpose')),
    sa.CheckConstraint(_ONE_OWNER, name=op.f('ck_delivery_endpoint_one_owner')),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_delivery_endpoint_account_id_account')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_delivery_endpoint_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['survivor_case.id'], name=op.f('fk_delivery_endpoint_case_id_survivor_case')),
    sa.ForeignKeyConstraint(['created_by'], ['account.id'], name=op.f('fk_delivery_endpoint_created_by_account')),
    sa.ForeignKeyConstraint(['organization_id'], ['directory_organization.id'], name=op.f('fk_delivery_endpoint_organization_id_directory_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_endpoint'))
    )
    with op.batch_alter_table('delivery_endpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_delivery_endpoint_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_endpoint_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_endpoint_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_endpoint_organization_id'), ['organization_id'], unique=False)

    op.create_table('outbox_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=True),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('endpoint_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=True),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('source_type', sa.String(length=32), nullable=False),
    sa.Column('source_id', sa.String(length=64), nullable=False),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('body_sealed', sa.LargeBinary(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('provider_ref', sa.String(length=64), nullable=True),
    sa.Column('receipt', sa.String(length=16), nullable=True),
    sa.Column('created_at', core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', core.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending', 'sending', 'delivered', 'dead', 'cancelled')", name=op.f('ck_outbox_message_state')),
    sa.CheckConstraint("channel IS NULL OR channel IN ('webhook', 'email', 'sms')", name=op.f('ck_outbox_message_channel')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_outbox_message_agency_id_agency')),
    sa.ForeignKeyConstraint(['case_id'], ['survivor_case.id'], name=op.f('fk_outbox_message_case_id_survivor_case')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['delivery_endpoint.id'], name=op.f('fk_outbox_message_endpoint_id_delivery_endpoint')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_message')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_message_idempotency_key'))
    )
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_message_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_message_source', ['source_type', 'source_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_endpoint_id'), ['endpoint_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_message_provider_ref'), ['provider_ref'], unique=False)


def downgrade() -> None:
    op.drop_table('outbox_message')
    op.drop_table('delivery_endpoint')
