"""indexes for the dispatcher's queue reads (queue order, per person, by dependency); jobs that cannot be retried

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 19:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index('ix_generation_jobs_claim', table_name='generation_jobs')
    op.create_index(
        'ix_generation_jobs_queue', 'generation_jobs', ['status', sa.text('priority DESC'), 'created_at', 'id']
    )
    op.create_index(
        'ix_generation_jobs_owner_queue',
        'generation_jobs',
        ['status', 'owner_id', sa.text('priority DESC'), 'created_at', 'id'],
    )
    # Waiting videos whose image job failed are found through this, not by reading the whole queue.
    op.create_index('ix_generation_jobs_depends_on_id', 'generation_jobs', ['depends_on_id'])
    # A job the server refused (validation) is not offered Retry: it would be refused again.
    op.add_column('generation_jobs', sa.Column('can_retry', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade() -> None:
    op.drop_column('generation_jobs', 'can_retry')
    op.drop_index('ix_generation_jobs_depends_on_id', table_name='generation_jobs')
    op.drop_index('ix_generation_jobs_owner_queue', table_name='generation_jobs')
    op.drop_index('ix_generation_jobs_queue', table_name='generation_jobs')
    op.create_index('ix_generation_jobs_claim', 'generation_jobs', ['status', 'priority', 'created_at'])
