"""Studio-wide state that belongs to no project: invitations to join and the administrator's settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from ._common import json_column, utcnow


class Invitation(SQLModel, table=True):
    """A single-use link to create an account while self-registration is closed.

    Only the SHA-256 of the token is looked up, so a copy of the database alone opens no door; the
    token is also kept encrypted with the installation's key so an administrator can copy the link
    again from the Users page.
    """

    __tablename__ = "invitations"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    token_encrypted: str = Field(default="", max_length=500)
    # When set, only an account with this address may use the link.
    email: str | None = Field(default=None, max_length=254)
    is_admin: bool = Field(default=False)
    created_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    revoked_at: datetime | None = None


class StudioSetting(SQLModel, table=True):
    """One studio-wide setting an administrator changes at run time (the environment only gives defaults)."""

    __tablename__ = "studio_settings"

    key: str = Field(primary_key=True, max_length=100)
    value: Any = Field(default=None, sa_column=json_column(nullable=True))
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: int | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
