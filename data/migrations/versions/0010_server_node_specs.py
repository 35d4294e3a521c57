"""each server's node definitions from /object_info, to check graphs against before queueing

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 17:05:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('comfy_servers') as batch_op:
        batch_op.add_column(sa.Column('node_specs', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('comfy_servers') as batch_op:
        batch_op.drop_column('node_specs')
