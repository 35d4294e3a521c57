"""browser_sessions (sign-in issues a new session; sign-out and password changes revoke them)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:45:00
"""
from collections.abc import Sequence

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
