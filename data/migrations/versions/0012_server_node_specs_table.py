"""servers' node definitions in a table of their own: every read of a server row decoded them (about 180 kB each)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 20:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'server_node_specs',
        sa.Column('server_id', sa.Integer(), nullable=False),
        sa.Column('specs', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['server_id'], ['comfy_servers.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('server_id'),
    )
    # The stored definitions move along (a server's next catalog refresh would fetch them again anyway).
    servers = sa.table('comfy_servers', sa.column('id', sa.Integer()), sa.column('node_specs', sa.JSON()))
    specs = sa.table('server_node_specs', sa.column('server_id', sa.Integer()), sa.column('specs', sa.JSON()))
    bind = op.get_bind()
    for server_id, node_specs in bind.execute(sa.select(servers.c.id, servers.c.node_specs)).all():
        if node_specs:
            bind.execute(sa.insert(specs).values(server_id=server_id, specs=node_specs))
    # Not a batch (table copy) on SQLite: dropping the old comfy_servers there would cascade to every row that
    # points at a server (their catalogs, abandoned prompts, these definitions). SQLite 3.35+ drops a column itself.
    op.execute('ALTER TABLE comfy_servers DROP COLUMN node_specs')


def downgrade() -> None:
    with op.batch_alter_table('comfy_servers') as batch_op:
        batch_op.add_column(sa.Column('node_specs', sa.JSON(), nullable=False, server_default='{}'))
    servers = sa.table('comfy_servers', sa.column('id', sa.Integer()), sa.column('node_specs', sa.JSON()))
    specs = sa.table('server_node_specs', sa.column('server_id', sa.Integer()), sa.column('specs', sa.JSON()))
    bind = op.get_bind()
    for server_id, node_specs in bind.execute(sa.select(specs.c.server_id, specs.c.specs)).all():
        bind.execute(sa.update(servers).where(servers.c.id == server_id).values(node_specs=node_specs))
    op.drop_table('server_node_specs')
