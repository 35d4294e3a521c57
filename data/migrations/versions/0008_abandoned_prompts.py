"""prompts left on a server that stopped answering, to delete or interrupt there once it answers again

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'abandoned_prompts',
        sa.Column('server_id', sa.Integer(), nullable=False),
        sa.Column('prompt_id', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('running', sa.Boolean(), nullable=False),
        sa.Column('abandoned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['server_id'], ['comfy_servers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('server_id', 'prompt_id'),
    )


def downgrade() -> None:
    op.drop_table('abandoned_prompts')
