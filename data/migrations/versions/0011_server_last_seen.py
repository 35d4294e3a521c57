"""when each server last answered, so an offline server says when it was last seen

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('comfy_servers') as batch:
        batch.add_column(sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    # A server that answered its last check was seen then.
    op.execute("UPDATE comfy_servers SET last_seen_at = last_checked_at WHERE status IN ('online', 'degraded')")


def downgrade() -> None:
    with op.batch_alter_table('comfy_servers') as batch:
        batch.drop_column('last_seen_at')
