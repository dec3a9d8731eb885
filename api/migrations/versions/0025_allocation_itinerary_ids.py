"""travel allocations: room for the search's itinerary ids

Revision ID: 0025
Revises: 0018
Create Date: 2026-12-02 07:45:00

An allocation's candidates are the itinerary ids `POST /v1/itineraries/search` returned (sealed
vouchers of up to 16,000 characters), so that committing the allocation can book them as
travel plans; the item's column held 64. The revision is numbered for the branch that adds it
and is re-chained onto main's head when merged.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('travel_allocation_item', schema=None) as batch_op:
        batch_op.alter_column('itinerary_id', existing_type=sa.String(length=64),
                              type_=sa.String(length=16000), existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('travel_allocation_item', schema=None) as batch_op:
        batch_op.alter_column('itinerary_id', existing_type=sa.String(length=16000),
                              type_=sa.String(length=64), existing_nullable=False)
